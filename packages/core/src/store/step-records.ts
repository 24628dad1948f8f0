import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { recordStepResult, type StepResultFile, snapshotStep } from "../execution/run-step.js";
import type { PipelineSnapshot, SnapshotStep } from "../pipeline/snapshot.js";
import { ArtifactStoreRunStore } from "./artifact-store-run-store.js";
import { type ArtifactRecord, isFinalStatus, type RunStore, type StepRunRecord } from "./run-store.js";

/**
 * What a step process that kept its records in the artifact store (a step
 * container given `STEP_ENV.artifactStore`) has recorded, read once: `file`
 * when the step is over — `runs/<run>/<step>/step.json` (the record with its
 * artifacts) or, for a step the cache answered for, which writes no
 * step.json, its `cached` record in the artifact store's run store with the
 * artifacts it reuses — else `live`, its record while an attempt is under way
 * (`running`) or a retry is coming (`retrying`), when it has one. Both empty
 * when there is nothing, or nothing readable (a half-written file).
 */
export async function readStepState(artifactStore: BaseArtifactStore, runId: string, stepId: string): Promise<{ file?: StepResultFile; live?: StepRunRecord }> {
  const path = `runs/${runId}/${stepId}/step.json`;
  try {
    if (await artifactStore.exists(path)) return { file: JSON.parse((await artifactStore.readFile(path)).toString("utf8")) as StepResultFile };
    const records = new ArtifactStoreRunStore(artifactStore);
    const step = await records.getStepRun(runId, stepId);
    if (!step) return {};
    if (!isFinalStatus(step.status)) return { live: step };
    if (step.status !== "cached") return {};
    const artifacts = await Promise.all(Object.values(step.outputs).map((id) => records.getArtifact(id)));
    // A reused artifact whose record is gone: not a result the client can show.
    if (artifacts.some((a) => a === undefined)) return {};
    return { file: { step, artifacts: artifacts as ArtifactRecord[] } };
  } catch {
    // Half-written or unreadable: the step is not over as far as we can tell.
    return {};
  }
}

/** The step's result once it is over (see {@link readStepState}); undefined before. */
export async function readStepFile(artifactStore: BaseArtifactStore, runId: string, stepId: string): Promise<StepResultFile | undefined> {
  return (await readStepState(artifactStore, runId, stepId)).file;
}

/**
 * A step's record as its process last wrote it in the artifact store, while
 * the step is not over: `running` (an attempt under way) or `retrying` (an
 * attempt failed with attempts left), with the attempt number and, when
 * retrying, the failed attempt's error. Undefined when there is none, or the
 * step is over (see {@link readStepState}).
 */
export async function readLiveRecord(artifactStore: BaseArtifactStore, runId: string, stepId: string): Promise<StepRunRecord | undefined> {
  try {
    const step = await new ArtifactStoreRunStore(artifactStore).getStepRun(runId, stepId);
    return step && !isFinalStatus(step.status) ? step : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Copies a step's result (see {@link readStepState}) into the client's
 * store, so `runs describe` shows it: one transaction where the store has
 * them; the store numbers the named versions and merges the run metadata.
 */
export async function copyStepFile(store: RunStore, file: StepResultFile): Promise<void> {
  await recordStepResult(store, file.step, file.artifacts);
}

/**
 * Why `file` cannot be taken into the client's store as the result of step
 * (or map item) `stepId` of run `runId`, or undefined when it can. A step
 * process that records into the artifact store may run code the client does
 * not trust, so what it wrote is checked before the client records it: the
 * record is this step's of this run, each artifact is one of its outputs,
 * saved with the materializer the snapshot declares for that output (a
 * materializer is code the client imports when it loads the artifact), and,
 * unless the step was answered from the cache, made by this step in this run.
 */
export function stepFileProblem(snapshot: PipelineSnapshot, runId: string, stepId: string, file: StepResultFile): string | undefined {
  const shape = shapeProblem(file);
  if (shape) return shape;
  const { step, artifacts } = file;
  if (step.runId !== runId || step.stepId !== stepId) return `its record is of step '${step.stepId}' of run ${step.runId}`;
  let spec: SnapshotStep;
  try {
    spec = snapshotStep(snapshot, stepId).spec;
  } catch {
    return `snapshot ${snapshot.id} has no step '${stepId}'`;
  }
  const byId = new Map(artifacts.map((a) => [a.id, a]));
  for (const [output, id] of Object.entries(step.outputs)) {
    const declared = spec.outputs[output];
    if (!declared) return `it records output '${output}', which the step does not declare`;
    const artifact = byId.get(id);
    if (!artifact) {
      if (step.status === "cached") continue; // reused: an artifact the client has, checked when it was recorded
      return `its output '${output}' comes with no artifact record`;
    }
    if (artifact.materializer !== declared.materializer) {
      return `its output '${output}' names materializer '${artifact.materializer}', not '${declared.materializer}' as the snapshot declares`;
    }
  }
  const outputIds = new Set(Object.values(step.outputs));
  for (const artifact of artifacts) {
    if (!outputIds.has(artifact.id)) return `artifact ${artifact.id} is none of its outputs`;
    if (step.status !== "cached" && (artifact.runId !== runId || artifact.stepId !== stepId)) {
      return `artifact ${artifact.id} names step '${artifact.stepId}' of run ${artifact.runId} as its producer`;
    }
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const allStrings = (value: Record<string, unknown>, keys: readonly string[]): boolean => keys.every((key) => typeof value[key] === "string");

/** What makes `file` (parsed JSON, written by a process the client does not trust) no step result at all. */
function shapeProblem(file: unknown): string | undefined {
  if (!isObject(file) || !isObject(file.step) || !Array.isArray(file.artifacts)) return "it is not a step result ({ step, artifacts })";
  const { step } = file;
  if (
    !allStrings(step, ["runId", "stepId", "stepName", "status"]) ||
    !isObject(step.outputs) ||
    !Object.values(step.outputs).every((id) => typeof id === "string")
  ) {
    return "its record lacks runId, stepId, stepName, status or outputs";
  }
  if (!isFinalStatus(step.status as StepRunRecord["status"])) return `its record says '${String(step.status)}', which is no final status`;
  for (const artifact of file.artifacts as unknown[]) {
    if (!isObject(artifact) || !allStrings(artifact, ["id", "runId", "stepId", "output", "uri", "materializer"])) {
      return "one of its artifact records lacks id, runId, stepId, output, uri or materializer";
    }
  }
  return undefined;
}
