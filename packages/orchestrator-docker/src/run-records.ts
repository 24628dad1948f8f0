import {
  ArtifactStoreRunStore,
  type BaseArtifactStore,
  isFinalStatus,
  type PipelineSnapshot,
  type RunStore,
  readLiveRecord,
  readStepState,
  recordStepResult,
  type StepRunRecord,
  stepFileProblem,
} from "@stackyard/core";

/**
 * The records of one run on both sides of its step containers. A container
 * has no access to the client's store: its step process records into the
 * artifact store (`runs/<run>/<step>/record.json`, `step.json`, `logs.txt`),
 * and this copies what it wrote into the client's store as it goes
 * (`running`, `retrying`) and when the container ends. The other way, the
 * final records the client made itself (steps the cache or a retried run
 * answered for, map items found cached) are written to the artifact store
 * before a container starts, so a step process there can read its inputs.
 */
export class RunRecords {
  private readonly records: ArtifactStoreRunStore;
  /** Steps whose final record the artifact store already has (written by a container, or shared from here). */
  private readonly shared = new Set<string>();
  /** One copy at a time per step, in the order the step reported its statuses. */
  private readonly copies = new Map<string, Promise<void>>();

  constructor(
    private readonly snapshot: PipelineSnapshot,
    private readonly store: RunStore,
    artifactStore: BaseArtifactStore,
    private readonly runId: string,
  ) {
    this.records = new ArtifactStoreRunStore(artifactStore);
  }

  /** The step's final record in the client's store, when it has one (recorded here, or copied from its container). */
  async finalRecord(stepId: string): Promise<StepRunRecord | undefined> {
    const record = await this.store.getStepRun(this.runId, stepId);
    return record && isFinalStatus(record.status) ? record : undefined;
  }

  /** Writes to the artifact store the run's final records (with their artifacts) that only the client's store has. */
  async shareFinalRecords(): Promise<void> {
    for (const record of await this.store.listStepRuns(this.runId)) {
      if (!isFinalStatus(record.status) || this.shared.has(record.stepId)) continue;
      const there = await this.records.getStepRun(this.runId, record.stepId).catch(() => undefined);
      if (!there || !isFinalStatus(there.status)) {
        for (const id of Object.values(record.outputs)) {
          const artifact = await this.store.getArtifact(id);
          if (artifact && !(await this.records.getArtifact(id).catch(() => undefined))) await this.records.putArtifact(artifact);
        }
        await this.records.putStepRun(record);
      }
      this.shared.add(record.stepId);
    }
  }

  /** Copies the step's record under way (`running`, `retrying`) from the artifact store, after the copies asked for before. */
  copyLive(stepId: string): void {
    const previous = this.copies.get(stepId) ?? Promise.resolve();
    this.copies.set(
      stepId,
      previous.then(async () => {
        const live = await readLiveRecord(this.records.artifactStore, this.runId, stepId);
        if (live) await this.putUnlessFinal(live).catch(() => {});
      }),
    );
  }

  /**
   * Once the step's container has ended: copies its result (record and
   * artifacts) into the client's store, after checking it (see
   * `stepFileProblem`), and returns its record, final or not (undefined when
   * it wrote none), or why its result was refused. Artifacts the client's
   * store already has are never replaced.
   */
  async copyEnd(stepId: string): Promise<{ record?: StepRunRecord; refused?: string }> {
    await this.copies.get(stepId);
    this.copies.delete(stepId);
    const { file, live } = await readStepState(this.records.artifactStore, this.runId, stepId);
    if (file && isFinalStatus(file.step.status)) {
      const problem = stepFileProblem(this.snapshot, this.runId, stepId, file);
      if (problem) return { refused: `its container recorded a result the client does not take: ${problem}` };
      const known = await Promise.all(file.artifacts.map((a) => this.store.getArtifact(a.id)));
      try {
        await recordStepResult(
          this.store,
          file.step,
          file.artifacts.filter((_, i) => !known[i]),
        );
      } catch (error) {
        return { refused: `its container recorded a result the client's store cannot take: ${error instanceof Error ? error.message : String(error)}` };
      }
      // The shared records (artifact records, the cache index) are the client's to write: the container may write only its run's folder.
      for (const artifact of file.artifacts) await this.records.putArtifact(artifact);
      await this.records.putStepRun(file.step);
      this.shared.add(stepId);
      return { record: file.step };
    }
    const record = live ?? file?.step;
    if (record) await this.putUnlessFinal(record);
    return record ? { record } : {};
  }

  /** A record under way never replaces a final one (a step `stop` marked stopped while its container still ran). */
  private async putUnlessFinal(record: StepRunRecord): Promise<void> {
    if (await this.finalRecord(record.stepId)) return;
    await this.store.putStepRun(record);
  }
}
