import {
  allowedFailures,
  type BaseArtifactStore,
  copyStepFile,
  isFinalStatus,
  MAP_METADATA_KEY,
  MapProgressReader,
  type MapSpec,
  type MapSummary,
  type RunStatus,
  type RunStore,
  readLiveRecord,
  readStepState,
  type StepOutcome,
  type StepRunRecord,
} from "@stackyard/core";
import { parseStepFailure, type StepFailure } from "../compiler/index.js";
import type { ExecutionDescription } from "./execution-backend.js";
import { remoteRunStatus } from "./remote-runs.js";

/** Run status of a described execution (see {@link remoteRunStatus}). */
export function runStatusOf(description: ExecutionDescription): RunStatus {
  return remoteRunStatus(description.status);
}

/** What {@link collectOutcomes} needs. */
export interface CollectOptions {
  runId: string;
  stepIds: readonly string[];
  artifactStore: BaseArtifactStore;
  /** Where step records and artifacts are copied to (the client's store). */
  store?: RunStore | undefined;
  execution: ExecutionDescription;
  /** Step id to Task state name. */
  stateNames?: Readonly<Record<string, string>> | undefined;
  /** Steps whose records were already copied, with their status (skips re-reading them). */
  known?: Map<string, StepOutcome>;
  /** The map steps among `stepIds`, with their specs: settled from their items' records. */
  maps?: ReadonlyMap<string, MapSpec> | undefined;
  /**
   * What a caller that follows the run has read of its maps' records so far
   * (only new and changed records are read again); a new one, starting from
   * what `store` holds, without it.
   */
  progress?: MapProgressReader | undefined;
  /** Told of each map item whose record this call copied into the store (finished, or under way). */
  onItem?: ((outcome: StepOutcome) => void) | undefined;
}

/** Outcomes of a run's steps and the run's status, from the step records and the execution. */
export interface CollectedRun {
  status: RunStatus;
  steps: StepOutcome[];
  error?: string | undefined;
  /** How each map step settled here ended, from its items' records (when there are any). */
  maps?: Record<string, MapSummary>;
}

const outcomeOf = (step: StepRunRecord): StepOutcome => ({ stepId: step.stepId, status: step.status, ...(step.error ? { error: step.error } : {}) });

/**
 * What became of a step the execution is over for without its container
 * recording an end: `live` is its record if an attempt was under way
 * (`running`) or a retry was coming (`retrying`), else it never recorded
 * anything.
 */
function settle(stepId: string, live: StepRunRecord | undefined, execution: ExecutionDescription, failure: StepFailure | undefined): StepOutcome {
  const status = runStatusOf(execution);
  const waited = live?.status === "retrying" ? `attempt ${live.attempt} failed (${live.error ?? "unknown error"}) and ` : "";
  if (failure?.stepId === stepId) {
    // A retry whose ECS task failed before the step could record it (no capacity, an image that cannot be pulled): both failures.
    const task = waited ? "the next attempt's ECS task" : "the ECS task";
    return { stepId, status: "failed", error: `${waited}${task} failed (${failure.error.Error ?? "error"}): ${failure.error.Cause ?? "no cause given"}` };
  }
  if (status === "stopped")
    return { stepId, status: "stopped", error: waited ? `${waited}the execution was stopped before the retry` : "the execution was stopped" };
  if (status === "failed") {
    const why = failure ? `step '${failure.stepId}' failed` : `the execution ${execution.status?.toLowerCase()}`;
    // Step Functions stops the other branches' ECS tasks, and retries that were to come, when one fails.
    if (live) return { stepId, status: "stopped", error: `${waited ? `${waited}the retry was cancelled` : "stopped"}: ${why}` };
    return { stepId, status: "skipped", error: `not run: ${why}` };
  }
  return { stepId, status: "failed", error: "the execution succeeded but the step's container recorded no result" };
}

/**
 * The steps' outcomes from the records their containers wrote. While the
 * execution runs, a step under way is reported as its container's record
 * says (`running`, or `retrying` with the attempt that failed), copied into
 * `store` as well. Once it is over, the steps without a final record are
 * settled by what the execution says: the step its failure names failed
 * (with ECS's reason when its container wrote nothing, e.g. the image could
 * not be pulled), steps under way were stopped, the others did not run
 * (skipped) or were stopped.
 */
export async function collectOutcomes(options: CollectOptions): Promise<CollectedRun> {
  const { execution, runId } = options;
  const known = options.known ?? new Map<string, StepOutcome>();
  const live = new Map<string, StepRunRecord>();
  const progress = await readMapProgress(options);
  for (const stepId of options.stepIds) {
    if (known.has(stepId)) continue;
    if (options.maps?.has(stepId)) continue;
    const { file, live: current } = await readStepState(options.artifactStore, runId, stepId);
    if (!file || !isFinalStatus(file.step.status)) {
      // (A step.json is written when the step ends; one that says otherwise leaves the record to tell.)
      const record = current ?? (file ? await readLiveRecord(options.artifactStore, runId, stepId) : undefined);
      if (record) live.set(stepId, record);
      continue;
    }
    if (options.store) await copyStepFile(options.store, file);
    known.set(stepId, outcomeOf(file.step));
  }
  // A map's record says `running` (with its items counted so far, in the store) until the client settles it from its items, once the execution is over.
  const mapsUnderWay = new Map<string, StepRunRecord>();
  for (const stepId of options.maps?.keys() ?? []) {
    const record = known.has(stepId) ? undefined : progress?.mapRecord(stepId);
    if (record && !isFinalStatus(record.status)) mapsUnderWay.set(stepId, record);
  }
  let status = runStatusOf(execution);
  const failure = parseStepFailure(execution.error, execution.cause, options.stateNames);
  const mapSummaries: Record<string, MapSummary> = {};
  if (status === "running") {
    if (options.store) for (const record of live.values()) await options.store.putStepRun(record);
  } else {
    for (const stepId of options.stepIds) {
      if (known.has(stepId) || !options.maps?.has(stepId)) continue;
      const settled = await settleMap(options, progress!, stepId, options.maps.get(stepId)!, failure);
      if (!settled) continue;
      known.set(stepId, settled.outcome);
      if (settled.summary) mapSummaries[stepId] = settled.summary;
    }
    for (const stepId of options.stepIds) {
      if (known.has(stepId)) continue;
      const record = live.get(stepId) ?? mapsUnderWay.get(stepId);
      const outcome = settle(stepId, record, execution, failure);
      known.set(stepId, outcome);
      // The record keeps what the container wrote (attempt, start, log); its status is the execution's word.
      if (record && options.store) await options.store.putStepRun({ ...record, status: outcome.status, error: outcome.error, ended: new Date().toISOString() });
    }
  }
  const steps = options.stepIds
    .map((id) => known.get(id) ?? (live.has(id) ? outcomeOf(live.get(id)!) : mapsUnderWay.has(id) ? outcomeOf(mapsUnderWay.get(id)!) : undefined))
    .filter((o): o is StepOutcome => o !== undefined);
  if (status === "completed" && steps.some((s) => s.status === "failed")) status = "failed";
  let error: string | undefined;
  if (status === "failed") {
    const failed = steps.filter((s) => s.status === "failed");
    error = failed.length
      ? failed.map((s) => `step '${s.stepId}' failed: ${s.error ?? "unknown error"}`).join("; ")
      : `execution ${execution.status}${execution.error ? `: ${execution.error}` : ""}${execution.cause ? ` (${execution.cause})` : ""}`;
  }
  return { status, steps, ...(error ? { error } : {}), ...(Object.keys(mapSummaries).length ? { maps: mapSummaries } : {}) };
}

/**
 * Reads what the run's maps recorded since the last look (see
 * {@link MapProgressReader}): new item records go into the store and to
 * `onItem`. Undefined for a run without map steps.
 */
async function readMapProgress(options: CollectOptions): Promise<MapProgressReader | undefined> {
  if (!options.maps?.size) return undefined;
  const progress =
    options.progress ??
    new MapProgressReader({ artifactStore: options.artifactStore, store: options.store, runId: options.runId, mapStepIds: options.maps.keys() });
  const update = await progress.read();
  for (const item of update.items) options.onItem?.(item);
  return progress;
}

/**
 * Settles a map step once the execution is over, as the local driver does:
 * reads its items' records (`runs/<run>/<map>[i]/...`), copies the final ones
 * into the client's store, records items left under way as stopped, and
 * records the map with its {@link MapSummary} under `stackyard.map`. Returns
 * undefined when the map was never expanded (it is then settled as a step
 * that did not run).
 */
async function settleMap(
  options: CollectOptions,
  progress: MapProgressReader,
  mapStepId: string,
  spec: MapSpec,
  failure: StepFailure | undefined,
): Promise<{ outcome: StepOutcome; summary?: MapSummary } | undefined> {
  const { store, execution } = options;
  const record = progress.mapRecord(mapStepId);
  if (!record) return undefined;
  if (record.status === "failed") {
    // The expand failed (a mapped output is not a list): no items.
    if (store) await copyStepFile(store, { step: record, artifacts: [] });
    return { outcome: outcomeOf(record) };
  }
  const items = progress.itemCount(mapStepId);
  if (items === undefined) return undefined;
  const executionStatus = runStatusOf(execution);
  const summary: MapSummary = {
    items,
    completed: 0,
    cached: 0,
    failed: [],
    stopped: 0,
    notStarted: 0,
    tolerated: allowedFailures(spec, items),
    status: "completed",
  };
  const errors = new Map<number, string>();
  for (let i = 0; i < items; i++) {
    // The final records are in the store already (the progress reader copied them).
    const item = progress.item(mapStepId, i);
    if (!item) summary.notStarted++;
    else if (item.status === "completed") summary.completed++;
    else if (item.status === "cached") summary.cached++;
    else if (item.status === "stopped") summary.stopped++;
    else if (isFinalStatus(item.status)) {
      summary.failed.push(i);
      errors.set(i, `${item.stepId}: ${item.error ?? item.status}`);
    } else {
      // Under way when the execution ended: Step Functions stopped its ECS task.
      summary.stopped++;
      if (store) await store.putStepRun({ ...item, status: "stopped", error: "the map step ended before the item finished", ended: new Date().toISOString() });
    }
  }
  summary.failed.sort((a, b) => a - b);
  // The first failed item in item order, however the reads interleaved.
  const firstError = summary.failed.length ? errors.get(summary.failed[0]!) : undefined;
  const ran = summary.completed + summary.cached + summary.failed.length;
  const why = failure && failure.stepId !== mapStepId ? `step '${failure.stepId}' failed` : `the execution ${execution.status.toLowerCase()}`;
  if (executionStatus === "stopped") {
    summary.status = "stopped";
    if (ran < items) summary.error = `${items - ran} of ${items} items did not finish: the execution was stopped`;
  } else if (summary.failed.length > summary.tolerated || ran < items || (failure?.stepId === mapStepId && executionStatus === "failed")) {
    summary.status = "failed";
    summary.error =
      summary.failed.length > summary.tolerated
        ? `${summary.failed.length} of ${items} items failed${summary.tolerated ? ` (${summary.tolerated} tolerated)` : ""}; first: ${firstError}`
        : ran < items
          ? `${items - ran} of ${items} items did not finish (${summary.stopped} stopped, ${summary.notStarted} not started): ${why}`
          : `the map failed (${failure?.error.Error ?? "error"}): ${failure?.error.Cause ?? "no cause given"}`;
  } else summary.status = summary.cached === items && items > 0 ? "cached" : "completed";
  const { status, error, ...counts } = summary;
  if (store) {
    await store.putStepRun({
      ...record,
      status,
      error,
      metadata: { ...record.metadata, [MAP_METADATA_KEY]: counts },
      ended: new Date().toISOString(),
    });
  }
  return { outcome: { stepId: mapStepId, status, ...(error ? { error } : {}) }, summary };
}

/** One line for a map step's end: its items by status (never one line per item). */
export function mapSummaryLine(summary: MapSummary): string {
  if (summary.error) return summary.error;
  const parts = [`${summary.completed} completed`];
  if (summary.cached) parts.push(`${summary.cached} cached`);
  if (summary.failed.length) parts.push(`${summary.failed.length} failed (tolerated)`);
  return `${summary.items} item${summary.items === 1 ? "" : "s"}: ${parts.join(", ")}`;
}
