import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import type { ArtifactRecord, RunQuery, RunRecord, RunStore, StepRunRecord } from "./run-store.js";

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
 */
export class ArtifactStoreRunStore implements RunStore {
  constructor(readonly artifactStore: BaseArtifactStore) {}

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
    if (step.status === "completed" && step.cacheKey) await this.writeJson(`cache/${step.cacheKey}.json`, step);
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
    await this.writeJson(`artifacts/${artifact.id}.json`, artifact);
  }

  async getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    return this.readJson(`artifacts/${id}.json`);
  }

  async listArtifacts(runId: string): Promise<ArtifactRecord[]> {
    const steps = await this.listStepRuns(runId);
    const ids = steps.flatMap((s) => Object.values(s.outputs));
    return (await Promise.all(ids.map((id) => this.getArtifact(id)))).filter((a): a is ArtifactRecord => Boolean(a));
  }

  async findCachedStep(cacheKey: string): Promise<StepRunRecord | undefined> {
    return this.readJson(`cache/${cacheKey}.json`);
  }
}
