import { NotFoundError } from "../errors/errors.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import type { ArtifactRecord, RunQuery, RunRecord, RunStore, StepRunRecord } from "./run-store.js";

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

  async saveSnapshot(snapshot: PipelineSnapshot, uri: string): Promise<void> {
    this.snapshots.set(snapshot.id, { snapshot: structuredClone(snapshot), uri });
  }

  async getSnapshot(id: string): Promise<PipelineSnapshot | undefined> {
    const found = this.snapshots.get(id);
    return found && structuredClone(found.snapshot);
  }

  async createRun(run: RunRecord): Promise<void> {
    this.runs.set(run.id, { ...run });
    this.steps.set(run.id, new Map());
  }

  async getRun(idOrName: string): Promise<RunRecord | undefined> {
    const byId = this.runs.get(idOrName);
    if (byId) return { ...byId };
    let newest: RunRecord | undefined;
    for (const run of this.runs.values()) if (run.name === idOrName && (!newest || run.created >= newest.created)) newest = run;
    return newest && { ...newest };
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    const run = this.runs.get(id);
    if (!run) throw new NotFoundError(`No run with id '${id}'`);
    this.runs.set(id, { ...run, ...patch, id });
  }

  async listRuns(query: RunQuery = {}): Promise<RunRecord[]> {
    const runs = [...this.runs.values()]
      .filter((run) => (query.pipeline === undefined || run.pipeline === query.pipeline) && (query.status === undefined || run.status === query.status))
      .sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    return (query.limit === undefined ? runs : runs.slice(0, query.limit)).map((run) => ({ ...run }));
  }

  async deleteRun(id: string): Promise<void> {
    this.runs.delete(id);
    for (const step of this.steps.get(id)?.values() ?? []) {
      if (step.cacheKey && this.cache.get(step.cacheKey) === step) this.cache.delete(step.cacheKey);
    }
    this.steps.delete(id);
    for (const artifact of this.artifactsByRun.get(id) ?? []) this.artifacts.delete(artifact.id);
    this.artifactsByRun.delete(id);
  }

  async putStepRun(step: StepRunRecord): Promise<void> {
    let steps = this.steps.get(step.runId);
    if (!steps) this.steps.set(step.runId, (steps = new Map()));
    const copy = structuredClone(step);
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
    const copy = { ...artifact };
    const previous = this.artifacts.get(artifact.id);
    this.artifacts.set(artifact.id, copy);
    let list = this.artifactsByRun.get(artifact.runId);
    if (!list) this.artifactsByRun.set(artifact.runId, (list = []));
    if (previous) list.splice(list.indexOf(previous), 1);
    list.push(copy);
  }

  async getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    const artifact = this.artifacts.get(id);
    return artifact && { ...artifact };
  }

  async listArtifacts(runId: string): Promise<ArtifactRecord[]> {
    return (this.artifactsByRun.get(runId) ?? []).map((artifact) => ({ ...artifact }));
  }

  async findCachedStep(cacheKey: string): Promise<StepRunRecord | undefined> {
    const step = this.cache.get(cacheKey);
    return step && structuredClone(step);
  }
}
