import {
  type ArtifactRecord,
  checkTags,
  findArtifactOrThrow,
  formatMetadataValue,
  type MetadataRecord,
  type PipelineSnapshot,
  parseArtifactRef,
  type StepRunRecord,
  VISUALIZATION_EXTENSIONS,
} from "@stackyard/core";
import { ConfigError, NotFoundError } from "@stackyard/core/errors";
import { SqliteRunStore } from "../../store/sqlite-run-store.js";
import { info, printDetails, printJson, printTable } from "../output.js";
import { quoteInput } from "../quote-input.js";
import { withProject } from "../with-project.js";

/** `--limit` / `--depth`: a whole number within bounds. */
function wholeNumber(raw: string | undefined, flag: string, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > max) throw new ConfigError(`Invalid ${flag} ${quoteInput(raw)}: expected a whole number from 1 to ${max}`);
  return n;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

const label = (a: ArtifactRecord): string => (a.name === undefined ? `${a.stepId}.${a.output} (unnamed, ${a.id.slice(0, 8)})` : `${a.name}:${a.version}`);

function metadataText(metadata: MetadataRecord | undefined): string {
  return Object.entries(metadata ?? {})
    .map(([key, value]) => `${key}=${formatMetadataValue(value)}`)
    .join(", ");
}

/** Finds the version an `artifact` argument names (NAME, NAME:VERSION, NAME@TAG). */
async function findRef(store: SqliteRunStore, ref: string): Promise<ArtifactRecord> {
  const parsed = parseArtifactRef(ref, `the argument ${quoteInput(ref)}`);
  return findArtifactOrThrow(store, parsed.name, { version: parsed.version, tag: parsed.tag });
}

/** `stackyard artifact list`. */
export async function listArtifacts(opts: { name?: string; tag?: string; json?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const names = await store.listArtifactNames({ ...(opts.name ? { name: opts.name } : {}), ...(opts.tag ? { tag: opts.tag } : {}) });
    if (opts.json) {
      printJson(names);
      return;
    }
    printTable(
      names.map((n) => ({
        name: n.name,
        versions: n.versions,
        latest: n.latest.version,
        created: n.latest.created,
        type: n.latest.dataType,
        size: size(n.latest.size),
        tags: (n.latest.tags ?? []).join(", "),
      })),
      ["name", "versions", "latest", "created", "type", "size", "tags"],
      opts.name || opts.tag ? "No artifact matches." : "No artifacts yet: run a pipeline first.",
    );
  });
}

/** `stackyard artifact versions NAME`. */
export async function listVersions(name: string, opts: { tag?: string; limit?: string; json?: boolean }): Promise<void> {
  parseArtifactRef(name, `the argument ${quoteInput(name)}`);
  const limit = wholeNumber(opts.limit, "--limit", 50, 1_000_000);
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const versions = await store.listArtifactVersions(name, { limit, ...(opts.tag ? { tag: opts.tag } : {}) });
    if (!versions.length && !opts.tag) await findArtifactOrThrow(store, name);
    if (opts.json) {
      printJson(versions);
      return;
    }
    const runs = new Map<string, string>();
    for (const v of versions) if (!runs.has(v.runId)) runs.set(v.runId, (await store.getRun(v.runId))?.name ?? v.runId.slice(0, 8));
    printTable(
      versions.map((v) => ({
        version: v.version,
        created: v.created,
        run: runs.get(v.runId),
        step: v.stepId,
        size: size(v.size),
        sha256: v.sha256.slice(0, 12),
        tags: (v.tags ?? []).join(", "),
        metadata: metadataText(v.metadata),
      })),
      ["version", "created", "run", "step", "size", "sha256", "tags", "metadata"],
      `No version of '${name}' is tagged '${opts.tag}'.`,
    );
  });
}

/** `stackyard artifact describe NAME[:VERSION|@TAG]`. */
export async function describeArtifact(ref: string, opts: { json?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const artifact = await findRef(store, ref);
    const run = await store.getRun(artifact.runId);
    const consumers = await store.listConsumers(artifact.id);
    if (opts.json) {
      printJson({
        ...artifact,
        run: run && { id: run.id, name: run.name, pipeline: run.pipeline },
        consumers: consumers.map((c) => ({ runId: c.runId, stepId: c.stepId })),
      });
      return;
    }
    printDetails({
      artifact: label(artifact),
      id: artifact.id,
      uri: artifact.uri,
      materializer: artifact.materializer,
      type: artifact.dataType,
      size: size(artifact.size),
      sha256: artifact.sha256,
      created: artifact.created,
      run: run ? `${run.name} (${run.id.slice(0, 8)}, ${run.pipeline})` : artifact.runId,
      step: artifact.stepId,
      output: artifact.output,
      tags: (artifact.tags ?? []).join(", ") || "(none)",
      "consumed by": consumers.length ? `${consumers.length} step run(s); see \`stackyard artifact lineage ${label(artifact)}\`` : "(nothing yet)",
    });
    if (artifact.metadata && Object.keys(artifact.metadata).length) {
      process.stdout.write("\nMetadata:\n");
      printTable(
        Object.entries(artifact.metadata).map(([key, value]) => ({ key, value: formatMetadataValue(value) })),
        ["key", "value"],
      );
    }
    if (artifact.visualizations?.length) {
      process.stdout.write("\nVisualizations:\n");
      printTable(
        artifact.visualizations.map((v) => ({ ...v })),
        ["type", "title", "uri"],
      );
    }
  });
}

/** `stackyard artifact tag NAME[:VERSION|@TAG] TAG... [--remove TAG...]`. */
export async function tagArtifact(ref: string, add: string[], opts: { remove?: string[] }): Promise<void> {
  const adding = checkTags(add, "stackyard artifact tag");
  const removing = checkTags(opts.remove ?? [], "--remove");
  if (!adding.length && !removing.length) {
    throw new ConfigError("Nothing to do: give tags to add, or --remove TAG", { hint: "For example `stackyard artifact tag iris_model:3 production`." });
  }
  if (adding.includes("latest"))
    throw new ConfigError("'latest' is not a tag you can give: it always means the newest version", { hint: "Use another name, such as production." });
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const artifact = await findRef(store, ref);
    await store.tag({ artifact: artifact.id }, adding, removing);
    const tags = (await store.getArtifact(artifact.id))?.tags ?? [];
    info(`${label(artifact)} tags: ${tags.length ? tags.join(", ") : "(none)"}.`);
  });
}

/** A step run in a lineage: what it is, what it read, what it made. */
interface LineageStep {
  runId: string;
  run: string;
  pipeline: string;
  step: string;
  status: string;
  /** For cached step runs: the run whose outputs were reused. */
  cachedFrom?: string;
  parameters?: Record<string, unknown>;
  codeHash?: string;
  inputs: Array<{ input: string; artifact: string; producer?: LineageStep }>;
  outputs: Array<{ output: string; artifact: string; consumers?: LineageStep[] }>;
}

/** `stackyard artifact lineage NAME[:VERSION|@TAG]`: what made a version, upstream; what read it, downstream. */
export async function artifactLineage(ref: string, opts: { depth?: string; json?: boolean }): Promise<void> {
  const depth = wholeNumber(opts.depth, "--depth", 3, 50);
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const artifact = await findRef(store, ref);
    const snapshots = new Map<string, PipelineSnapshot | undefined>();
    const describe = async (step: StepRunRecord): Promise<LineageStep> => {
      const run = await store.getRun(step.runId);
      if (run && !snapshots.has(run.snapshotId)) snapshots.set(run.snapshotId, await store.getSnapshot(run.snapshotId));
      const spec = run && snapshots.get(run.snapshotId)?.steps.find((s) => s.id === step.stepId);
      return {
        runId: step.runId,
        run: run?.name ?? step.runId,
        pipeline: run?.pipeline ?? "",
        step: step.stepId,
        status: step.status,
        ...(step.cachedFrom ? { cachedFrom: step.cachedFrom.runId } : {}),
        ...(spec ? { parameters: spec.parameters, codeHash: spec.code_hash } : {}),
        inputs: [],
        outputs: [],
      };
    };
    const artifacts = new Map<string, ArtifactRecord | undefined>();
    const artifactLabel = async (id: string) => {
      if (!artifacts.has(id)) artifacts.set(id, await store.getArtifact(id));
      const found = artifacts.get(id);
      return found ? label(found) : `(deleted ${id.slice(0, 8)})`;
    };
    const upstream = async (a: ArtifactRecord, level: number): Promise<LineageStep | undefined> => {
      const record = await store.getStepRun(a.runId, a.stepId);
      if (!record) return undefined;
      const node = await describe(record);
      for (const [input, id] of Object.entries(record.inputs ?? {})) {
        const entry: LineageStep["inputs"][number] = { input, artifact: await artifactLabel(id) };
        const source = artifacts.get(id);
        if (source && level < depth) {
          const producer = await upstream(source, level + 1);
          if (producer) entry.producer = producer;
        }
        node.inputs.push(entry);
      }
      return node;
    };
    const downstream = async (id: string, level: number): Promise<LineageStep[]> => {
      const consumers: LineageStep[] = [];
      for (const step of await store.listConsumers(id)) {
        const node = await describe(step);
        for (const [output, outputId] of Object.entries(step.outputs)) {
          const entry: LineageStep["outputs"][number] = { output, artifact: await artifactLabel(outputId) };
          // A cached consumer links versions made by an earlier run: their readers are that run's.
          if (level < depth && !step.cachedFrom) entry.consumers = await downstream(outputId, level + 1);
          node.outputs.push(entry);
        }
        consumers.push(node);
      }
      return consumers;
    };
    const producer = await upstream(artifact, 1);
    const consumers = await downstream(artifact.id, 1);
    if (opts.json) {
      printJson({ artifact, producer, consumers });
      return;
    }
    const out: string[] = [`${label(artifact)}  ${artifact.dataType}, ${size(artifact.size)}, sha256 ${artifact.sha256.slice(0, 12)}`];
    const stepLine = (s: LineageStep) =>
      `step ${s.step} of run ${s.run} (${s.runId.slice(0, 8)}, ${s.pipeline}), ${s.status}${s.cachedFrom ? ` from cache of ${s.cachedFrom.slice(0, 8)}` : ""}`;
    const writeProducer = (s: LineageStep, indent: string) => {
      out.push(`${indent}made by ${stepLine(s)}`);
      if (s.parameters && Object.keys(s.parameters).length) out.push(`${indent}  parameters: ${JSON.stringify(s.parameters)}`);
      if (s.codeHash) out.push(`${indent}  code: ${s.codeHash.slice(0, 12)}`);
      for (const input of s.inputs) {
        out.push(`${indent}  input ${input.input} <- ${input.artifact}`);
        if (input.producer) writeProducer(input.producer, `${indent}    `);
      }
    };
    const writeConsumers = (list: LineageStep[], indent: string) => {
      for (const c of list) {
        out.push(`${indent}read by ${stepLine(c)}`);
        for (const o of c.outputs) {
          out.push(`${indent}  made ${o.output} -> ${o.artifact}`);
          if (o.consumers) writeConsumers(o.consumers, `${indent}    `);
        }
      }
    };
    out.push("", "Upstream:");
    if (producer) writeProducer(producer, "  ");
    else out.push("  (the step run that made it is no longer recorded)");
    out.push("", "Downstream:");
    if (consumers.length) writeConsumers(consumers, "  ");
    else out.push("  (not read by any step yet)");
    process.stdout.write(`${out.join("\n")}\n`);
  });
}

/** `stackyard artifact show NAME[:VERSION|@TAG]`: the value of JSON and text artifacts. */
export async function showArtifact(ref: string, opts: { stack?: string; out?: string }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const artifact = await findRef(store, ref);
    const { artifactMainFile, artifactStoreFor, loadArtifactInProject, readHead } = await import("../../client/load-artifact.js");
    if (opts.out === undefined && ["json", "text"].includes(artifact.materializer)) {
      const value = await loadArtifactInProject(project, store, artifact, opts.stack);
      process.stdout.write(typeof value === "string" ? (value.endsWith("\n") ? value : `${value}\n`) : `${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const artifactStore = await artifactStoreFor(project, store, artifact, opts.stack);
    const main = await artifactMainFile(artifactStore, artifact);
    if (!main) {
      throw new NotFoundError(`${label(artifact)} has no file at ${artifact.uri}: it was deleted from its artifact store`, {
        hint: `Run its pipeline again to produce it anew (it came from step '${artifact.stepId}' of run ${artifact.runId}).`,
      });
    }
    const what = `${label(artifact)} (materializer '${artifact.materializer}', ${artifact.dataType}, ${size(artifact.size)})`;
    if (main.entries > 1) {
      if (opts.out !== undefined) throw new ConfigError(`${what} is ${main.entries} files in ${artifact.uri}: --out writes a version held in one file`);
      info(`${what} is ${main.entries} files in ${artifact.uri}.`);
      info("Load it from TypeScript with loadArtifact() from 'stackyard'.");
      return;
    }
    // Every byte goes through the recorded size and sha256 check as it streams.
    const { createArtifactReader } = await import("@stackyard/core");
    const checked = () => createArtifactReader(artifactStore, main.folder, artifact).read(main.file);
    if (opts.out !== undefined) {
      const target = await saveAtomically(opts.out, checked);
      info(`Wrote ${what} to ${target}`);
      return;
    }
    if (!process.stdout.isTTY) {
      // Piped or redirected: the bytes themselves, as `cat` would.
      const { pipeline } = await import("node:stream/promises");
      await pipeline(await checked(), process.stdout, { end: false });
      return;
    }
    const { previewOf } = await import("@stackyard/dashboard");
    const preview = previewOf(main.file, await readHead(artifactStore, main.path, PREVIEW_BYTES), main.size);
    process.stdout.write(`${preview.text}${preview.text.endsWith("\n") ? "" : "\n"}`);
    info(
      `${preview.truncated ? "The start of " : ""}${what}. Save it with \`stackyard artifact show ${label(artifact)} --out FILE\`, or redirect: stackyard artifact show ${label(artifact)} > FILE`,
    );
  });
}

/** What `artifact show` prints of a binary or large version on a terminal. */
const PREVIEW_BYTES = 4096;

/**
 * Streams `open()`'s bytes into a new file `out`: written under a temporary
 * name beside it (exclusive create) and renamed once every byte arrived and
 * passed the check, so a failure leaves nothing behind.
 *
 * @throws ConfigError when `out` exists or its folder does not (exit 2, nothing written).
 */
async function saveAtomically(out: string, open: () => Promise<NodeJS.ReadableStream>): Promise<string> {
  const { existsSync, statSync, createWriteStream, renameSync, rmSync } = await import("node:fs");
  const { dirname, resolve } = await import("node:path");
  const { randomBytes } = await import("node:crypto");
  const { pipeline } = await import("node:stream/promises");
  const target = resolve(out);
  if (existsSync(target)) throw new ConfigError(`${quoteInput(out)} already exists: --out writes a new file`, { hint: "Give a path that does not exist yet." });
  if (!existsSync(dirname(target)) || !statSync(dirname(target)).isDirectory()) {
    throw new ConfigError(`The folder of --out ${quoteInput(out)} does not exist`, { hint: `Make it first: mkdir -p ${dirname(target)}` });
  }
  const temp = `${target}.${randomBytes(6).toString("hex")}.partial`;
  try {
    await pipeline(await open(), createWriteStream(temp, { flags: "wx", mode: 0o644 }));
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return target;
}

/** `stackyard artifact visualize NAME[:VERSION|@TAG] [--out DIR]`. */
export async function visualizeArtifact(ref: string, opts: { out?: string; stack?: string }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const artifact = await findRef(store, ref);
    const views = artifact.visualizations ?? [];
    if (!views.length) {
      info(`${label(artifact)} has no visualizations (its materializer '${artifact.materializer}' makes none for this value).`);
      return;
    }
    if (opts.out === undefined) {
      printTable(
        views.map((v, i) => ({ "#": i + 1, type: v.type, title: v.title ?? "", uri: v.uri })),
        ["#", "type", "title", "uri"],
      );
      info(`Save them as files with \`stackyard artifact visualize ${label(artifact)} --out DIR\`, or open the dashboard (\`stackyard up\`).`);
      return;
    }
    const { mkdirSync, writeFileSync } = await import("node:fs");
    const { join, resolve } = await import("node:path");
    const { artifactStoreFor } = await import("../../client/load-artifact.js");
    const artifactStore = await artifactStoreFor(project, store, artifact, opts.stack);
    const dir = resolve(opts.out);
    const bodies = await Promise.all(views.map((v) => artifactStore.readFile(v.uri)));
    mkdirSync(dir, { recursive: true });
    for (const [i, view] of views.entries()) {
      const file = join(
        dir,
        `${(artifact.name ?? artifact.output).replaceAll(/[^\w.-]/g, "_")}-${artifact.version ?? 0}-${i + 1}.${VISUALIZATION_EXTENSIONS[view.type] ?? "txt"}`,
      );
      writeFileSync(file, bodies[i]!);
      process.stdout.write(`${file}\n`);
    }
  });
}
