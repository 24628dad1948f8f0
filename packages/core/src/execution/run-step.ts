import { randomUUID } from "node:crypto";
import { getMaxListeners, setMaxListeners } from "node:events";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { format } from "node:util";
import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { StepArtifactStore } from "../artifact-store/step-artifact-store.js";
import type { StepAttempt } from "../entrypoint/entrypoint-configuration.js";
import { ConfigError, NotFoundError, PipelineDefinitionError } from "../errors/errors.js";
import { createArtifactWriter } from "../materializers/artifact-io.js";
import type { Materializer } from "../materializers/materializer.js";
import { type MaterializerImporter, resolveMaterializer } from "../materializers/registry.js";
import type { StepOutcome } from "../orchestrator/base-orchestrator.js";
import { invocationsOf } from "../pipeline/compile.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { PipelineSnapshot, SnapshotStep } from "../pipeline/snapshot.js";
import type { MetadataDestination, StepContext, StepHook, StepHookContext, StepHookRef } from "../pipeline/step.js";
import { parseSourcePath } from "../source/source-path.js";
import { checkMetadata, mergeMetadata } from "../store/metadata.js";
import {
  type ArtifactRecord,
  type MetadataRecord,
  type RunStatus,
  type RunStore,
  type StepRunRecord,
  VISUALIZATION_EXTENSIONS,
  VISUALIZATION_TYPES,
  type VisualizationRecord,
} from "../store/run-store.js";
import { stepCacheKey } from "./cache-key.js";
import { parseItemId } from "./map-items.js";
import {
  cacheKeyInputs,
  consumedArtifactIds,
  inputUris,
  loadStepInputs,
  materializerOptions,
  type ResolvedInput,
  type RunMemo,
  resolveStepInputs,
} from "./step-inputs.js";

export { createRunMemo, type RunMemo } from "./step-inputs.js";

import { flushSink, installLogCapture, runCaptured, type StepLogSink, writeToSink } from "./log-capture.js";

/** Options of {@link runStep}. */
export interface RunStepOptions {
  /**
   * Also write `runs/<run>/<step>/step.json` (the record with its artifacts)
   * to the artifact store, for a client that cannot see `store` (remote
   * steps). Default true; a step recording into the client's own store skips it.
   */
  writeResultFile?: boolean;
  snapshot: PipelineSnapshot;
  /** Invocation id of the step to run. */
  stepId: string;
  runId: string;
  store: RunStore;
  artifactStore: BaseArtifactStore;
  /** The pipeline the snapshot was compiled from (see `loadPipelineSource`). */
  pipeline: Pipeline<any>;
  /** Aborts the step: it is passed to the step function, and a step stopped this way is recorded `stopped`. */
  signal?: AbortSignal;
  /** Each line the step prints, as it prints it. Without it, output only goes to the step's log file. */
  onLog?: (line: string, stream: "stdout" | "stderr") => void;
  /** Each status the step goes through (running, retrying, then a final one). */
  onStatus?: (status: RunStatus, detail?: string) => void;
  /** Folder that materializer source paths are relative to (default: the current folder). */
  sourceRoot?: string;
  /** Loads custom materializer modules (the CLI passes its TypeScript-aware loader). */
  importModule?: MaterializerImporter;
  /**
   * What the steps of this run that ran in this process already know (see
   * {@link createRunMemo}): a step takes its inputs from here instead of
   * reading them back from the store. Pass the same memo to every step of a run.
   */
  memo?: RunMemo;
  /**
   * Run only one attempt of the step, for an orchestrator that retries a
   * failed step itself, each attempt in a new process (the Step Functions
   * orchestrator retries the step's ECS task): a number is that attempt (1 is
   * the first); `"next"` is the attempt after the one this step's record of
   * this run in `store` shows, or 1 when it has none (how a step container
   * learns its attempt from the attempts before it).
   *
   * The attempt runs once, without waiting `retry.delay` first (the
   * orchestrator waits). When it fails and the step's retry policy allows
   * another attempt (this one is at most `retry.max_retries`), the step is
   * recorded `retrying` with this attempt number and its error, no
   * `step.json` is written (the step is not over), and the outcome is
   * `retrying`: the orchestrator must run the next attempt. A failure of the
   * last allowed attempt is recorded and resolves `failed`, as without this
   * option. An attempt after the first keeps the step's `started` time and
   * adds to its log, so the record reads as one step run retried, as it does
   * when this process retries. An attempt beyond the policy (an execution
   * run again) still runs, and its failure is final.
   *
   * Without it (the default), runStep runs every attempt itself: up to
   * `retry.max_retries + 1`, sleeping `delay * backoff^(n-1)` seconds after
   * attempt n fails.
   *
   * @throws ConfigError (from {@link runStep}) for a number that is not a whole number from 1.
   */
  attempt?: StepAttempt;
  /** False: run the step without looking up the cache first (its caller just did). Default true. */
  lookUpCache?: boolean;
  /**
   * Write the step's record under way (`running`) only once the step has
   * run this many milliseconds, instead of before it starts: a step that ends
   * sooner is recorded once, with its end (one store write instead of two).
   * For the store of the process that drives the run, which others only read
   * (a glance at a step of a few milliseconds sees it not started, then over).
   * A step process whose record a client copies as soon as it reports
   * `running` must not pass it. Default: at once.
   */
  runningRecordAfterMs?: number;
}

/** What a step process writes to `runs/<run>/<step>/step.json` in the artifact store. */
export interface StepResultFile {
  step: StepRunRecord;
  artifacts: ArtifactRecord[];
}

const neverAborted: AbortSignal = new AbortController().signal;

/** One run's signal is shared by every step running at once: many listeners are expected. */
function allowManyListeners(signal: AbortSignal): void {
  let max: number;
  try {
    max = getMaxListeners(signal);
  } catch {
    return; // Node 20 throws for a signal whose limit was lifted (set to 0)
  }
  if (max !== 0 && max < 1000) setMaxListeners(1000, signal);
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as
 * `signal` aborts, whatever `work` does later. A step function that ignores
 * its signal cannot be killed in-process; it is abandoned, so the run can
 * record it stopped and its process can exit. Flavors use it the same way for
 * calls that take no signal of their own.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  allowManyListeners(signal);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

const stepsBySnapshot = new WeakMap<PipelineSnapshot, Map<string, SnapshotStep>>();

/**
 * The snapshot step a step id stands for and, for an item of a map step
 * (`score[3]`), the item's index.
 *
 * @throws NotFoundError when the snapshot has no such step, or the step is a map step run without an item (or the reverse).
 */
export function snapshotStep(snapshot: PipelineSnapshot, stepId: string): { spec: SnapshotStep; item?: number } {
  let steps = stepsBySnapshot.get(snapshot);
  if (!steps) stepsBySnapshot.set(snapshot, (steps = new Map(snapshot.steps.map((s) => [s.id, s]))));
  const item = steps.has(stepId) ? undefined : parseItemId(stepId);
  const found = steps.get(item ? item.mapStepId : stepId);
  if (!found) {
    throw new NotFoundError(
      `Step '${stepId}' is not part of snapshot ${snapshot.id} of pipeline '${snapshot.pipeline.name}' (steps: ${[...steps.keys()].join(", ")})`,
    );
  }
  if (found.map && !item) {
    throw new NotFoundError(`Step '${stepId}' is a map step of snapshot ${snapshot.id}: run its items ('${stepId}[0]', '${stepId}[1]', ...)`);
  }
  if (item && !found.map) throw new NotFoundError(`Step '${found.id}' of snapshot ${snapshot.id} is not a map step: it has no item ${item.index}`);
  return item ? { spec: found, item: item.index } : { spec: found };
}

const errorText = (error: unknown): string => (error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error));

/**
 * Runs one step of a snapshot in this process: reuses a cached result when
 * allowed, otherwise loads its inputs through materializers, runs it with
 * retries, captures its output into `runs/<run>/<step>/logs.txt`, saves its
 * outputs under `runs/<run>/<step>/<output>/`, and records artifacts and the
 * step run in the store and in `runs/<run>/<step>/step.json`.
 *
 * Never throws for a failing step: it records it and resolves `failed` (or
 * `retrying` when it runs one attempt of several, see {@link RunStepOptions.attempt}).
 * Finished artifacts are never deleted.
 *
 * @throws ConfigError for a bad {@link RunStepOptions.attempt}.
 * @throws NotFoundError when the snapshot has no such step.
 * @throws PipelineDefinitionError when the pipeline does not define it (the code changed).
 */
export async function runStep(options: RunStepOptions): Promise<StepOutcome> {
  const { snapshot, stepId, runId, store, artifactStore, signal } = options;
  const { spec, item } = snapshotStep(snapshot, stepId);
  const invocation = invocationsOf(options.pipeline, snapshot.pipeline.parameters).get(spec.id);
  if (!invocation || invocation.definition.name !== spec.name) {
    throw new PipelineDefinitionError(
      `Pipeline '${options.pipeline.name}' as loaded has no step invocation '${spec.id}' of step '${spec.name}': its code changed since snapshot ${snapshot.id} was compiled`,
      { hint: "Run the pipeline again to compile a new snapshot." },
    );
  }
  const definition = invocation.definition;
  const base = `runs/${runId}/${stepId}`;
  // One attempt of several, the orchestrator retrying: which one, and what the attempts before it left.
  const single = options.attempt === undefined ? undefined : await earlierAttempts(options.attempt, options, base);
  const record: StepRunRecord = {
    runId,
    stepId,
    stepName: spec.name,
    status: "running",
    attempt: single?.attempt ?? 1,
    outputs: {},
    started: single?.started ?? new Date().toISOString(),
  };
  const artifacts: ArtifactRecord[] = [];
  const produced: Record<string, ArtifactRecord> = {};
  const logged = new LoggedMetadata(stepId, spec);
  const sink: StepLogSink = { chunks: [], onLine: options.onLog, partial: { stdout: "", stderr: "" } };

  // While the step runs its log is written out now and then, so that `runs logs` and the dashboard can follow it.
  const liveLog = new LiveLog(artifactStore, `${base}/logs.txt`, () => (single?.log ?? "") + sink.chunks.join(""));

  // The record under way, written at once or a moment after the step starts (see runningRecordAfterMs).
  const running = new RunningRecord(store, record, options.runningRecordAfterMs);

  let hookOutputs: Record<string, unknown> | undefined;
  const finish = async (status: RunStatus, error?: string): Promise<StepOutcome> => {
    await running.settle();
    await liveLog.stop();
    const final = !(status === "failed" && single !== undefined && record.attempt <= spec.retry.max_retries);
    if (final && (status === "completed" || status === "failed")) {
      const hook =
        status === "completed" ? (definition.onSuccess ?? options.pipeline.options.onSuccess) : (definition.onFailure ?? options.pipeline.options.onFailure);
      if (hook) await runHook(hook, status, error, hookOutputs);
    }
    flushSink(sink);
    // One attempt of several that failed with attempts left: the orchestrator runs the next one.
    const retried = status === "failed" && single !== undefined && record.attempt <= spec.retry.max_retries;
    if (retried) status = "retrying";
    record.status = status;
    record.error = error;
    if (!retried) record.ended = new Date().toISOString();
    logged.applyTo(record, artifacts);
    const log = (single?.log ?? "") + sink.chunks.join("");
    record.logUri = undefined;
    if (log) {
      try {
        await artifactStore.writeFile(`${base}/logs.txt`, log);
        record.logUri = artifactStore.uri(`${base}/logs.txt`);
      } catch {
        // Losing the log must not lose the step's result.
      }
    }
    // The artifacts saved so far are recorded with the step's record, also when it failed.
    await recordStepResult(store, record, artifacts);
    if ((options.writeResultFile ?? true) && !retried) {
      const file: StepResultFile = { step: record, artifacts };
      await artifactStore.writeFile(`${base}/step.json`, JSON.stringify(file, null, 2));
    }
    options.onStatus?.(status, retried ? `attempt ${record.attempt} failed (${error}); its orchestrator runs attempt ${record.attempt + 1}` : error);
    return error === undefined ? { stepId, status } : { stepId, status, error };
  };

  const runHook = async (ref: StepHookRef, status: "completed" | "failed", error: string | undefined, outputs: Record<string, unknown> | undefined) => {
    const name = status === "completed" ? "onSuccess" : "onFailure";
    try {
      const hook = typeof ref === "string" ? await importHook(ref, options) : ref;
      const context: StepHookContext = {
        runId,
        stepId,
        stepName: spec.name,
        status,
        attempt: record.attempt,
        ...(error !== undefined ? { error } : {}),
        ...(outputs ? { outputs } : {}),
        log: (...args: unknown[]) => writeToSink(sink, `${format(...args)}\n`, "stdout"),
      };
      installLogCapture();
      await untilAborted(Promise.resolve(runCaptured(sink, () => hook(context))), signal);
    } catch (failure) {
      // A hook reports, in the log and on the step's record; it never changes what happened to the step.
      record.metadata = { ...record.metadata, "stackyard.hook_error": { hook: name, error: errorText(failure) } };
      writeToSink(
        sink,
        `Step '${stepId}': its ${name} hook failed: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}\n`,
        "stderr",
      );
    }
  };

  if (signal?.aborted) return finish("stopped", "the run was stopped before the step started");

  // Inputs and the cache key.
  let inputs: Record<string, ResolvedInput>;
  try {
    inputs = await resolveStepInputs(spec, stepId, item, options);
  } catch (error) {
    return finish("failed", errorText(error));
  }
  record.cacheKey = stepCacheKey(spec, cacheKeyInputs(inputs));
  if (Object.keys(inputs).length) record.inputs = consumedArtifactIds(inputs);

  if (spec.enable_cache && options.lookUpCache !== false && (await reuseIfCached(record, options))) return { stepId, status: "cached" };

  liveLog.start();
  record.logUri = liveLog.uri;
  await running.write();
  options.onStatus?.("running", record.attempt > 1 ? `attempt ${record.attempt}` : undefined);
  installLogCapture();

  // The step's own view of the store: its folder to write, its run and inputs to read.
  const stepStore = new StepArtifactStore(artifactStore, { runId, stepId, inputs: inputUris(inputs) });
  let result: unknown;
  for (let attempt = record.attempt; ; attempt++) {
    record.attempt = attempt;
    try {
      const values = await loadStepInputs(inputs, stepId, options);
      const context: StepContext<Record<string, unknown>> = {
        parameters: spec.parameters,
        runId,
        stepId,
        stepName: spec.name,
        attempt,
        log: (...args: unknown[]) => writeToSink(sink, `${format(...args)}\n`, "stdout"),
        artifactStore: stepStore,
        signal: signal ?? neverAborted,
        logMetadata: (values, target) => logged.log(values, target),
      };
      result = await untilAborted(Promise.resolve(runCaptured(sink, () => definition.fn(values, context))), signal);
      break;
    } catch (error) {
      writeToSink(sink, `Step '${stepId}' attempt ${attempt} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`, "stderr");
      if (signal?.aborted) return finish("stopped", `stopped during attempt ${attempt}`);
      if (single !== undefined || attempt > spec.retry.max_retries) {
        // (With attempts left, finish records a single attempt `retrying`.)
        return finish("failed", `${errorText(error)}${attempt > 1 && attempt > spec.retry.max_retries ? ` (after ${attempt} attempts)` : ""}`);
      }
      const delay = spec.retry.delay * spec.retry.backoff ** (attempt - 1);
      await running.settle();
      record.status = "retrying";
      record.error = errorText(error);
      await store.putStepRun(record);
      options.onStatus?.("retrying", `attempt ${attempt} failed (${record.error}); retrying in ${delay}s`);
      try {
        await sleep(delay * 1000, undefined, signal ? { signal } : undefined);
      } catch {
        return finish("stopped", `stopped while waiting to retry after attempt ${attempt}`);
      }
      record.status = "running";
      record.error = undefined;
      await store.putStepRun(record);
      options.onStatus?.("running", `attempt ${attempt + 1}`);
    }
  }

  // Outputs.
  let values: Record<string, unknown>;
  if (definition.singleOutput) {
    values = { output: result };
  } else {
    if (typeof result !== "object" || result === null || Array.isArray(result)) {
      return finish(
        "failed",
        `Step '${stepId}' must return an object with its outputs (${Object.keys(spec.outputs).join(", ")}), got ${Array.isArray(result) ? "an array" : result === null ? "null" : typeof result}`,
      );
    }
    values = result as Record<string, unknown>;
    const extra = Object.keys(values).filter((key) => !(key in spec.outputs));
    if (extra.length) {
      return finish("failed", `Step '${stepId}' returned output '${extra[0]}', which it does not declare (outputs: ${Object.keys(spec.outputs).join(", ")})`);
    }
  }
  for (const [name, { materializer: ref, name: artifactName }] of Object.entries(spec.outputs)) {
    if (!(name in values)) return finish("failed", `Step '${stepId}' did not return its output '${name}'`);
    const path = `${base}/${name}`;
    try {
      const materializer = await resolveMaterializer(ref, materializerOptions(options));
      const writer = createArtifactWriter(artifactStore, path);
      const saved = await materializer.save(values[name], writer);
      const artifact: ArtifactRecord = {
        id: randomUUID(),
        runId,
        stepId,
        output: name,
        uri: writer.uri,
        materializer: ref,
        dataType: saved?.dataType || materializer.name,
        size: writer.size,
        sha256: writer.digest(),
        created: new Date().toISOString(),
        name: artifactName ?? defaultArtifactName(snapshot.pipeline.name, spec.id, name),
      };
      if (materializer.visualize) {
        const visualizations = await saveVisualizations(materializer, values[name], artifactStore, base, name, writer.uri, (line) =>
          writeToSink(sink, `${line}\n`, "stderr"),
        );
        if (visualizations.length) artifact.visualizations = visualizations;
      }
      artifacts.push(artifact);
      record.outputs[name] = artifact.id;
      produced[name] = artifact;
    } catch (error) {
      return finish("failed", `Output '${name}' of step '${stepId}' could not be saved with materializer '${ref}': ${errorText(error)}`);
    }
  }
  hookOutputs = values;
  const outcome = await finish("completed");
  options.memo?.outputs.set(stepId, produced);
  return outcome;
}

/**
 * A step's record under way: written at once, or after a delay unless the
 * step ends first ({@link RunStepOptions.runningRecordAfterMs}). A delayed
 * write's failure surfaces when the step settles it, as an immediate one
 * would have failed the step.
 */
class RunningRecord {
  private timer: NodeJS.Timeout | undefined;
  private written: Promise<void> | undefined;

  constructor(
    private readonly store: RunStore,
    private readonly record: StepRunRecord,
    private readonly afterMs: number | undefined,
  ) {}

  async write(): Promise<void> {
    if (!this.afterMs) return this.store.putStepRun(this.record);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.written = this.store.putStepRun({ ...this.record, outputs: { ...this.record.outputs } });
      this.written.catch(() => {}); // surfaced by settle()
    }, this.afterMs);
  }

  /** Cancels a write not yet made and waits for one under way: what the step records next comes after it. */
  async settle(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const written = this.written;
    this.written = undefined;
    await written;
  }
}

/** The name an output's versions go under when its step names none: `<pipeline>.<step>.<output>`. */
export function defaultArtifactName(pipeline: string, stepId: string, output: string): string {
  return `${pipeline}.${stepId}.${output}`;
}

/**
 * Stores the views a materializer makes of a value under
 * `runs/<run>/<step>/.visualizations/<output>/` (a folder no output can be
 * called), or points at a file of the artifact itself. A materializer that
 * fails here costs the views, never the step: the failure goes to the log.
 */
async function saveVisualizations(
  materializer: Materializer,
  value: unknown,
  artifactStore: BaseArtifactStore,
  base: string,
  output: string,
  artifactUri: string,
  warn: (line: string) => void,
): Promise<VisualizationRecord[]> {
  const records: VisualizationRecord[] = [];
  try {
    const views = (await materializer.visualize!(value)) ?? [];
    for (const [index, view] of views.entries()) {
      if (!(VISUALIZATION_TYPES as readonly string[]).includes(view.type))
        throw new Error(`unknown visualization type '${String(view.type)}' (use ${VISUALIZATION_TYPES.join(", ")})`);
      let uri: string;
      if (view.file !== undefined) {
        if (!OUTPUT_FILE.test(view.file)) throw new Error(`visualization file '${view.file}' must be a file name of the artifact`);
        uri = `${artifactUri}/${view.file}`;
      } else if (view.content !== undefined) {
        const path = `${base}/.visualizations/${output}/${index}.${VISUALIZATION_EXTENSIONS[view.type]}`;
        await artifactStore.writeFile(path, typeof view.content === "string" ? view.content : Buffer.from(view.content));
        uri = artifactStore.uri(path);
      } else {
        throw new Error("a visualization needs content or a file");
      }
      records.push({ type: view.type, uri, ...(view.title ? { title: view.title } : {}) });
    }
  } catch (error) {
    warn(`Output '${output}': materializer '${materializer.name}' could not make its visualizations (the output is saved): ${errorText(error)}`);
    return [];
  }
  return records;
}

/** A file name inside an artifact's folder. */
const OUTPUT_FILE = /^[\w][\w.-]{0,254}$/;

/** Imports a hook named by source path, relative to the source root like the pipeline's own modules. */
async function importHook(ref: string, options: RunStepOptions): Promise<StepHook> {
  const source = parseSourcePath(ref);
  const sourceRoot = resolve(options.sourceRoot ?? process.cwd());
  const specifier = source.isFile ? pathToFileURL(resolve(sourceRoot, source.module)).href : source.module;
  const mod = options.importModule ? await options.importModule(specifier) : ((await import(specifier)) as Record<string, unknown>);
  const hook = mod[source.exportName];
  if (typeof hook !== "function") throw new Error(`hook ${ref} is not a function (found ${hook === undefined ? "no such export" : typeof hook})`);
  return hook as StepHook;
}

/** What a step logged with `ctx.logMetadata`, until its record is written. */
class LoggedMetadata {
  private step: MetadataRecord | undefined;
  private run: MetadataRecord | undefined;
  private readonly outputs = new Map<string, MetadataRecord>();

  constructor(
    private readonly stepId: string,
    private readonly spec: SnapshotStep,
  ) {}

  log(values: Record<string, unknown>, target: MetadataDestination = { step: true }): void {
    if ("output" in target) {
      if (!(target.output in this.spec.outputs)) {
        throw new ConfigError(
          `Step '${this.stepId}' logged metadata for output '${target.output}', which it does not declare (outputs: ${Object.keys(this.spec.outputs).join(", ")})`,
        );
      }
      const checked = checkMetadata(values, `output '${target.output}' of step '${this.stepId}'`);
      this.outputs.set(target.output, { ...this.outputs.get(target.output), ...checked });
    } else if ("run" in target && target.run) {
      this.run = { ...this.run, ...checkMetadata(values, `the run (from step '${this.stepId}')`) };
    } else {
      this.step = { ...this.step, ...checkMetadata(values, `step '${this.stepId}'`) };
    }
  }

  /** Puts what was logged on the step's record and on the versions it saved. */
  applyTo(record: StepRunRecord, artifacts: ArtifactRecord[]): void {
    if (this.step) record.metadata = mergeMetadata(record.metadata, this.step);
    if (this.run) record.runMetadata = this.run;
    for (const artifact of artifacts) {
      const values = this.outputs.get(artifact.output);
      if (values) artifact.metadata = mergeMetadata(artifact.metadata, values);
    }
  }
}

/** A step's artifacts and record: one transaction where the store offers it. */
export async function recordStepResult(store: RunStore, record: StepRunRecord, artifacts: readonly ArtifactRecord[]): Promise<void> {
  if (store.putStepResult) return store.putStepResult(record, artifacts);
  for (const artifact of artifacts) await store.putArtifact(artifact);
  await store.putStepRun(record);
}

/** The attempt a single-attempt step process runs, with the start time and log of the step's earlier attempts. */
async function earlierAttempts(
  wanted: StepAttempt,
  options: RunStepOptions,
  base: string,
): Promise<{ attempt: number; started?: string | undefined; log: string }> {
  if (wanted !== "next" && !(Number.isSafeInteger(wanted) && wanted >= 1)) {
    throw new ConfigError(`Step '${options.stepId}': attempt must be a whole number from 1 or 'next', got ${String(wanted)}`);
  }
  if (wanted === 1) return { attempt: 1, log: "" };
  const previous = await options.store.getStepRun(options.runId, options.stepId);
  const attempt = wanted === "next" ? (previous?.attempt ?? 0) + 1 : wanted;
  if (attempt === 1) return { attempt, log: "" };
  let log = "";
  try {
    if (await options.artifactStore.exists(`${base}/logs.txt`)) log = (await options.artifactStore.readFile(`${base}/logs.txt`)).toString("utf8");
  } catch {
    // An earlier attempt's log that cannot be read is left out, not a reason to fail this attempt.
  }
  return { attempt, started: previous?.started, log };
}

/**
 * Records `record` (its cache key and inputs set) as `cached` when a
 * completed step run with its key still has its artifacts; true when it did.
 * A cached step only records itself: no folder, no step.json, no log.
 */
async function reuseIfCached(record: StepRunRecord, options: RunStepOptions): Promise<boolean> {
  const hit = await findReusable(record.cacheKey!, options.store, options.artifactStore);
  if (!hit) return false;
  record.outputs = hit.record.outputs;
  record.cachedFrom = hit.record.cachedFrom ?? { runId: hit.record.runId, stepId: hit.record.stepId };
  // What the step logged describes the outputs this run reuses: the run gets it too.
  if (hit.record.metadata) record.metadata = hit.record.metadata;
  if (hit.record.runMetadata) record.runMetadata = hit.record.runMetadata;
  record.status = "cached";
  record.ended = new Date().toISOString();
  await options.store.putStepRun(record);
  options.memo?.outputs.set(record.stepId, hit.artifacts);
  options.onStatus?.("cached");
  return true;
}

/**
 * Records one step (or map item) `cached` when the cache answers for it,
 * without running anything; resolves undefined when it does not (its inputs
 * cannot be resolved, caching is off, or no reusable run matches). What a
 * run does for the items of a map before handing the others to its orchestrator.
 */
export async function reuseCachedStep(options: RunStepOptions): Promise<StepOutcome | undefined> {
  const { spec, item } = snapshotStep(options.snapshot, options.stepId);
  if (!spec.enable_cache) return undefined;
  let inputs: Record<string, ResolvedInput>;
  try {
    inputs = await resolveStepInputs(spec, options.stepId, item, options);
  } catch {
    return undefined; // the step reports it when it runs
  }
  const now = new Date().toISOString();
  const record: StepRunRecord = {
    runId: options.runId,
    stepId: options.stepId,
    stepName: spec.name,
    status: "running",
    attempt: 1,
    outputs: {},
    started: now,
    cacheKey: stepCacheKey(spec, cacheKeyInputs(inputs)),
    ...(Object.keys(inputs).length ? { inputs: consumedArtifactIds(inputs) } : {}),
  };
  return (await reuseIfCached(record, options)) ? { stepId: options.stepId, status: "cached" } : undefined;
}

/** A completed step run with this cache key whose artifacts all still exist, with those artifacts by output name. */
async function findReusable(
  cacheKey: string,
  store: RunStore,
  artifactStore: BaseArtifactStore,
): Promise<{ record: StepRunRecord; artifacts: Record<string, ArtifactRecord> } | undefined> {
  const record = await store.findCachedStep(cacheKey);
  const artifacts = record && (await outputsStillExist(record, store, artifactStore));
  return record && artifacts ? { record, artifacts } : undefined;
}

/** Options of {@link reuseCachedSteps}. */
export interface ReuseCachedStepsOptions {
  snapshot: PipelineSnapshot;
  runId: string;
  store: RunStore;
  artifactStore: BaseArtifactStore;
  pipeline: Pipeline<any>;
  /** The run's memo: receives the outputs of the steps found cached. */
  memo: RunMemo;
  signal?: AbortSignal;
  /** Called for each step found cached. */
  onCached?: (stepId: string) => void;
  /** Steps already recorded for this run (reused from the run it retries): counted as cached, not looked up. */
  done?: ReadonlySet<string>;
}

/**
 * Records, in one pass before anything runs, every step that a run can take
 * from the cache without running anything first: in topological order, a
 * cacheable step whose upstream steps were all found cached, whose key (from
 * their artifacts) matches a completed step run with its artifacts still
 * there. An unchanged rerun is then a cache lookup and one record per step.
 * Returns their outcomes (`cached`); the other steps are left to
 * {@link runStep}, which looks up the cache again once their inputs exist.
 */
export async function reuseCachedSteps(options: ReuseCachedStepsOptions): Promise<StepOutcome[]> {
  const { snapshot, runId, store, artifactStore, memo, signal } = options;
  const invocations = invocationsOf(options.pipeline, snapshot.pipeline.parameters);
  const cached = new Set<string>();
  const outcomes: StepOutcome[] = [];
  for (const spec of snapshot.steps) {
    if (signal?.aborted) break;
    if (options.done?.has(spec.id)) {
      cached.add(spec.id);
      continue;
    }
    // Map steps and their collectors need the map's items: runStep looks them up.
    if (!spec.enable_cache || spec.map || Object.values(spec.inputs).some((w) => w.collect) || !spec.upstream.every((id) => cached.has(id))) continue;
    if (invocations.get(spec.id)?.definition.name !== spec.name) continue; // runStep reports it
    const inputs: Record<string, ArtifactRecord> = {};
    for (const [key, external] of Object.entries(spec.external ?? {})) if (external.artifact) inputs[key] = external.artifact;
    for (const [key, wiring] of Object.entries(spec.inputs)) inputs[key] = memo.outputs.get(wiring.step)![wiring.output]!;
    if (Object.keys(inputs).length < Object.keys(spec.inputs).length + Object.keys(spec.external ?? {}).length) continue; // runStep reports it
    const cacheKey = stepCacheKey(spec, inputs);
    const hit = await findReusable(cacheKey, store, artifactStore);
    if (!hit) continue;
    const now = new Date().toISOString();
    await store.putStepRun({
      runId,
      stepId: spec.id,
      stepName: spec.name,
      status: "cached",
      attempt: 1,
      cacheKey,
      cachedFrom: hit.record.cachedFrom ?? { runId: hit.record.runId, stepId: hit.record.stepId },
      outputs: hit.record.outputs,
      ...(Object.keys(inputs).length ? { inputs: Object.fromEntries(Object.entries(inputs).map(([key, artifact]) => [key, artifact.id])) } : {}),
      ...(hit.record.metadata ? { metadata: hit.record.metadata } : {}),
      ...(hit.record.runMetadata ? { runMetadata: hit.record.runMetadata } : {}),
      started: now,
      ended: now,
    });
    memo.outputs.set(spec.id, hit.artifacts);
    cached.add(spec.id);
    options.onCached?.(spec.id);
    outcomes.push({ stepId: spec.id, status: "cached" });
  }
  return outcomes;
}

/** The artifacts of a cached step run by output name, or undefined when any of them is gone. */
async function outputsStillExist(step: StepRunRecord, store: RunStore, artifactStore: BaseArtifactStore): Promise<Record<string, ArtifactRecord> | undefined> {
  const found: Record<string, ArtifactRecord> = {};
  for (const [name, id] of Object.entries(step.outputs)) {
    const artifact = await store.getArtifact(id);
    if (!artifact) return undefined;
    try {
      if (!(await artifactStore.exists(artifact.uri))) return undefined;
    } catch {
      return undefined; // kept in another artifact store
    }
    found[name] = artifact;
  }
  return found;
}

/** How often a running step's log is written out: often to a local folder, seldom to an object store (each write is a request). */
const LIVE_LOG_MS = { file: 1_000, other: 10_000 } as const;

/**
 * Writes a running step's log to the artifact store now and then (only when
 * it grew), each write the whole log so far, one at a time; `stop` waits for
 * the write under way. The step's final log is written when it ends, as before.
 */
class LiveLog {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private written = 0;
  readonly uri: string;

  constructor(
    private readonly artifactStore: BaseArtifactStore,
    private readonly path: string,
    private readonly text: () => string,
  ) {
    this.uri = artifactStore.uri(path);
  }

  start(): void {
    if (this.timer) return;
    const every = this.artifactStore.scheme === "file" ? LIVE_LOG_MS.file : LIVE_LOG_MS.other;
    this.timer = setInterval(() => {
      const text = this.text();
      if (text.length === this.written) return;
      this.written = text.length;
      // A log that cannot be written now is written when the step ends.
      this.writing = this.writing.then(() => this.artifactStore.writeFile(this.path, text)).catch(() => {});
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
  }
}
