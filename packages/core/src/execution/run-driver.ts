import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { LocalArtifactStore } from "../artifact-store/local-artifact-store.js";
import { EntrypointConfiguration } from "../entrypoint/entrypoint-configuration.js";
import { type ArtifactStoreDescription, formatArtifactStoreDescription, STEP_ENV } from "../entrypoint/step-protocol.js";
import { ConfigError, NotFoundError, StepFailedError } from "../errors/errors.js";
import type { MaterializerImporter } from "../materializers/registry.js";
import type { BaseOrchestrator, RunEvents, StepOutcome, SubmitContext } from "../orchestrator/base-orchestrator.js";
import type { DeploymentRef } from "../orchestrator/production.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import { formatRunName } from "../pipeline/run-name.js";
import type { RunResult } from "../pipeline/run-options.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import type { Stack } from "../stack/stack.js";
import { ArtifactStoreRunStore } from "../store/artifact-store-run-store.js";
import { type ArtifactRecord, isFinalStatus, type RunRecord, type RunStatus, type RunStore, unfinishedStepStatus } from "../store/run-store.js";
import { executeDag } from "./execute-dag.js";
import { expandMapStep } from "./map-expand.js";
import { MAP_METADATA_KEY, type MapRuntime, type MapSummary } from "./map-items.js";
import { reuseCachedStep, reuseCachedSteps, runStep } from "./run-step.js";
import { createRunMemo, type RunMemo } from "./step-inputs.js";

/** Options of {@link driveRun}. */
export interface DriveRunOptions {
  pipeline: Pipeline<any>;
  /** The compiled snapshot; the driver stores it (artifact store, then `store`). */
  snapshot: PipelineSnapshot;
  store: RunStore;
  artifactStore: BaseArtifactStore;
  /** An orchestrator to submit to; without one, steps run here through {@link executeDag}. */
  orchestrator?: BaseOrchestrator<any>;
  /** The stack given to the orchestrator (default: its name from the snapshot, `orchestrator` and `artifactStore`). */
  stack?: Stack;
  /**
   * The entrypoint configuration step commands are built with (`SubmitContext.stepCommand`).
   * Default: `stack.entrypoint`, else core's {@link EntrypointConfiguration}.
   */
  entrypoint?: typeof EntrypointConfiguration;
  runId?: string;
  /** Default: the snapshot's run name template, formatted now. */
  runName?: string;
  /** Without an orchestrator: how many steps run at once, and whether a failure stops the others. */
  concurrency?: number;
  failFast?: boolean;
  /** Aborting it stops the run (Ctrl-C in the CLI); the run is then recorded `stopped`. */
  signal?: AbortSignal;
  events?: Partial<RunEvents>;
  sourceRoot?: string;
  importModule?: MaterializerImporter;
  /**
   * The client's store as a path a step process can open. Step processes
   * then get it as `STEP_ENV.store` and record there; without it they get
   * the artifact store (`STEP_ENV.artifactStore`) and keep their records in
   * it, where the driver reads them back when the orchestrator is done. An
   * orchestrator that keeps its step processes away from the client's store
   * (the docker flavor) gives them the artifact store even so, and copies
   * their records into `store` itself as each one ends.
   */
  clientStore?: string;
  /** Extra environment for step processes, over the protocol's (see {@link STEP_ENV}). */
  stepEnvironment?: (stepId: string) => Record<string, string>;
  /** Passed to {@link runStep} for steps run in this process (default true). */
  writeResultFile?: boolean;
  /**
   * Makes the run a retry of an earlier run of the same snapshot: the steps
   * (and map items) that succeeded there are recorded `cached` from it, and
   * only the others run (with `from`: that step and everything downstream
   * of it run again too). The orchestrator is given only the steps that run.
   */
  retry?: RetryPlan;
  /** Where the run comes from, recorded on it: the deployment (and version) and schedule that started it. */
  origin?: Pick<RunRecord, "deployment" | "deploymentVersion" | "schedule">;
  /**
   * The deployment version this run is a run of, with what a deployable
   * orchestrator's `deploy` created for it: given to the orchestrator as
   * `SubmitContext.deployment`, so it starts the run without deploying again.
   */
  deployment?: DeploymentRef;
}

/** What a retry reuses: see {@link DriveRunOptions.retry}. */
export interface RetryPlan {
  /** The run retried: its snapshot must be this run's. */
  runId: string;
  /** A step that runs again with everything downstream of it, even where they succeeded. */
  from?: string;
  /**
   * Every step runs again and nothing of the retried run is reused: a rerun
   * of the same snapshot on the same stack (steps the cache answers for are
   * cached, as in any run of the snapshot). Not with `from`.
   */
  all?: boolean;
}

/** What {@link driveRun} resolves with: the run's result and, when something other than a step failed, why. */
export interface DrivenRun extends RunResult {
  /** The run's recorded error: the failed steps, or what stopped the run before they could finish. */
  error?: string;
  /** What was thrown, when the run failed outside its steps (submit could not start it). */
  cause?: unknown;
}

/**
 * The run driver: the one path every run takes, from the CLI, from
 * `runSnapshotInProcess`, from tests and benchmarks. It stores the snapshot,
 * creates the run, records the steps the cache answers for, submits the rest
 * to the orchestrator (or runs them here when there is none), reads back the
 * records of steps that ran elsewhere and records the run's final status.
 *
 * It never throws for a run that fails: the result says how it ended, with
 * `cause` set when something other than a step failed. Store and artifact
 * store errors before the run exists do throw.
 */
export async function driveRun(options: DriveRunOptions): Promise<DrivenRun> {
  const { store, artifactStore, orchestrator } = options;
  if (orchestrator) checkMapSupport(options.snapshot, orchestrator);
  if (options.retry) await checkRetry(options.snapshot, options.retry, store);
  const snapshot = options.retry ? options.snapshot : await resolveExternalInputs(options.snapshot, store);
  if (snapshot !== options.snapshot) options = { ...options, snapshot };
  const events = completeEvents(options.events);
  const signal = options.signal ?? new AbortController().signal;
  const runId = options.runId ?? randomUUID();
  const runName = options.runName ?? formatRunName(snapshot.run_name_template);
  const snapshotUri = await storeSnapshot(snapshot, store, artifactStore);
  const created = new Date().toISOString();
  await store.createRun({
    id: runId,
    name: runName,
    pipeline: snapshot.pipeline.name,
    snapshotId: snapshot.id,
    snapshotUri,
    stack: options.stack?.name ?? snapshot.stack.name,
    orchestrator: orchestrator?.name ?? "in-process",
    status: "initializing",
    pid: process.pid,
    host: hostname(),
    created,
    started: created,
    ...(snapshot.tags?.length ? { tags: [...snapshot.tags] } : {}),
    ...(options.retry ? { retryOf: options.retry.runId } : {}),
    ...options.origin,
  });
  if (orchestrator) warnUnenforcedResources(snapshot, orchestrator, events);

  const steps = new StepRunner(options, runId, events, signal);
  let outcomes: StepOutcome[] = [];
  let cause: unknown;
  try {
    await store.updateRun(runId, { status: "running" });
    // Steps the cache answers for are recorded in one pass first. When that is
    // every step, nothing is submitted: no image is built, no container started.
    const reused = options.retry ? await steps.reuseFrom(options.retry) : [];
    const cached = [...reused, ...(await steps.reuseCached(new Set(reused.map((o) => o.stepId))))];
    if (cached.length === snapshot.steps.length) outcomes = cached;
    else if (orchestrator) {
      // A retry gives the orchestrator only what runs again; a first run gives it every step (each finds its own cache hit).
      const remaining = options.retry ? remainingSteps(snapshot, cached) : snapshot;
      const submitted = await submitToOrchestrator({ ...options, snapshot: remaining }, orchestrator, steps, { runId, runName, snapshotUri, events, signal });
      outcomes = options.retry ? mergeOutcomes(snapshot, cached, submitted) : submitted;
    } else outcomes = await runHere(options, steps, cached, signal);
  } catch (error) {
    cause = error;
  }
  const stopped = signal.aborted;
  const synchronous = orchestrator?.capabilities.synchronous ?? true;
  const status: RunStatus = cause !== undefined ? (stopped ? "stopped" : "failed") : finalRunStatus(outcomes, snapshot.steps.length, stopped, synchronous);
  if (status === "stopped" || status === "failed") outcomes = await steps.settleUnfinished(outcomes, status);
  const error = cause !== undefined ? errorMessage(cause) : failedStepsMessage(outcomes);
  const ended = status === "running" ? {} : { ended: new Date().toISOString() };
  await store.updateRun(runId, { status, ...(error ? { error } : {}), ...ended, pid: undefined });
  return { runId, runName, status, steps: outcomes, ...(error ? { error } : {}), ...(cause === undefined ? {} : { cause }) };
}

/**
 * Refuses a retry, before anything is stored, when the run retried is of
 * another snapshot, still going, or has nothing to retry, or `from` is not a step.
 *
 * @throws ConfigError naming the run and what is wrong.
 */
export async function checkRetry(snapshot: PipelineSnapshot, retry: RetryPlan, store: RunStore): Promise<void> {
  const run = await store.getRun(retry.runId);
  if (!run) throw new NotFoundError(`No run '${retry.runId}' to retry`);
  if (run.snapshotId !== snapshot.id) {
    throw new ConfigError(`Run '${run.name}' ran snapshot ${run.snapshotId}, not ${snapshot.id}: a retry runs the same snapshot`);
  }
  if (!isFinalStatus(run.status)) {
    throw new ConfigError(`Run '${run.name}' is still ${run.status}: retry it once it has ended`, { hint: `Stop it first: stackyard runs stop ${run.name}` });
  }
  if (retry.all && retry.from !== undefined) {
    throw new ConfigError(`A rerun of every step of run '${run.name}' cannot also start from '${retry.from}': give one of --all and --from`);
  }
  if (retry.from !== undefined && !snapshot.steps.some((s) => s.id === retry.from)) {
    throw new ConfigError(`Run '${run.name}' has no step '${retry.from}' to retry from (its steps: ${snapshot.steps.map((s) => s.id).join(", ")})`);
  }
  if (retry.from === undefined && !retry.all && run.status === "completed") {
    throw new ConfigError(`Run '${run.name}' completed: there is no failed step to retry`, {
      hint: `Run a step and everything after it again with --from STEP (its steps: ${snapshot.steps.map((s) => s.id).join(", ")}), or every step with --all.`,
    });
  }
}

/** The steps of a snapshot that `done` does not answer for, waiting only for each other. */
function remainingSteps(snapshot: PipelineSnapshot, done: readonly StepOutcome[]): PipelineSnapshot {
  const answered = new Set(done.map((o) => o.stepId));
  return {
    ...snapshot,
    steps: snapshot.steps.filter((s) => !answered.has(s.id)).map((s) => ({ ...s, upstream: s.upstream.filter((id) => !answered.has(id)) })),
  };
}

/** One outcome per step of `snapshot`, in its order, from those answered before submitting and those the orchestrator gave. */
function mergeOutcomes(snapshot: PipelineSnapshot, before: readonly StepOutcome[], submitted: readonly StepOutcome[]): StepOutcome[] {
  const byId = new Map([...before, ...submitted].map((o) => [o.stepId, o]));
  return snapshot.steps.flatMap((s) => {
    const outcome = byId.get(s.id);
    return outcome ? [outcome] : [];
  });
}

/** Flavors shipped with Stackyard whose orchestrators run map steps. */
const MAP_FLAVORS = "local, docker, aws_step_functions";
/** How long a step run in this process runs before its record under way is written (see `RunStepOptions.runningRecordAfterMs`). */
const RUNNING_RECORD_AFTER_MS = 50;

/**
 * Refuses, before anything is stored, a snapshot with map steps for an
 * orchestrator that does not run them (`capabilities.mapSteps`).
 *
 * @throws ConfigError naming the orchestrator, the map steps and the flavors that can.
 */
export function checkMapSupport(snapshot: PipelineSnapshot, orchestrator: BaseOrchestrator<any>): void {
  if (orchestrator.capabilities.mapSteps) return;
  const maps = snapshot.steps.filter((s) => s.map).map((s) => `'${s.id}'`);
  if (!maps.length) return;
  throw new ConfigError(
    `Orchestrator '${orchestrator.name}' (flavor ${orchestrator.flavor}) cannot run map steps, and pipeline '${snapshot.pipeline.name}' has ${maps.join(", ")}`,
    {
      hint: `Switch to a stack whose orchestrator can (flavors: ${MAP_FLAVORS}), or set capabilities.mapSteps in the flavor once it passes context.maps to executeDag.`,
    },
  );
}

/**
 * The final status of a run from its steps' outcomes: `stopped` when it was
 * stopped, `failed` when a step failed or was skipped for a failure, still
 * `running` when an asynchronous orchestrator returned before every step
 * was over.
 */
export function finalRunStatus(outcomes: readonly StepOutcome[], stepCount: number, stopped = false, synchronous = true): RunStatus {
  if (stopped) return "stopped";
  if (outcomes.some((o) => o.status === "failed")) return "failed";
  if (outcomes.some((o) => o.status === "stopped")) return "stopped";
  if (outcomes.some((o) => o.status === "skipped")) return "failed";
  if (outcomes.length < stepCount && !synchronous) return "running";
  return "completed";
}

/**
 * The snapshot with each external input (`externalArtifact`) resolved to the
 * artifact version it names now, so every step process reads the same
 * version. The snapshot itself when it has none to resolve.
 *
 * @throws NotFoundError naming the artifact and the step when no such version exists; nothing is written then.
 */
export async function resolveExternalInputs(snapshot: PipelineSnapshot, store: RunStore): Promise<PipelineSnapshot> {
  if (!snapshot.steps.some((s) => s.external && Object.values(s.external).some((e) => !e.artifact))) return snapshot;
  const resolved = structuredClone(snapshot);
  for (const step of resolved.steps) {
    for (const [input, external] of Object.entries(step.external ?? {})) {
      if (external.artifact) continue;
      const found = await store.findArtifactVersion(external.name, { version: external.version, tag: external.tag });
      if (!found) {
        const which =
          external.version !== undefined ? `version ${external.version} of ` : external.tag !== undefined ? `a version tagged '${external.tag}' of ` : "";
        const known = (await store.listArtifactVersions(external.name, { limit: 1 })).length > 0;
        throw new NotFoundError(`Input '${input}' of step '${step.id}' needs ${which}artifact '${external.name}', which this store does not have`, {
          hint: known
            ? `See its versions with: stackyard artifact versions ${external.name}`
            : "Run the pipeline that produces it first, or see the names with: stackyard artifact list",
        });
      }
      const { metadata: _m, tags: _t, visualizations: _v, ...record } = found;
      external.artifact = record;
    }
  }
  return resolved;
}

/** Writes the snapshot to the artifact store (`snapshots/<id>.json`), then the store; returns its URI. */
export async function storeSnapshot(snapshot: PipelineSnapshot, store: RunStore, artifactStore: BaseArtifactStore): Promise<string> {
  const path = `snapshots/${snapshot.id}.json`;
  await artifactStore.writeFile(path, JSON.stringify(snapshot));
  const uri = artifactStore.uri(path);
  await store.saveSnapshot(snapshot, uri);
  return uri;
}

function completeEvents(events: Partial<RunEvents> | undefined): RunEvents {
  const bind = <K extends keyof RunEvents>(name: K): RunEvents[K] => (events?.[name]?.bind(events) as RunEvents[K] | undefined) ?? (() => {});
  return { stepStatus: bind("stepStatus"), stepLog: bind("stepLog"), info: bind("info"), warn: bind("warn") };
}

function warnUnenforcedResources(snapshot: PipelineSnapshot, orchestrator: BaseOrchestrator<any>, events: RunEvents): void {
  if (orchestrator.capabilities.honoursResources) return;
  const asking = snapshot.steps.filter((s) => Object.keys(s.resources).length).length;
  if (asking) {
    events.warn(
      `orchestrator '${orchestrator.name}' cannot enforce resources (cpu_count, gpu_count, memory); ${asking} step(s) ask for them and will run without limits.`,
    );
  }
}

/** Runs and records the steps of one run in this process, remembering which ones it recorded. */
class StepRunner {
  /** Steps recorded here; the others ran in other processes and are read back. */
  readonly recordedHere = new Set<string>();
  private readonly memo: RunMemo = createRunMemo();

  constructor(
    private readonly options: DriveRunOptions,
    readonly runId: string,
    private readonly events: RunEvents,
    private readonly signal: AbortSignal,
  ) {}

  /** The run this one retries, when it does; map steps reuse its items that succeeded. */
  private retried: { runId: string; rerun: ReadonlySet<string> } | undefined;

  /**
   * Records as `cached` from the retried run every step that succeeded there
   * (whole maps included) and whose upstream steps are reused too, except
   * `from` and what follows it. Returns their outcomes.
   */
  async reuseFrom(retry: RetryPlan): Promise<StepOutcome[]> {
    const { snapshot } = this.options;
    const rerun = new Set<string>(retry.all ? snapshot.steps.map((s) => s.id) : []);
    if (retry.from !== undefined) {
      rerun.add(retry.from);
      for (const step of snapshot.steps) if (step.upstream.some((id) => rerun.has(id))) rerun.add(step.id);
    }
    this.retried = { runId: retry.runId, rerun };
    const reused = new Set<string>();
    const outcomes: StepOutcome[] = [];
    for (const spec of snapshot.steps) {
      if (rerun.has(spec.id) || !spec.upstream.every((id) => reused.has(id))) continue;
      if (!(await this.reuseStep(retry.runId, spec.id))) continue;
      if (spec.map) {
        const summary = (await this.options.store.getStepRun(this.runId, spec.id))?.metadata?.[MAP_METADATA_KEY] as { items?: number } | undefined;
        for (let i = 0; i < (summary?.items ?? 0); i++) await this.reuseStep(retry.runId, `${spec.id}[${i}]`);
      }
      reused.add(spec.id);
      outcomes.push({ stepId: spec.id, status: "cached" });
    }
    return outcomes;
  }

  /** Records step (or item) `stepId` of this run as cached from the same step of `fromRun`, when it succeeded there with its outputs still stored. */
  private async reuseStep(fromRun: string, stepId: string): Promise<boolean> {
    const { store, artifactStore } = this.options;
    const old = await store.getStepRun(fromRun, stepId);
    if (!old || (old.status !== "completed" && old.status !== "cached")) return false;
    const artifacts: Record<string, ArtifactRecord> = {};
    for (const [output, id] of Object.entries(old.outputs)) {
      const artifact = await store.getArtifact(id);
      if (!artifact || !(await artifactStore.exists(artifact.uri).catch(() => false))) return false;
      artifacts[output] = artifact;
    }
    const now = new Date().toISOString();
    const { logUri: _log, error: _error, ...rest } = old;
    const record = {
      ...rest,
      runId: this.runId,
      status: "cached" as const,
      cachedFrom: old.cachedFrom ?? { runId: fromRun, stepId },
      started: now,
      ended: now,
    };
    await store.putStepRun(record);
    // Steps that run remotely read their upstream records from the artifact store: the reused ones must be there too.
    if (this.options.orchestrator?.capabilities.remote) await new ArtifactStoreRunStore(artifactStore).putStepRun(record);
    this.recordedHere.add(stepId);
    this.memo.outputs.set(stepId, artifacts);
    this.events.stepStatus(stepId, "cached", `from run ${fromRun}`);
    return true;
  }

  /** Items the map runtime looked up in the cache and did not find: run without looking again. */
  private readonly cacheMissed = new Set<string>();

  /** Map steps of this run: expanded and recorded here, their items run wherever the orchestrator runs steps. */
  readonly maps: MapRuntime = {
    expand: (stepId) => this.expandMap(stepId),
    finish: (stepId, summary) => this.finishMap(stepId, summary),
  };

  /** Where step records are: the client's store, falling back to the artifact store for steps that kept them there. */
  private recordsStore(): RunStore {
    const { store, artifactStore, orchestrator, clientStore } = this.options;
    if (!orchestrator || clientStore !== undefined) return store;
    const remote = new ArtifactStoreRunStore(artifactStore);
    return Object.assign(Object.create(store) as RunStore, {
      getStepRun: async (runId: string, stepId: string) =>
        (await store.getStepRun(runId, stepId)) ?? (await remote.getStepRun(runId, stepId).catch(() => undefined)),
      getArtifact: async (id: string) => (await store.getArtifact(id)) ?? (await remote.getArtifact(id).catch(() => undefined)),
    });
  }

  private async expandMap(stepId: string): Promise<{ items: number; done?: ReadonlyMap<number, StepOutcome> }> {
    const { snapshot, orchestrator, clientStore } = this.options;
    const spec = snapshot.steps.find((s) => s.id === stepId)!;
    this.recordedHere.add(stepId);
    const expanded = await expandMapStep({ ...this.stepOptions(stepId, this.signal), store: this.recordsStore() });
    if ("status" in expanded) throw new StepFailedError(stepId, expanded.error ?? "the map step could not be expanded");
    const { items } = expanded;
    // Items the retried run finished, or the cache answers for, are recorded now, so no process or container starts for them.
    const done = new Map<number, StepOutcome>();
    if (this.retried && !this.retried.rerun.has(stepId)) {
      for (let i = 0; i < items && !this.signal.aborted; i++) {
        if (await this.reuseStep(this.retried.runId, `${stepId}[${i}]`)) done.set(i, { stepId: `${stepId}[${i}]`, status: "cached" });
      }
    }
    if (spec.enable_cache && (!orchestrator || clientStore !== undefined)) {
      for (let i = 0; i < items && !this.signal.aborted; i++) {
        const id = `${stepId}[${i}]`;
        if (done.has(i)) continue;
        const outcome = await reuseCachedStep(this.stepOptions(id, this.signal));
        if (outcome) {
          this.recordedHere.add(id);
          done.set(i, outcome);
        } else this.cacheMissed.add(id);
      }
    }
    return { items, done };
  }

  private async finishMap(stepId: string, summary: MapSummary): Promise<StepOutcome> {
    const { store, orchestrator, clientStore, artifactStore } = this.options;
    if (orchestrator && clientStore === undefined) {
      // Items that ran elsewhere kept their records in the artifact store: the client's store gets them too, as static steps get theirs.
      const remote = new ArtifactStoreRunStore(artifactStore);
      for (let i = 0; i < summary.items; i++) {
        const id = `${stepId}[${i}]`;
        if (this.recordedHere.has(id)) continue;
        const record = await remote.getStepRun(this.runId, id).catch(() => undefined);
        if (!record) continue;
        for (const artifactId of Object.values(record.outputs)) {
          const artifact = await remote.getArtifact(artifactId).catch(() => undefined);
          if (artifact && !(await store.getArtifact(artifactId))) await store.putArtifact(artifact);
        }
        await store.putStepRun(record);
      }
    }
    const existing = await store.getStepRun(this.runId, stepId);
    const { status, error, ...counts } = summary;
    await store.putStepRun({
      ...(existing ?? { runId: this.runId, stepId, stepName: stepId, attempt: 1, outputs: {} }),
      status,
      error,
      metadata: { ...existing?.metadata, [MAP_METADATA_KEY]: counts },
      ended: new Date().toISOString(),
    });
    const detail =
      error ??
      `${summary.items} items: ${summary.completed} completed${summary.cached ? `, ${summary.cached} cached` : ""}${summary.failed.length ? `, ${summary.failed.length} failed (tolerated)` : ""}`;
    this.events.stepStatus(stepId, status, detail);
    return error === undefined ? { stepId, status } : { stepId, status, error };
  }

  /** Records, in one pass, the steps the cache answers for without running anything. */
  reuseCached(done: ReadonlySet<string> = new Set()): Promise<StepOutcome[]> {
    const { snapshot, store, artifactStore, pipeline } = this.options;
    return reuseCachedSteps({
      snapshot,
      runId: this.runId,
      store,
      artifactStore,
      pipeline,
      memo: this.memo,
      signal: this.signal,
      done,
      onCached: (stepId) => {
        this.recordedHere.add(stepId);
        this.events.stepStatus(stepId, "cached");
      },
    });
  }

  run(stepId: string, signal: AbortSignal = this.signal): Promise<StepOutcome> {
    this.recordedHere.add(stepId);
    const skipCache = this.cacheMissed.delete(stepId);
    return runStep({ ...this.stepOptions(stepId, signal), ...(skipCache ? { lookUpCache: false } : {}) });
  }

  private stepOptions(stepId: string, signal: AbortSignal): Parameters<typeof runStep>[0] {
    const { options, events } = this;
    return {
      snapshot: options.snapshot,
      stepId,
      runId: this.runId,
      store: options.store,
      artifactStore: options.artifactStore,
      pipeline: options.pipeline,
      signal,
      memo: this.memo,
      // This process's own store: a step that ends within a few milliseconds is recorded once, with its end.
      runningRecordAfterMs: RUNNING_RECORD_AFTER_MS,
      onLog: (line, stream) => events.stepLog(stepId, line, stream),
      onStatus: (status, detail) => events.stepStatus(stepId, status, detail),
      ...(options.sourceRoot === undefined ? {} : { sourceRoot: options.sourceRoot }),
      ...(options.importModule === undefined ? {} : { importModule: options.importModule }),
      ...(options.writeResultFile === undefined ? {} : { writeResultFile: options.writeResultFile }),
    };
  }

  /**
   * Once the run is over: every step whose record is not final (an
   * orchestrator that returned without recording it) is recorded `stopped`
   * when the run was stopped, else `failed` if it started or `skipped` if it
   * did not. No step is left `running` after its run ended, whatever the
   * orchestrator did. Returns one outcome per step.
   */
  async settleUnfinished(outcomes: readonly StepOutcome[], runStatus: RunStatus): Promise<StepOutcome[]> {
    const { snapshot, store } = this.options;
    const byId = new Map(outcomes.map((o) => [o.stepId, o]));
    const settled: StepOutcome[] = [];
    for (const step of snapshot.steps) {
      const outcome = byId.get(step.id);
      const record = await store.getStepRun(this.runId, step.id);
      if (record && isFinalStatus(record.status)) {
        settled.push(outcome ?? { stepId: step.id, status: record.status, error: record.error });
        continue;
      }
      const { status, error } = unfinishedStepStatus(runStatus, record !== undefined);
      await this.mark(step.id, status, outcome?.error ?? error);
      settled.push({ stepId: step.id, status, error: outcome?.error ?? error });
    }
    return settled;
  }

  /** Records a step that did not run to its end (skipped, stopped, failed outside its process). */
  async mark(stepId: string, status: RunStatus, error?: string): Promise<void> {
    const { snapshot, store } = this.options;
    this.recordedHere.add(stepId);
    const stepName = snapshot.steps.find((s) => s.id === stepId)?.name ?? stepId;
    const existing = await store.getStepRun(this.runId, stepId);
    await store.putStepRun({
      ...(existing ?? { runId: this.runId, stepId, stepName, attempt: 0, outputs: {} }),
      status,
      error,
      ended: new Date().toISOString(),
    });
    this.events.stepStatus(stepId, status, error);
  }
}

/** Without an orchestrator: the steps the cache did not answer for run here, as a DAG. */
async function runHere(options: DriveRunOptions, steps: StepRunner, cached: StepOutcome[], signal: AbortSignal): Promise<StepOutcome[]> {
  const { snapshot } = options;
  const done = new Set(cached.map((o) => o.stepId));
  const rest = done.size
    ? snapshot.steps.filter((s) => !done.has(s.id)).map((s) => ({ id: s.id, upstream: s.upstream.filter((id) => !done.has(id)), map: s.map }))
    : snapshot.steps;
  const ran = await executeDag({
    steps: rest,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    failFast: options.failFast ?? true,
    signal,
    runOne: (stepId) => steps.run(stepId),
    markSkipped: (stepId, reason, status) => steps.mark(stepId, status, reason),
    maps: steps.maps,
  });
  const byId = new Map([...cached, ...ran].map((o) => [o.stepId, o]));
  return snapshot.steps.map((s) => byId.get(s.id)!);
}

interface RunIdentity {
  runId: string;
  runName: string;
  snapshotUri: string;
  events: RunEvents;
  signal: AbortSignal;
}

/** Submits the run to `orchestrator`, waits for it and reads back the records of steps that ran elsewhere. */
async function submitToOrchestrator(
  options: DriveRunOptions,
  orchestrator: BaseOrchestrator<any>,
  steps: StepRunner,
  { runId, runName, snapshotUri, events, signal }: RunIdentity,
): Promise<StepOutcome[]> {
  const { snapshot, store, artifactStore } = options;
  const sourceRoot = options.sourceRoot ?? process.cwd();
  const recordsEnv = recordsEnvironment(options);
  const entrypoint = options.entrypoint ?? options.stack?.entrypoint ?? EntrypointConfiguration;
  const context: SubmitContext = {
    runId,
    runName,
    snapshotUri,
    stack: options.stack ?? { name: snapshot.stack.name, orchestrator, artifactStore, ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}) },
    sourceRoot,
    store,
    events,
    signal,
    runStepInProcess: (stepId, stepOptions) => steps.run(stepId, stepOptions?.signal ?? signal),
    stepCommand: (stepId, extra) => entrypoint.commandFor({ snapshot: snapshotUri, step: stepId, run: runId, ...(extra ? { extra } : {}) }),
    stepEnvironment: (stepId) => ({
      [STEP_ENV.sourceRoot]: sourceRoot,
      [STEP_ENV.runId]: runId,
      ...recordsEnv,
      ...options.stepEnvironment?.(stepId),
    }),
    markStep: (stepId, status, error) => steps.mark(stepId, status, error),
    maps: steps.maps,
    ...(options.deployment ? { deployment: options.deployment } : {}),
    ...(options.origin ? { origin: options.origin } : {}),
  };
  const handle = await orchestrator.submit(snapshot, context);
  if (handle.orchestratorRunId) await store.updateRun(runId, { orchestratorRunId: handle.orchestratorRunId });
  return readBackSteps(snapshot, runId, await handle.wait(), steps.recordedHere, store, artifactStore);
}

/** Where a step process keeps its records: the client's store when it can open it, else the artifact store. */
function recordsEnvironment(options: DriveRunOptions): Record<string, string> {
  if (options.clientStore !== undefined) return { [STEP_ENV.store]: options.clientStore };
  const description = stepArtifactStoreDescription(options.snapshot, options.artifactStore);
  return description ? { [STEP_ENV.artifactStore]: formatArtifactStoreDescription(description) } : {};
}

/**
 * The artifact store a step process of a run of `snapshot` loads when it
 * keeps its records there (`STEP_ENV.artifactStore`): `artifactStore` as
 * configured for this run, with its flavor's source path from the snapshot
 * (core's own for a {@link LocalArtifactStore}). Undefined when no source
 * path is known, so no other process can load it. The config is the
 * component's, secret fields included when it has them: a caller that puts
 * it where secrets must not go drops them first.
 */
export function stepArtifactStoreDescription(snapshot: PipelineSnapshot, artifactStore: BaseArtifactStore): ArtifactStoreDescription | undefined {
  const component = snapshot.stack.components.artifact_store;
  const flavorSource = component?.flavor_source ?? (artifactStore instanceof LocalArtifactStore ? "@stackyard/core#localArtifactStoreFlavor" : undefined);
  if (!flavorSource) return undefined;
  const { id, name, flavor, config } = artifactStore;
  return { id, name, flavor, flavor_source: flavorSource, config: config as Record<string, unknown> };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failedStepsMessage(outcomes: readonly StepOutcome[]): string | undefined {
  const failed = outcomes.filter((o) => o.status === "failed");
  return failed.length ? failed.map((o) => `step '${o.stepId}' failed: ${o.error ?? "unknown error"}`).join("; ") : undefined;
}

const SUCCESS = new Set<RunStatus>(["completed", "cached"]);

/**
 * Copies into `store` the records of steps that ran in other processes
 * (`stackyard step run` with `STEP_ENV.artifactStore`): they kept their step
 * runs and artifacts as JSON in the artifact store. A step with no record
 * anywhere gets one from its outcome. Returns the outcomes with the recorded
 * final statuses (a step process knows that it was `cached`; its orchestrator
 * only sees it succeed).
 */
async function readBackSteps(
  snapshot: PipelineSnapshot,
  runId: string,
  outcomes: readonly StepOutcome[],
  recordedHere: ReadonlySet<string>,
  store: RunStore,
  artifactStore: BaseArtifactStore,
): Promise<StepOutcome[]> {
  if (outcomes.every((o) => recordedHere.has(o.stepId))) return [...outcomes];
  const remote = new ArtifactStoreRunStore(artifactStore);
  const reconciled: StepOutcome[] = [];
  for (const outcome of outcomes) {
    if (recordedHere.has(outcome.stepId)) {
      reconciled.push(outcome);
      continue;
    }
    let record = await store.getStepRun(runId, outcome.stepId);
    if (!record || !isFinalStatus(record.status)) {
      record = await remote.getStepRun(runId, outcome.stepId).catch(() => undefined);
      if (record) {
        for (const id of Object.values(record.outputs)) {
          const artifact = (await store.getArtifact(id)) ?? (await remote.getArtifact(id).catch(() => undefined));
          if (artifact) await store.putArtifact(artifact);
        }
        await store.putStepRun(record);
      } else {
        const stepName = snapshot.steps.find((s) => s.id === outcome.stepId)?.name ?? outcome.stepId;
        await store.putStepRun({
          runId,
          stepId: outcome.stepId,
          stepName,
          status: outcome.status,
          attempt: 0,
          outputs: {},
          error: outcome.error,
          ended: new Date().toISOString(),
        });
      }
    }
    // Success or failure is the orchestrator's word; which kind of success (cached) is the record's.
    const refined = record && isFinalStatus(record.status) && SUCCESS.has(record.status) && SUCCESS.has(outcome.status);
    reconciled.push(refined ? { stepId: outcome.stepId, status: record!.status } : outcome);
  }
  return reconciled;
}
