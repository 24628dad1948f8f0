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

/**
 * How a step without a final record is settled once its run is over: `stopped`
 * with a stopped run; otherwise `failed` when it had started (it has a record)
 * or `skipped` when it never did. With the error recorded for it.
 */
export function unfinishedStepStatus(runStatus: RunStatus, started: boolean): { status: RunStatus; error: string } {
  if (runStatus === "stopped") return { status: "stopped", error: "the run was stopped" };
  return started ? { status: "failed", error: "the run ended before the step finished" } : { status: "skipped", error: "not run: the run failed" };
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
  /** Tags given at run time (config `tags:`, `stackyard run --tag`) or later (`stackyard runs tag`). */
  tags?: string[] | undefined;
  /** Metadata logged on the run (by its steps with `ctx.logMetadata(values, { run: true })`). */
  metadata?: MetadataRecord | undefined;
  /** The run this one retries (`stackyard runs retry`): it reused that run's finished steps. */
  retryOf?: string | undefined;
  /** The deployment (`stackyard pipeline deploy`) this run is a run of, and its version. */
  deployment?: string | undefined;
  deploymentVersion?: number | undefined;
  /** The schedule that started this run. */
  schedule?: string | undefined;
}

/**
 * A metadata value: any JSON value, or one of the typed values made by
 * {@link metadata} (`{ "$type": "uri", value }` and so on), which the CLI
 * and the dashboard show as links, paths and durations.
 */
export type MetadataValue = string | number | boolean | null | MetadataValue[] | { [key: string]: MetadataValue };

/** Metadata as stored: key to value. */
export type MetadataRecord = Record<string, MetadataValue>;

/** The kinds of visualization a materializer or a step may attach to an artifact. */
export const VISUALIZATION_TYPES = ["markdown", "html", "csv", "svg", "png", "json", "text"] as const;
/** One of {@link VISUALIZATION_TYPES}. */
export type VisualizationType = (typeof VISUALIZATION_TYPES)[number];

/** The file extension a visualization of each type is stored and exported with. */
export const VISUALIZATION_EXTENSIONS: Readonly<Record<VisualizationType, string>> = {
  markdown: "md",
  html: "html",
  csv: "csv",
  svg: "svg",
  png: "png",
  json: "json",
  text: "txt",
};

/** A visualization of an artifact, stored beside it in the artifact store. */
export interface VisualizationRecord {
  type: VisualizationType;
  /** Where its file is in the artifact store. */
  uri: string;
  /** A short title shown above it. */
  title?: string | undefined;
}

/**
 * One artifact version: an output saved by a step. Every save is version
 * N+1 of the artifact's name (by default `<pipeline>.<step>.<output>`); the
 * store assigns the version when it records the artifact.
 */
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
  /** The artifact's name, under which its versions count up. Records made before names existed have none. */
  name?: string | undefined;
  /** Version of {@link name}, from 1; assigned by the store on first record. */
  version?: number | undefined;
  /** Metadata logged on this version (by the materializer or the step). */
  metadata?: MetadataRecord | undefined;
  /** Tags of this version (`stackyard artifact tag`). */
  tags?: string[] | undefined;
  /** Visualizations stored beside it. */
  visualizations?: VisualizationRecord[] | undefined;
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
  /** Input name to the id of the artifact version it consumed (lineage). */
  inputs?: Record<string, string> | undefined;
  /** Metadata logged by the step (`ctx.logMetadata`). */
  metadata?: MetadataRecord | undefined;
  /**
   * Metadata the step logged on its run (`ctx.logMetadata(values, { run: true })`).
   * A store recording the step merges it into the run's metadata, and keeps it on the step so that
   * a later run taking the step from the cache gets it too.
   */
  runMetadata?: MetadataRecord | undefined;
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
  /** Only runs carrying this tag. */
  tag?: string;
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

  /** Adds metadata to a run, a step run or an artifact version: keys given replace those keys, others stay. */
  logMetadata(target: MetadataTarget, values: MetadataRecord): Promise<void>;
  /** Adds tags to a run or an artifact version (a tag it has is kept once); `remove` takes them off. */
  tag(target: TagTarget, add: readonly string[], remove?: readonly string[]): Promise<void>;

  /** Artifact names with their newest version, sorted by name. */
  listArtifactNames(query?: ArtifactNameQuery): Promise<ArtifactNameSummary[]>;
  /** Versions of one artifact name, newest first. */
  listArtifactVersions(name: string, query?: { limit?: number; offset?: number; tag?: string }): Promise<ArtifactRecord[]>;
  /** One version of a name: a version number, the newest carrying a tag, or the newest. */
  findArtifactVersion(name: string, which?: ArtifactSelector): Promise<ArtifactRecord | undefined>;
  /** The step runs that consumed an artifact version (lineage downstream). */
  listConsumers(artifactId: string): Promise<StepRunRecord[]>;
}

/** What metadata is attached to. */
export type MetadataTarget = { run: string } | { run: string; step: string } | { artifact: string };
/** What tags are attached to. */
export type TagTarget = { run: string } | { artifact: string };

/** Which version of a name {@link RunStore.findArtifactVersion} returns. */
export interface ArtifactSelector {
  version?: number | undefined;
  tag?: string | undefined;
}

/** Filters for {@link RunStore.listArtifactNames}. */
export interface ArtifactNameQuery {
  /** Names containing this text. */
  name?: string;
  /** Only names with a version carrying this tag. */
  tag?: string;
  limit?: number;
}

/** One artifact name in {@link RunStore.listArtifactNames}. */
export interface ArtifactNameSummary {
  name: string;
  versions: number;
  latest: ArtifactRecord;
}
