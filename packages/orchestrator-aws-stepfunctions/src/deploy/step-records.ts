import {
  parseStepFailure,
} from "../compiler/index.js";
import { ArtifactStoreRunStore, type ArtifactRecord, type BaseArtifactStore, type RunStatus, type RunStore, type StepOutcome, type StepResultFile } from "@stackyard/core";
import type { ExecutionDescription } from "./execution-backend.js";

/**
 * Reads what a step's container recorded when it ended:
 * `runs/<run>/<step>/step.json` (the record with its artifacts) or, for a
 * step the cache answered for, which writes no step.json, its `cached` record
 * in the artifact store's run store with the artifacts it reuses.
 */
export async function readStepFile(artifactStore: BaseArtifactStore, runId: string, stepId: string): Promise<StepResultFile | undefined> {
  const path = `runs/${runId}/${stepId}/step.json`;
  try {
    if (await artifactStore.exists(path)) return JSON.parse((await artifactStore.readFile(path)).toString("utf8")) as StepResultFile;
    const records = new ArtifactStoreRunStore(artifactStore);
    const step = await records.getStepRun(runId, stepId);
    if (step?.status !== "cached") return undefined;
    const artifacts = await Promise.all(Object.values(step.outputs).map((id) => records.getArtifact(id)));
    // A reused artifact whose record is gone: not a result the client can show.
    if (artifacts.some((a) => a === undefined)) return undefined;
    return { step, artifacts: artifacts as ArtifactRecord[] };
  } catch {
    // Half-written or unreadable: the step is not over as far as we can tell.
    return undefined;
  }
}

/** Copies a step's record and artifacts into the client's store, so `runs describe` shows them. */
export async function copyStepFile(store: RunStore, file: StepResultFile): Promise<void> {
  for (const artifact of file.artifacts) await store.putArtifact(artifact);
  await store.putStepRun(file.step);
}

/** Run status of an execution status. */
export function runStatusOf(description: ExecutionDescription): RunStatus {
  switch (description.status) {
    case "RUNNING":
      return "running";
    case "SUCCEEDED":
      return "completed";
    case "ABORTED":
      return "stopped";
    default:
      return "failed";
  }
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
}

/** Outcomes of a run's steps and the run's status, from the step records and the execution. */
export interface CollectedRun {
  status: RunStatus;
  steps: StepOutcome[];
  error?: string | undefined;
}

/**
 * The steps' outcomes from the records their containers wrote, completed,
 * once the execution is over, by what the execution says: the step its
 * failure names failed (with ECS's reason when its container wrote nothing,
 * e.g. the image could not be pulled), the others did not run (skipped) or
 * were stopped.
 */
export async function collectOutcomes(options: CollectOptions): Promise<CollectedRun> {
  const { execution, runId } = options;
  const known = options.known ?? new Map<string, StepOutcome>();
  for (const stepId of options.stepIds) {
    if (known.has(stepId)) continue;
    const file = await readStepFile(options.artifactStore, runId, stepId);
    if (!file || file.step.status === "running" || file.step.status === "retrying") continue;
    if (options.store) await copyStepFile(options.store, file);
    known.set(stepId, { stepId, status: file.step.status, ...(file.step.error ? { error: file.step.error } : {}) });
  }
  let status = runStatusOf(execution);
  const failure = parseStepFailure(execution.error, execution.cause, options.stateNames);
  if (status !== "running") {
    for (const stepId of options.stepIds) {
      if (known.has(stepId)) continue;
      if (failure?.stepId === stepId) {
        known.set(stepId, { stepId, status: "failed", error: `the ECS task failed (${failure.error.Error ?? "error"}): ${failure.error.Cause ?? "no cause given"}` });
      } else if (status === "stopped") {
        known.set(stepId, { stepId, status: "stopped", error: "the execution was stopped" });
      } else if (status === "failed") {
        known.set(stepId, { stepId, status: "skipped", error: failure ? `not run: step '${failure.stepId}' failed` : `not run: the execution ${execution.status?.toLowerCase()}` });
      } else {
        known.set(stepId, { stepId, status: "failed", error: "the execution succeeded but the step's container recorded no result" });
      }
    }
  }
  const steps = options.stepIds.map((id) => known.get(id)).filter((o): o is StepOutcome => o !== undefined);
  if (status === "completed" && steps.some((s) => s.status === "failed")) status = "failed";
  let error: string | undefined;
  if (status === "failed") {
    const failed = steps.filter((s) => s.status === "failed");
    error = failed.length
      ? failed.map((s) => `step '${s.stepId}' failed: ${s.error ?? "unknown error"}`).join("; ")
      : `execution ${execution.status}${execution.error ? `: ${execution.error}` : ""}${execution.cause ? ` (${execution.cause})` : ""}`;
  }
  return { status, steps, ...(error ? { error } : {}) };
}
