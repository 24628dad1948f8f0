import type { PipelineSnapshot } from "../pipeline/snapshot.js";

/** Statuses of runs and steps. */
export const RUN_STATUSES = ["initializing", "running", "completed", "cached", "failed", "skipped", "retrying", "stopped"] as const;
/** The status of a run or a step: one of {@link RUN_STATUSES}. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses after which nothing changes any more. */
export const FINAL_STATUSES: readonly RunStatus[] = ["completed", "cached", "failed", "skipped", "stopped"];

/** Whether `status` is one of {@link FINAL_STATUSES}: the run or step is over. */
export function isFinalStatus(status: RunStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** A pipeline run as stored. */
export interface RunRecord {
  id: string;
  name: string;
  pipeline: string;
  snapshotId: string;
  /** Where the snapshot lives in the artifact store. */
  snapshotUri: string;
  stack: string;
  orchestrator: string;
  status: RunStatus;
  /** Orchestrator-specific handle (a process id, a Step Functions execution ARN). */
  orchestratorRunId?: string | undefined;
  /** Process that drives the run locally; used to find runs whose runner died. */
  pid?: number | undefined;
  host?: string | undefined;
  error?: string | undefined;
  created: string;
  started?: string | undefined;
  ended?: string | undefined;
}

/** One artifact produced by a step. */
export interface ArtifactRecord {
  id: string;
  runId: string;
  stepId: string;
  output: string;
  uri: string;
  materializer: string;
  /** Data type recorded by the materializer (e.g. `object`, `string`, `bytes`). */
  dataType: string;
  size: number;
  sha256: string;
  created: string;
}

/** A step of a run as stored. */
export interface StepRunRecord {
  runId: string;
  stepId: string;
  stepName: string;
  status: RunStatus;
  attempt: number;
  cacheKey?: string | undefined;
  /** For cached steps: the step run whose outputs were reused. */
  cachedFrom?: { runId: string; stepId: string } | undefined;
  /** Output name to artifact id. */
  outputs: Record<string, string>;
  /** Where its captured stdout/stderr is kept (a URI in the artifact store or a file). */
  logUri?: string | undefined;
  error?: string | undefined;
  started?: string | undefined;
  ended?: string | undefined;
}

/** Filters for `listRuns`. */
export interface RunQuery {
  pipeline?: string;
  status?: RunStatus;
  /** Only runs on the stack of this name. */
  stack?: string;
  limit?: number;
  /** Runs to skip, newest first (paging). */
  offset?: number;
}

/**
 * Where runs, steps, artifacts and snapshots are recorded. The CLI package
 * ships the default (embedded SQLite); orchestrators and the step entrypoint
 * only see this interface. Every method is safe to call from several
 * processes at once.
 */
export interface RunStore {
  /** Keeps a compiled snapshot (by its id) and where its copy lives in the artifact store. Saving the same id again is a no-op. */
  saveSnapshot(snapshot: PipelineSnapshot, uri: string): Promise<void>;
  /** The snapshot with this id, if stored. */
  getSnapshot(id: string): Promise<PipelineSnapshot | undefined>;

  /** Records a new run. */
  createRun(run: RunRecord): Promise<void>;
  /** The run with this id, or else this name. */
  getRun(idOrName: string): Promise<RunRecord | undefined>;
  /** Changes some fields of a run; a field given as `undefined` is cleared. */
  updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void>;
  /** Runs, newest first, filtered by `query`. */
  listRuns(query?: RunQuery): Promise<RunRecord[]>;
  /** Forgets a run with its step runs and artifact records (not the artifacts' bytes). */
  deleteRun(id: string): Promise<void>;

  /** Inserts or replaces one step run. */
  putStepRun(step: StepRunRecord): Promise<void>;
  /** One step run of a run, if recorded. */
  getStepRun(runId: string, stepId: string): Promise<StepRunRecord | undefined>;
  /** Every recorded step run of a run. */
  listStepRuns(runId: string): Promise<StepRunRecord[]>;

  /** Records an artifact (inserts or replaces by id). */
  putArtifact(artifact: ArtifactRecord): Promise<void>;
  /**
   * Records a step's new artifacts and then its record, in one transaction
   * where the store has them. Optional: without it the engine calls
   * {@link putArtifact} for each artifact, then {@link putStepRun}.
   */
  putStepResult?(step: StepRunRecord, artifacts: readonly ArtifactRecord[]): Promise<void>;
  /** The artifact with this id, if recorded. */
  getArtifact(id: string): Promise<ArtifactRecord | undefined>;
  /** Every artifact produced by a run's steps. */
  listArtifacts(runId: string): Promise<ArtifactRecord[]>;

  /** The newest completed step run with this cache key, for caching. */
  findCachedStep(cacheKey: string): Promise<StepRunRecord | undefined>;
}
