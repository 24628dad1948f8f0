import { StepFailedError } from "../errors/errors.js";
import type { StepOutcome } from "../orchestrator/base-orchestrator.js";
import type { MapSpec } from "../pipeline/step.js";
import type { RunStatus } from "../store/run-store.js";

/** The id of one item of a map step: `score[3]`. */
export function itemId(mapStepId: string, index: number): string {
  return `${mapStepId}[${index}]`;
}

const ITEM_ID = /^(.+)\[(0|[1-9]\d*)\]$/;

/** The map step and item index of an item id (`score[3]`), or undefined for a step id. */
export function parseItemId(stepId: string): { mapStepId: string; index: number } | undefined {
  const match = ITEM_ID.exec(stepId);
  return match ? { mapStepId: match[1]!, index: Number(match[2]) } : undefined;
}

/** How many failed items a map of `items` items tolerates. */
export function allowedFailures(spec: MapSpec, items: number): number {
  if (!spec.tolerate) return 0;
  return "count" in spec.tolerate ? spec.tolerate.count : Math.floor((items * spec.tolerate.percent) / 100);
}

/**
 * The number of items of a map step from the lengths of its mapped lists:
 * their common length (`zip`) or the product of their lengths (`product`).
 *
 * @throws StepFailedError when zipped lists differ in length, naming each.
 */
export function itemCount(stepId: string, spec: MapSpec, lengths: Readonly<Record<string, number>>): number {
  const values = spec.inputs.map((input) => lengths[input] ?? 0);
  if (spec.mode === "product") return values.reduce((a, b) => a * b, 1);
  if (new Set(values).size > 1) {
    throw new StepFailedError(
      stepId,
      `Map step '${stepId}' zips lists of different lengths (${spec.inputs.map((input, i) => `${input}: ${values[i]}`).join(", ")}): give them the same length, or use product()`,
    );
  }
  return values[0] ?? 0;
}

/** For item `index` of a map, the element index in each mapped list (`product`: the last list varies fastest). */
export function elementIndices(spec: MapSpec, lengths: Readonly<Record<string, number>>, index: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (spec.mode === "zip") {
    for (const input of spec.inputs) out[input] = index;
    return out;
  }
  let rest = index;
  for (let k = spec.inputs.length - 1; k >= 0; k--) {
    const input = spec.inputs[k]!;
    const length = lengths[input]!;
    out[input] = rest % length;
    rest = Math.floor(rest / length);
  }
  return out;
}

/** How a map step ended, from its items: what {@link MapRuntime.finish} records. */
export interface MapSummary {
  items: number;
  completed: number;
  cached: number;
  /** Indices of the items that failed, ascending. */
  failed: number[];
  stopped: number;
  /** Items never started (fail fast, or the run stopped). */
  notStarted: number;
  /** Failed items the map's policy allows. */
  tolerated: number;
  status: Extract<RunStatus, "completed" | "cached" | "failed" | "stopped">;
  error?: string;
}

/**
 * What an orchestrator running a DAG with map steps needs from the run
 * (`context.maps`; pass it to `executeDag`): the item count of a map once
 * its upstream steps are done, and the record of the map when its items are.
 */
export interface MapRuntime {
  /**
   * Reads the lists a map step goes over and records the map `running`.
   * Resolves with its item count and the items the cache already answered
   * (recorded `cached`, by index): those need not run.
   *
   * @throws StepFailedError when a mapped output is not a list, or zipped lists differ in length.
   */
  expand(stepId: string): Promise<{ items: number; done?: ReadonlyMap<number, StepOutcome> }>;
  /** Records how a map step ended; resolves with its outcome. */
  finish(stepId: string, summary: MapSummary): Promise<StepOutcome>;
}

/** The run metadata key under which a map step's record keeps its {@link MapSummary}. */
export const MAP_METADATA_KEY = "stackyard.map";
