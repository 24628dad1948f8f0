import { NotFoundError } from "../errors/errors.js";
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
 * A {@link RunStore} in memory, for tests and for flavor authors who want to
 * drive an orchestrator without the CLI's SQLite store. Records are copied
 * in and out, so callers cannot change stored state by mutating them.
 * Lives for one process only.
 */
export class MemoryRunStore implements RunStore {
  private readonly snapshots = new Map<string, { snapshot: PipelineSnapshot; uri: string }>();
  private readonly runs = new Map<string, RunRecord>();
  private readonly steps = new Map<string, Map<string, StepRunRecord>>();
  private readonly artifacts = new Map<string, ArtifactRecord>();
  private readonly artifactsByRun = new Map<string, ArtifactRecord[]>();
  private readonly cache = new Map<string, StepRunRecord>();
  /** Artifact name to its versions, oldest first. */
  private readonly versions = new Map<string, ArtifactRecord[]>();

  async saveSnapshot(snapshot: PipelineSnapshot, uri: string): Promise<void> {
    this.snapshots.set(snapshot.id, { snapshot: structuredClone(snapshot), uri });
  }

  async getSnapshot(id: string): Promise<PipelineSnapshot | undefined> {
    const found = this.snapshots.get(id);
    return found && structuredClone(found.snapshot);
  }

  async createRun(run: RunRecord): Promise<void> {
    this.runs.set(run.id, structuredClone(run));
    this.steps.set(run.id, new Map());
  }

  async getRun(idOrName: string): Promise<RunRecord | undefined> {
    const byId = this.runs.get(idOrName);
    if (byId) return structuredClone(byId);
    let newest: RunRecord | undefined;
    for (const run of this.runs.values()) if (run.name === idOrName && (!newest || run.created >= newest.created)) newest = run;
    return newest && structuredClone(newest);
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    const run = this.runs.get(id);
    if (!run) throw new NotFoundError(`No run with id '${id}'`);
    this.runs.set(id, structuredClone({ ...run, ...patch, id }));
  }

  async listRuns(query: RunQuery = {}): Promise<RunRecord[]> {
    const runs = [...this.runs.values()]
      .filter(
        (run) =>
          (query.pipeline === undefined || run.pipeline === query.pipeline) &&
          (query.status === undefined || run.status === query.status) &&
          (query.stack === undefined || run.stack === query.stack) &&
          (query.tag === undefined || (run.tags ?? []).includes(query.tag)),
      )
      .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    const offset = query.offset ?? 0;
    return runs.slice(offset, query.limit === undefined ? undefined : offset + query.limit).map((run) => structuredClone(run));
  }

  async deleteRun(id: string): Promise<void> {
    this.runs.delete(id);
    for (const step of this.steps.get(id)?.values() ?? []) {
      if (step.cacheKey && this.cache.get(step.cacheKey) === step) this.cache.delete(step.cacheKey);
    }
    this.steps.delete(id);
    for (const artifact of this.artifactsByRun.get(id) ?? []) {
      this.artifacts.delete(artifact.id);
      const list = artifact.name === undefined ? undefined : this.versions.get(artifact.name);
      if (list) list.splice(list.indexOf(artifact), 1);
    }
    this.artifactsByRun.delete(id);
  }

  async putStepRun(step: StepRunRecord): Promise<void> {
    let steps = this.steps.get(step.runId);
    if (!steps) this.steps.set(step.runId, (steps = new Map()));
    const copy = structuredClone(step);
    if (copy.runMetadata && Object.keys(copy.runMetadata).length && this.runs.has(step.runId)) await this.logMetadata({ run: step.runId }, copy.runMetadata);
    steps.set(step.stepId, copy);
    if (copy.status === "completed" && copy.cacheKey) this.cache.set(copy.cacheKey, copy);
  }

  async getStepRun(runId: string, stepId: string): Promise<StepRunRecord | undefined> {
    const step = this.steps.get(runId)?.get(stepId);
    return step && structuredClone(step);
  }

  async listStepRuns(runId: string): Promise<StepRunRecord[]> {
    return [...(this.steps.get(runId)?.values() ?? [])].map((step) => structuredClone(step));
  }

  async putArtifact(artifact: ArtifactRecord): Promise<void> {
    const previous = this.artifacts.get(artifact.id);
    const copy = structuredClone(artifact);
    if (previous) {
      // Recording an artifact again keeps its name, version and tags.
      Object.assign(copy, { name: previous.name, version: previous.version, tags: previous.tags ?? copy.tags, metadata: copy.metadata ?? previous.metadata });
      Object.assign(previous, copy);
      return;
    }
    if (copy.name !== undefined) {
      let list = this.versions.get(copy.name);
      if (!list) this.versions.set(copy.name, (list = []));
      copy.version ??= (list.at(-1)?.version ?? 0) + 1;
      list.push(copy);
      list.sort((a, b) => a.version! - b.version!);
    }
    this.artifacts.set(artifact.id, copy);
    let list = this.artifactsByRun.get(artifact.runId);
    if (!list) this.artifactsByRun.set(artifact.runId, (list = []));
    list.push(copy);
  }

  async getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    const artifact = this.artifacts.get(id);
    return artifact && structuredClone(artifact);
  }

  async listArtifacts(runId: string): Promise<ArtifactRecord[]> {
    return (this.artifactsByRun.get(runId) ?? []).map((artifact) => structuredClone(artifact));
  }

  async logMetadata(target: MetadataTarget, values: MetadataRecord): Promise<void> {
    const found =
      "artifact" in target ? this.artifacts.get(target.artifact) : "step" in target ? this.steps.get(target.run)?.get(target.step) : this.runs.get(target.run);
    if (!found)
      throw new NotFoundError(`No ${"artifact" in target ? "artifact version" : "step" in target ? "step run" : "run"} for ${JSON.stringify(target)}`);
    found.metadata = { ...found.metadata, ...structuredClone(values) };
  }

  async tag(target: TagTarget, add: readonly string[], remove: readonly string[] = []): Promise<void> {
    const found = "artifact" in target ? this.artifacts.get(target.artifact) : this.runs.get(target.run);
    if (!found) throw new NotFoundError(`No ${"artifact" in target ? "artifact version" : "run"} for ${JSON.stringify(target)}`);
    const tags = (found.tags ?? []).filter((t) => !remove.includes(t));
    for (const t of add) if (!tags.includes(t)) tags.push(t);
    found.tags = tags.length ? tags : undefined;
  }

  async listArtifactNames(query: ArtifactNameQuery = {}): Promise<ArtifactNameSummary[]> {
    return [...this.versions.entries()]
      .filter(([name, list]) => list.length && (!query.name || name.includes(query.name)) && (!query.tag || list.some((a) => a.tags?.includes(query.tag!))))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, query.limit)
      .map(([name, list]) => ({ name, versions: list.length, latest: structuredClone(list.at(-1)!) }));
  }

  async listArtifactVersions(name: string, query: { limit?: number; offset?: number; tag?: string } = {}): Promise<ArtifactRecord[]> {
    const list = [...(this.versions.get(name) ?? [])].reverse().filter((a) => !query.tag || a.tags?.includes(query.tag));
    const offset = query.offset ?? 0;
    return list.slice(offset, query.limit === undefined ? undefined : offset + query.limit).map((a) => structuredClone(a));
  }

  async findArtifactVersion(name: string, which: ArtifactSelector = {}): Promise<ArtifactRecord | undefined> {
    const list = this.versions.get(name) ?? [];
    const found =
      which.version !== undefined
        ? list.find((a) => a.version === which.version)
        : which.tag !== undefined && which.tag !== "latest"
          ? [...list].reverse().find((a) => a.tags?.includes(which.tag!))
          : list.at(-1);
    return found && structuredClone(found);
  }

  async listConsumers(artifactId: string): Promise<StepRunRecord[]> {
    const out: StepRunRecord[] = [];
    for (const steps of this.steps.values()) {
      for (const step of steps.values()) if (Object.values(step.inputs ?? {}).includes(artifactId)) out.push(structuredClone(step));
    }
    return out;
  }

  async findCachedStep(cacheKey: string): Promise<StepRunRecord | undefined> {
    const step = this.cache.get(cacheKey);
    return step && structuredClone(step);
  }
}
