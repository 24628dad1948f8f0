import type { ArtifactNameSummary, ArtifactRecord, RunRecord, RunStatus, StepRunRecord } from "@stackyard/core";

/** Filters and page of the runs list. */
export interface RunListQuery {
  pipeline?: string | undefined;
  status?: RunStatus | undefined;
  stack?: string | undefined;
  /** Only runs carrying this tag. */
  tag?: string | undefined;
  limit: number;
  offset: number;
}

/** One step of a run's snapshot: what the DAG draws even before the step starts. */
export interface SnapshotStepSummary {
  id: string;
  name: string;
  upstream: string[];
  outputs: string[];
  parameters: Record<string, unknown>;
  /** Set for a map step: it runs once per item (`id[0]`, `id[1]`, ...) of the lists it maps over. */
  map?:
    | { inputs: string[]; mode: "zip" | "product"; concurrency?: number | undefined; tolerate?: { count: number } | { percent: number } | undefined }
    | undefined;
  /** Upstream map steps whose items' outputs this step collects into a list. */
  collects?: string[] | undefined;
}

/** What the run page shows of a run's snapshot (component configs hold no secrets). */
export interface SnapshotSummary {
  id: string;
  pipeline: { name: string; source: string; parameters: Record<string, unknown> };
  enableCache: boolean;
  steps: SnapshotStepSummary[];
  stack: { name: string; components: Record<string, { name: string; flavor: string }> };
}

/** The start of an output's main file, for its preview. */
export interface OutputHead {
  /** The file's name inside the artifact's folder, e.g. `data.json`. */
  file: string;
  bytes: Uint8Array;
  /** The file's full size in bytes. */
  size: number;
}

/** A CLI command the dashboard started in a process of its own (`stackyard runs retry`). */
export interface StartedCommand {
  /** Undefined while the process runs; once it exited, its exit code and the end of what it printed. */
  outcome(): { code: number | null; output: string } | undefined;
}

/** A map step's items counted by status, with the indices of the first failed ones (ascending). */
export interface ItemTally {
  counts: Partial<Record<RunStatus, number>>;
  failedIndices: number[];
}

/** A run's step records without map items (`score[3]`), and per map step its items' tally. */
export interface RunSteps {
  steps: StepRunRecord[];
  tallies: ReadonlyMap<string, ItemTally>;
}

/** A slice of a step's log from a byte offset; `size` is the log's whole size in bytes. */
export interface LogSlice {
  bytes: Uint8Array;
  size: number;
}

/** A stack with its components' names and flavors. */
export interface StackSummary {
  name: string;
  active: boolean;
  components: Record<string, { name: string; flavor: string }>;
}

/** A registered component or service connector, its config with secrets already masked. */
export interface ComponentSummary {
  type: string;
  name: string;
  flavor: string;
  connector?: string | undefined;
  config: Record<string, unknown>;
  stacks: string[];
}

/** A flavor the project can use: built in, from an installed package, or registered by source path. */
export interface FlavorSummary {
  /** The component type (`orchestrator`, `artifact_store`, ...). */
  type: string;
  name: string;
  /** `built-in`, `package`, or `registered` (by source path). */
  origin: string;
  /** Where it is loaded from (`package#export` or a source path). */
  source: string;
  description?: string | undefined;
  /** Its components run or keep things away from this machine. */
  remote: boolean;
  /** The registered components of this flavor, by name. */
  components: string[];
}

/**
 * Everything the dashboard reads, and all it may read. The CLI implements it
 * over its stores; the dashboard keeps no copy of the data, so each request
 * and each change check reads through here. Component configs come in masked:
 * no secret value ever reaches this package.
 */
export interface DashboardSource {
  listRuns(query: RunListQuery): Promise<RunRecord[]>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Every step record of a run, map items included. */
  listSteps(runId: string): Promise<StepRunRecord[]>;
  /** One step record (a map's item too). Absent, the dashboard finds it in {@link listSteps}. */
  getStep?(runId: string, stepId: string): Promise<StepRunRecord | undefined>;
  /**
   * A run's steps without map items, and per map step its items counted by
   * status (with the first `failedShown` failed indices), without reading
   * the items' records. Absent, the dashboard reads every record through
   * {@link listSteps} and counts them itself.
   */
  runSteps?(runId: string, failedShown: number): Promise<RunSteps>;
  /**
   * A page of one map step's items in item order, only those whose status
   * is one of `statuses` when given, with how many match. Absent, the
   * dashboard pages through {@link listSteps}.
   */
  mapItems?(
    runId: string,
    mapId: string,
    query: { statuses?: readonly RunStatus[] | undefined; limit: number; offset: number },
  ): Promise<{ items: StepRunRecord[]; total: number }>;
  /** A run's artifact versions; with `items: false`, a source may leave out those its map items made (the dashboard looks those up one by one). */
  listArtifacts(runId: string, options?: { items?: boolean }): Promise<ArtifactRecord[]>;
  getSnapshot(run: RunRecord): Promise<SnapshotSummary | undefined>;
  /** A step's captured output, or undefined when the step is unknown. */
  readStepLogs(run: RunRecord, stepId: string): Promise<string>;
  /**
   * The bytes of a step's log from byte `offset` on (at most `maxBytes`,
   * the last ones when there are more), with the log's size; undefined while
   * the step has written no log yet. Absent, the live tail reads the whole
   * log through {@link readStepLogs} and slices it.
   */
  readStepLogFrom?(run: RunRecord, stepId: string, offset: number, maxBytes: number): Promise<LogSlice | undefined>;
  /**
   * The first `maxBytes` of an output's main file, read through the artifact
   * store of the run's snapshot, with the file's name (in the artifact's
   * folder) and full size; undefined when the artifact is not (or no longer)
   * in that store. Absent, the step panel shows no previews.
   */
  readOutput?(run: RunRecord, artifact: ArtifactRecord, maxBytes: number): Promise<OutputHead | undefined>;
  /** The pipelines, stacks and run tags the store's runs name, sorted; absent, the newest runs are read for them. */
  runFilterOptions?(): Promise<{ pipelines: string[]; stacks: string[]; tags?: string[] | undefined }>;
  /** Artifact names containing `name`, with a version tagged `tag`, sorted by name. Absent (with the other artifact calls), the dashboard has no artifact pages. */
  listArtifactNames?(query: { name?: string | undefined; tag?: string | undefined; limit: number }): Promise<ArtifactNameSummary[]>;
  /** Versions of one artifact name, newest first. */
  listArtifactVersions?(name: string, query: { limit: number; offset: number }): Promise<ArtifactRecord[]>;
  /** One version of a name. */
  findArtifactVersion?(name: string, version: number): Promise<ArtifactRecord | undefined>;
  /** The artifact version with this id. */
  getArtifact?(id: string): Promise<ArtifactRecord | undefined>;
  /** The step runs that consumed an artifact version. */
  listConsumers?(artifactId: string): Promise<StepRunRecord[]>;
  /**
   * The first `maxBytes` of one file the artifact records (a visualization's
   * `uri`), read through the artifact store of the snapshot of `run`, the run
   * that produced the artifact, with the file's full size; undefined when the
   * URI is not in that store or the file is gone. The dashboard only passes
   * URIs recorded on the artifact.
   */
  readArtifactFile?(run: RunRecord, artifact: ArtifactRecord, uri: string, maxBytes: number): Promise<{ bytes: Uint8Array; size: number } | undefined>;
  /**
   * Calls `onChange` soon after anything writes the store (another process
   * included) and returns what stops watching. The event stream then reads
   * the store on each write instead of polling it. Absent, it polls.
   */
  watchStore?(onChange: () => void): () => void;
  listStacks(): Promise<StackSummary[]>;
  /** Every flavor the project can use, without importing any. Absent, the stacks page lists none. */
  listFlavors?(): Promise<FlavorSummary[]>;
  listComponents(): Promise<ComponentSummary[]>;
  /** Asks an active run to stop (the one state-changing call); absent, the UI offers no Stop button. */
  stopRun?(run: RunRecord): Promise<void>;
  /**
   * Starts `stackyard runs retry <run> [--from <step> | --all]` in a detached process
   * of its own (the CLI, in the project's folder, with the dashboard's
   * environment) and returns at once; the dashboard checks the input first and
   * then waits for the new run's record. Absent, the UI offers no Retry.
   */
  startRetry?(run: RunRecord, options: { from?: string | undefined; all?: boolean | undefined }): Promise<StartedCommand>;
}
