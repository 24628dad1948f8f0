import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readSync, statSync, watch } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ArtifactNameSummary, ArtifactRecord, BaseArtifactStore, BaseOrchestrator, RunRecord, RunStatus, StepRunRecord } from "@stackyard/core";
import type {
  ComponentSummary,
  DashboardSource,
  FlavorSummary,
  LogSlice,
  OutputHead,
  RunListQuery,
  RunSteps,
  SnapshotSummary,
  StackSummary,
  StartedCommand,
} from "@stackyard/dashboard";
import { maskedComponentConfig } from "../cli/component-config.js";
import type { Project } from "../store/open-project.js";
import { STACKYARD_DIR } from "../store/project.js";
import { SqliteRunStore } from "../store/sqlite-run-store.js";
import { artifactMainFile, readHead } from "./load-artifact.js";
import { loadSnapshotComponent } from "./load-stack.js";
import { readStepLogs } from "./logs.js";
import { reapDeadProjectRun } from "./stale-runs.js";

/**
 * What the dashboard may read of a project, through the same stores the CLI
 * commands use. Nothing is cached here: every call reads the store. Component
 * configs leave masked, as `describe` prints them.
 */
export class ProjectDashboardSource implements DashboardSource {
  private readonly store: SqliteRunStore;

  constructor(private readonly project: Project) {
    this.store = new SqliteRunStore(project.db);
  }

  async listRuns(query: RunListQuery): Promise<RunRecord[]> {
    const runs = await this.store.listRuns(query);
    return Promise.all(runs.map((run) => reapDeadProjectRun(this.project, this.store, run)));
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const run = await this.store.getRun(id);
    return run && reapDeadProjectRun(this.project, this.store, run);
  }

  listSteps(runId: string): Promise<StepRunRecord[]> {
    return this.store.listStepRuns(runId);
  }

  getStep(runId: string, stepId: string): Promise<StepRunRecord | undefined> {
    return this.store.getStepRun(runId, stepId);
  }

  async runSteps(runId: string, failedShown: number): Promise<RunSteps> {
    return { steps: await this.store.listStepRunsWithoutItems(runId), tallies: await this.store.tallyMapItems(runId, failedShown) };
  }

  mapItems(runId: string, mapId: string, query: { statuses?: readonly RunStatus[] | undefined; limit: number; offset: number }) {
    return this.store.listMapItems(runId, mapId, query);
  }

  listArtifacts(runId: string, options: { items?: boolean } = {}): Promise<ArtifactRecord[]> {
    return options.items === false ? this.store.listArtifactsWithoutItems(runId) : this.store.listArtifacts(runId);
  }

  async getSnapshot(run: RunRecord): Promise<SnapshotSummary | undefined> {
    const snapshot = await this.store.getSnapshot(run.snapshotId);
    if (!snapshot) return undefined;
    return {
      id: snapshot.id,
      pipeline: snapshot.pipeline,
      enableCache: snapshot.enable_cache,
      steps: snapshot.steps.map((s) => ({
        id: s.id,
        name: s.name,
        upstream: s.upstream,
        outputs: Object.keys(s.outputs),
        parameters: s.parameters,
        ...(s.map ? { map: s.map } : {}),
        ...(Object.values(s.inputs).some((w) => w.collect)
          ? {
              collects: [
                ...new Set(
                  Object.values(s.inputs)
                    .filter((w) => w.collect)
                    .map((w) => w.step),
                ),
              ],
            }
          : {}),
      })),
      stack: {
        name: snapshot.stack.name,
        components: Object.fromEntries(Object.entries(snapshot.stack.components).map(([type, c]) => [type, { name: c.name, flavor: c.flavor }])),
      },
    };
  }

  async readStepLogs(run: RunRecord, stepId: string): Promise<string> {
    const step = await this.store.getStepRun(run.id, stepId);
    return step ? readStepLogs(this.project, this.store, run, step) : "";
  }

  /**
   * A step's log from byte `offset` on: the orchestrator's (CloudWatch) when
   * it offers logs, else the `logs.txt` the step wrote into the artifact
   * store, which the local and Docker orchestrators write when the step (or
   * one of its attempts) ends. Undefined while there is none.
   */
  async readStepLogFrom(run: RunRecord, stepId: string, offset: number, maxBytes: number): Promise<LogSlice | undefined> {
    const snapshot = await this.store.getSnapshot(run.snapshotId);
    if (!snapshot) return undefined;
    const orchestrator = await loadSnapshotComponent<BaseOrchestrator>(this.project, snapshot, "orchestrator").catch(() => undefined);
    if (orchestrator?.fetchLogs) {
      const text = await orchestrator.fetchLogs(run, stepId);
      if (text !== undefined) {
        const all = Buffer.from(text, "utf8");
        return { bytes: all.subarray(Math.max(offset, all.length - maxBytes)), size: all.length };
      }
    }
    const artifactStore = await loadSnapshotComponent<BaseArtifactStore>(this.project, snapshot, "artifact_store");
    const step = await this.store.getStepRun(run.id, stepId);
    const path = step?.logUri ?? `runs/${run.id}/${stepId}/logs.txt`;
    if (!(await artifactStore.exists(path).catch(() => false))) return undefined;
    const size = (await artifactStore.stat(path)).size;
    const start = Math.max(offset, size - maxBytes);
    if (start >= size) return { bytes: new Uint8Array(), size };
    // The store streams from the start: skip what the page has, keep the rest.
    const chunks: Buffer[] = [];
    let at = 0;
    const stream = await artifactStore.createReadStream(path);
    for await (const chunk of stream) {
      const bytes = Buffer.from(chunk as Uint8Array);
      if (at + bytes.length > start) chunks.push(bytes.subarray(Math.max(0, start - at)));
      at += bytes.length;
      if (at >= size) break;
    }
    stream.destroy();
    return { bytes: Buffer.concat(chunks).subarray(0, size - start), size };
  }

  /**
   * Starts `stackyard runs retry` of the run in a detached process: this
   * CLI's own bin, in the project's folder, with this process's environment;
   * what it prints goes to `.stackyard/dashboard-actions.log`. It goes on when
   * the dashboard stops.
   */
  async startRetry(run: RunRecord, options: { from?: string | undefined; all?: boolean | undefined }): Promise<StartedCommand> {
    const bin = fileURLToPath(new URL("./bin.js", import.meta.url));
    const logFile = join(this.project.paths.sourceRoot, STACKYARD_DIR, "dashboard-actions.log");
    mkdirSync(join(logFile, ".."), { recursive: true });
    const log = openSync(logFile, "a");
    const start = statSync(logFile).size;
    const args = [bin, "runs", "retry", run.id, ...(options.from !== undefined ? ["--from", options.from] : []), ...(options.all ? ["--all"] : [])];
    const child = spawn(process.execPath, args, { cwd: this.project.paths.sourceRoot, env: process.env, detached: true, stdio: ["ignore", log, log] });
    closeSync(log);
    let outcome: { code: number | null; output: string } | undefined;
    child.once("exit", (code) => {
      outcome = { code, output: readFrom(logFile, start) };
    });
    child.once("error", (error) => {
      outcome = { code: null, output: error.message };
    });
    child.unref();
    return { outcome: () => outcome };
  }

  /**
   * The start of an output's main file, through the artifact store of the
   * snapshot of the run that produced it. The artifact's URI must lie under
   * that store's root (the store refuses any other), and the file is one the
   * store lists in the artifact's folder: nothing outside the store is read.
   */
  async readOutput(run: RunRecord, artifact: ArtifactRecord, maxBytes: number): Promise<OutputHead | undefined> {
    const snapshot = await this.store.getSnapshot(run.snapshotId);
    if (!snapshot) return undefined;
    const artifactStore = await loadSnapshotComponent<BaseArtifactStore>(this.project, snapshot, "artifact_store");
    const main = await artifactMainFile(artifactStore, artifact);
    if (!main) return undefined;
    return { file: main.file, bytes: await readHead(artifactStore, main.path, maxBytes), size: main.size };
  }

  listArtifactNames(query: { name?: string | undefined; tag?: string | undefined; limit: number }): Promise<ArtifactNameSummary[]> {
    return this.store.listArtifactNames({ limit: query.limit, ...(query.name ? { name: query.name } : {}), ...(query.tag ? { tag: query.tag } : {}) });
  }

  listArtifactVersions(name: string, query: { limit: number; offset: number }): Promise<ArtifactRecord[]> {
    return this.store.listArtifactVersions(name, query);
  }

  findArtifactVersion(name: string, version: number): Promise<ArtifactRecord | undefined> {
    return this.store.findArtifactVersion(name, { version });
  }

  getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    return this.store.getArtifact(id);
  }

  listConsumers(artifactId: string): Promise<StepRunRecord[]> {
    return this.store.listConsumers(artifactId);
  }

  /**
   * The start of one file an artifact records (a visualization), through the
   * artifact store of the snapshot of the run that produced it: a URI outside
   * that store's root is refused, as is anything but a file.
   */
  async readArtifactFile(run: RunRecord, _artifact: ArtifactRecord, uri: string, maxBytes: number): Promise<{ bytes: Uint8Array; size: number } | undefined> {
    const snapshot = await this.store.getSnapshot(run.snapshotId);
    if (!snapshot) return undefined;
    const artifactStore = await loadSnapshotComponent<BaseArtifactStore>(this.project, snapshot, "artifact_store");
    let path: string;
    try {
      path = artifactStore.keyOf(uri);
    } catch {
      return undefined;
    }
    if (!path || !(await artifactStore.exists(path))) return undefined;
    const stat = await artifactStore.stat(path);
    if (stat.isDirectory) return undefined;
    return { bytes: await readHead(artifactStore, path, maxBytes), size: stat.size };
  }

  async runFilterOptions(): Promise<{ pipelines: string[]; stacks: string[]; tags: string[] }> {
    const distinct = (column: "pipeline" | "stack") =>
      (this.project.db.prepare(`SELECT DISTINCT ${column} AS value FROM runs ORDER BY ${column}`).all() as Array<{ value: string }>).map((r) => r.value);
    const tags = (
      this.project.db
        .prepare("SELECT DISTINCT t.value AS value FROM runs, json_each(runs.tags) AS t WHERE runs.tags IS NOT NULL ORDER BY t.value")
        .all() as Array<{
        value: string;
      }>
    ).map((r) => r.value);
    return { pipelines: distinct("pipeline"), stacks: distinct("stack"), tags };
  }

  /**
   * Watches the database's folder for writes to the database file or its
   * write-ahead log (every commit, from any process, lands in one of them).
   * Reading the store writes neither, so the dashboard's own reads do not
   * wake it.
   */
  watchStore(onChange: () => void): () => void {
    const file = this.project.db.name;
    const names = new Set([basename(file), `${basename(file)}-wal`]);
    try {
      const watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
        if (name === null || names.has(name)) onChange();
      });
      // A folder that cannot be watched (gone, or too many watches): the event stream's periodic read remains.
      watcher.on("error", () => watcher.close());
      return () => watcher.close();
    } catch {
      return () => {};
    }
  }

  async listStacks(): Promise<StackSummary[]> {
    const active = this.project.config.activeStackName();
    return this.project.config.listStacks().map((stack) => ({
      name: stack.name,
      active: stack.name === active,
      components: Object.fromEntries(
        Object.entries(stack.components).map(([type, id]) => {
          const row = this.project.config.getComponentById(id);
          return [type, { name: row?.name ?? "(missing)", flavor: row?.flavor ?? "" }];
        }),
      ),
    }));
  }

  async stopRun(run: RunRecord): Promise<void> {
    const { stopRunNow } = await import("./reconcile.js");
    await stopRunNow(this.project, this.store, run);
  }

  /** The flavors `stackyard flavor list` shows (listing imports none), each with its components. */
  async listFlavors(): Promise<FlavorSummary[]> {
    const { FlavorRegistry } = await import("../flavors/registry.js");
    const components = this.project.config.listComponents();
    return new FlavorRegistry(this.project.config, this.project.paths.sourceRoot).list().map((f) => ({
      type: f.type,
      name: f.name,
      origin: f.origin,
      source: f.source,
      ...(f.description ? { description: f.description } : {}),
      remote: f.remote,
      components: components.filter((c) => c.type === f.type && c.flavor === f.name).map((c) => c.name),
    }));
  }

  async listComponents(): Promise<ComponentSummary[]> {
    const stacks = this.project.config.listStacks();
    return Promise.all(
      this.project.config.listComponents().map(async (row) => ({
        type: row.type,
        name: row.name,
        flavor: row.flavor,
        connector: row.connector ?? undefined,
        config: (await maskedComponentConfig(this.project, row)).config,
        stacks: stacks.filter((s) => Object.values(s.components).includes(row.id)).map((s) => s.name),
      })),
    );
  }
}

/** What a file holds from byte `start` on (at most 8 KiB: the end of a command's output). */
function readFrom(file: string, start: number): string {
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const from = Math.max(start, size - 8192);
    const buffer = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buffer, 0, buffer.length, from);
    return buffer.toString("utf8");
  } finally {
    closeSync(fd);
  }
}
