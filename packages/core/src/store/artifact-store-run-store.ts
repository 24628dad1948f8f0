import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import type {
  ArtifactNameQuery,
  ArtifactNameSummary,
  ArtifactRecord,
  ArtifactSelector,
  MetadataRecord,
  MetadataTarget,
  RunQuery,
  RunRecord,
  RunStore,
  StepRunRecord,
  TagTarget,
} from "./run-store.js";

/**
 * A {@link RunStore} kept as JSON files in an artifact store, for steps that
 * run where the client's store is out of reach (an ECS task, a remote
 * container). The client reads the same files to reconcile remote runs.
 *
 * Layout under the artifact store's root:
 * - `snapshots/<id>.json`: compiled snapshots
 * - `runs/<run>/run.json`: the run
 * - `runs/<run>/<step>/record.json`: each step run (`step.json` beside it is
 *   what `runStep` writes for the client: the record with its artifacts)
 * - `artifacts/<id>.json`: artifact records
 * - `cache/<cache key>.json`: the step run that completed with that cache key
 *
 * It does not number artifact versions: a step run records its artifacts
 * with their names, and the client's store numbers them when it copies them
 * in. Its name and lineage queries read every record and are meant for
 * small stores and tests, not for a team's history.
 */
export class ArtifactStoreRunStore implements RunStore {
  /** Artifact records this process made, when the shared index is the client's to write. */
  private readonly own = new Map<string, ArtifactRecord>();

  /**
   * @param options.sharedIndex whether this process writes the records other
   *   runs read (`artifacts/`, `cache/`); false for a step process whose
   *   client copies its results in and writes them there itself (a docker
   *   step, which may write only its own run's folder). Default true.
   */
  constructor(
    readonly artifactStore: BaseArtifactStore,
    private readonly options: { sharedIndex?: boolean } = {},
  ) {}

  private async readJson<T>(path: string): Promise<T | undefined> {
    if (!(await this.artifactStore.exists(path))) return undefined;
    return JSON.parse((await this.artifactStore.readFile(path)).toString("utf8")) as T;
  }

  private async writeJson(path: string, value: unknown): Promise<void> {
    await this.artifactStore.writeFile(path, JSON.stringify(value));
  }

  async saveSnapshot(snapshot: PipelineSnapshot): Promise<void> {
    await this.writeJson(`snapshots/${snapshot.id}.json`, snapshot);
  }

  async getSnapshot(id: string): Promise<PipelineSnapshot | undefined> {
    return this.readJson(`snapshots/${id}.json`);
  }

  async createRun(run: RunRecord): Promise<void> {
    await this.writeJson(`runs/${run.id}/run.json`, run);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    return this.readJson(`runs/${id}/run.json`);
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    const run = await this.getRun(id);
    if (run) await this.createRun({ ...run, ...patch });
  }

  async listRuns(query: RunQuery = {}): Promise<RunRecord[]> {
    const ids = (await this.artifactStore.exists("runs")) ? await this.artifactStore.list("runs") : [];
    const runs = (await Promise.all(ids.map((id) => this.getRun(id)))).filter((r): r is RunRecord => Boolean(r));
    return runs
      .filter((r) => (!query.pipeline || r.pipeline === query.pipeline) && (!query.status || r.status === query.status))
      .sort((a, b) => b.created.localeCompare(a.created))
      .slice(0, query.limit ?? runs.length);
  }

  async deleteRun(id: string): Promise<void> {
    await this.artifactStore.rmtree(`runs/${id}`);
  }

  async putStepRun(step: StepRunRecord): Promise<void> {
    await this.writeJson(`runs/${step.runId}/${step.stepId}/record.json`, step);
    if (step.status === "completed" && step.cacheKey && this.options.sharedIndex !== false) await this.writeJson(`cache/${step.cacheKey}.json`, step);
  }

  async getStepRun(runId: string, stepId: string): Promise<StepRunRecord | undefined> {
    return this.readJson(`runs/${runId}/${stepId}/record.json`);
  }

  async listStepRuns(runId: string): Promise<StepRunRecord[]> {
    if (!(await this.artifactStore.exists(`runs/${runId}`))) return [];
    const entries = await this.artifactStore.list(`runs/${runId}`);
    const steps = await Promise.all(entries.filter((e) => e !== "run.json").map((stepId) => this.getStepRun(runId, stepId)));
    return steps.filter((s): s is StepRunRecord => Boolean(s));
  }

  async putArtifact(artifact: ArtifactRecord): Promise<void> {
    if (this.options.sharedIndex === false) {
      this.own.set(artifact.id, artifact);
      return;
    }
    await this.writeJson(`artifacts/${artifact.id}.json`, artifact);
  }

  async getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    return this.own.get(id) ?? this.readJson(`artifacts/${id}.json`);
  }

  async listArtifacts(runId: string): Promise<ArtifactRecord[]> {
    const steps = await this.listStepRuns(runId);
    const ids = steps.flatMap((s) => Object.values(s.outputs));
    return (await Promise.all(ids.map((id) => this.getArtifact(id)))).filter((a): a is ArtifactRecord => Boolean(a));
  }

  async findCachedStep(cacheKey: string): Promise<StepRunRecord | undefined> {
    return this.readJson(`cache/${cacheKey}.json`);
  }

  async logMetadata(target: MetadataTarget, values: MetadataRecord): Promise<void> {
    if ("artifact" in target) {
      const artifact = await this.getArtifact(target.artifact);
      if (artifact) await this.putArtifact({ ...artifact, metadata: { ...artifact.metadata, ...values } });
    } else if ("step" in target) {
      const step = await this.getStepRun(target.run, target.step);
      if (step) await this.putStepRun({ ...step, metadata: { ...step.metadata, ...values } });
    } else {
      const run = await this.getRun(target.run);
      if (run) await this.createRun({ ...run, metadata: { ...run.metadata, ...values } });
    }
  }

  async tag(target: TagTarget, add: readonly string[], remove: readonly string[] = []): Promise<void> {
    const found = "artifact" in target ? await this.getArtifact(target.artifact) : await this.getRun(target.run);
    if (!found) return;
    const tags = (found.tags ?? []).filter((t) => !remove.includes(t));
    for (const t of add) if (!tags.includes(t)) tags.push(t);
    if ("artifact" in target) await this.putArtifact({ ...(found as ArtifactRecord), tags });
    else await this.createRun({ ...(found as RunRecord), tags });
  }

  /** Every artifact record with a name, oldest first. */
  private async namedArtifacts(): Promise<ArtifactRecord[]> {
    if (!(await this.artifactStore.exists("artifacts"))) return [];
    const files = await this.artifactStore.list("artifacts");
    const records = await Promise.all(files.filter((f) => f.endsWith(".json")).map((f) => this.readJson<ArtifactRecord>(`artifacts/${f}`)));
    return records.filter((a): a is ArtifactRecord => a?.name !== undefined).sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  /** Versions by name: the recorded number, else the order in which they were made. */
  private async versionsByName(): Promise<Map<string, ArtifactRecord[]>> {
    const byName = new Map<string, ArtifactRecord[]>();
    for (const artifact of await this.namedArtifacts()) {
      let list = byName.get(artifact.name!);
      if (!list) byName.set(artifact.name!, (list = []));
      list.push({ ...artifact, version: artifact.version ?? list.length + 1 });
    }
    return byName;
  }

  async listArtifactNames(query: ArtifactNameQuery = {}): Promise<ArtifactNameSummary[]> {
    return [...(await this.versionsByName()).entries()]
      .filter(([name, list]) => (!query.name || name.includes(query.name)) && (!query.tag || list.some((a) => a.tags?.includes(query.tag!))))
      .sort(([a], [b]) => a.localeCompare(b))
      .slice(0, query.limit)
      .map(([name, list]) => ({ name, versions: list.length, latest: list.at(-1)! }));
  }

  async listArtifactVersions(name: string, query: { limit?: number; offset?: number; tag?: string } = {}): Promise<ArtifactRecord[]> {
    const list = [...((await this.versionsByName()).get(name) ?? [])].reverse().filter((a) => !query.tag || a.tags?.includes(query.tag));
    const offset = query.offset ?? 0;
    return list.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
  }

  async findArtifactVersion(name: string, which: ArtifactSelector = {}): Promise<ArtifactRecord | undefined> {
    const list = (await this.versionsByName()).get(name) ?? [];
    if (which.version !== undefined) return list.find((a) => a.version === which.version);
    if (which.tag !== undefined && which.tag !== "latest") return [...list].reverse().find((a) => a.tags?.includes(which.tag!));
    return list.at(-1);
  }

  async listConsumers(artifactId: string): Promise<StepRunRecord[]> {
    const runs = (await this.artifactStore.exists("runs")) ? await this.artifactStore.list("runs") : [];
    const steps = (await Promise.all(runs.map((run) => this.listStepRuns(run)))).flat();
    return steps.filter((s) => Object.values(s.inputs ?? {}).includes(artifactId));
  }
}
