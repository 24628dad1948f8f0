import type { StepOutcome } from "../orchestrator/base-orchestrator.js";
import type { StepRunRecord } from "../store/run-store.js";
import { allowedFailures, MAP_METADATA_KEY } from "./map-items.js";
import { type RunStepOptions, recordStepResult, type StepResultFile, snapshotStep } from "./run-step.js";
import { mapItemCount } from "./step-inputs.js";

/** Where a map step's item manifest lives in the artifact store: a JSON array of its item indices, `[0, 1, ..., n-1]`. */
export function mapItemsPath(runId: string, mapStepId: string): string {
  return `runs/${runId}/${mapStepId}/items.json`;
}

/**
 * Where a map step's item count lives beside its manifest: `{"items": n, "tolerated": k}`, `k` the
 * failed items its policy allows (a few bytes, for an orchestrator that must not load the manifest to count it).
 */
export function mapInfoPath(runId: string, mapStepId: string): string {
  return `runs/${runId}/${mapStepId}/map.json`;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Expands a map step of a run (`stepId` without an item index): reads the
 * lists it maps over, writes its item manifest ({@link mapItemsPath}) for an
 * orchestrator that iterates over it (a Step Functions Map state) and its
 * item count ({@link mapInfoPath}), and
 * records the map step `running` with its item count, or `failed` when a
 * mapped output is not a list or zipped lists differ in length. What
 * `stackyard step run --step MAP` does; resolves with the item count, or
 * the failed outcome.
 */
export async function expandMapStep(options: RunStepOptions): Promise<{ items: number } | StepOutcome> {
  const { spec } = snapshotStep(options.snapshot, `${options.stepId}[0]`);
  const started = new Date().toISOString();
  const record: StepRunRecord = { runId: options.runId, stepId: spec.id, stepName: spec.name, status: "running", attempt: 1, outputs: {}, started };
  let items: number;
  try {
    items = await mapItemCount(spec, options);
  } catch (error) {
    Object.assign(record, { status: "failed", error: errorText(error), ended: new Date().toISOString() });
    await writeMapRecord(record, options);
    options.onStatus?.("failed", record.error);
    return { stepId: spec.id, status: "failed", error: record.error };
  }
  record.metadata = { [MAP_METADATA_KEY]: { items } };
  await options.artifactStore.writeFile(mapItemsPath(options.runId, spec.id), JSON.stringify(Array.from({ length: items }, (_, i) => i)));
  const tolerated = spec.map ? allowedFailures(spec.map, items) : 0;
  await options.artifactStore.writeFile(mapInfoPath(options.runId, spec.id), JSON.stringify({ items, tolerated }));
  await writeMapRecord(record, options);
  options.onStatus?.("running", `${items} item${items === 1 ? "" : "s"}`);
  return { items };
}

async function writeMapRecord(record: StepRunRecord, options: RunStepOptions): Promise<void> {
  await recordStepResult(options.store, record, []);
  if (options.writeResultFile ?? true) {
    const file: StepResultFile = { step: record, artifacts: [] };
    await options.artifactStore.writeFile(`runs/${record.runId}/${record.stepId}/step.json`, JSON.stringify(file, null, 2));
  }
}
