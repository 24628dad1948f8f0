import type { RunStatus, StepRunRecord } from "@stackyard/core";
import type { DashboardSource, ItemTally, RunSteps, SnapshotSummary } from "../source.js";
import { HttpError } from "./http-error.js";
import { RUN_STATUSES } from "./run-query.js";

// Spelled out so that the server loads nothing of core at run time (core's MAP_METADATA_KEY).
const MAP_METADATA_KEY = "stackyard.map";
const ITEM_ID = /^(.+)\[(\d+)\]$/;
const ACTIVE = new Set(["initializing", "running", "retrying"]);
/** Failed item indices a summary lists at most (the items list pages through the rest). */
export const FAILED_LIST_LIMIT = 100;
export const ITEMS_MAX_LIMIT = 500;

/** `score[3]` -> `{ mapId: "score", index: 3 }`. */
export function parseItemId(stepId: string): { mapId: string; index: number } | undefined {
  const m = ITEM_ID.exec(stepId);
  return m ? { mapId: m[1]!, index: Number(m[2]) } : undefined;
}

/** A map step's progress, from its record's summary and its items' records. */
export interface MapProgress {
  /** Items the map has (0 until its lists are read). */
  items: number;
  /** Completed or cached items. */
  done: number;
  completed: number;
  cached: number;
  running: number;
  failed: number;
  stopped: number;
  /** Items not started yet (or never: fail fast, a stopped run). */
  pending: number;
  /** Failed items the map's policy allows; null when the map has not finished. */
  tolerated: number | null;
  /** Indices of failed items, ascending, at most {@link FAILED_LIST_LIMIT}. */
  failedIndices: number[];
}

/** The ids of a snapshot's map steps; undefined without a snapshot. */
export function mapIdsOf(snapshot: SnapshotSummary | null | undefined): ReadonlySet<string> | undefined {
  return snapshot ? new Set(snapshot.steps.filter((s) => s.map).map((s) => s.id)) : undefined;
}

/** The run's records split into steps and map items (by map id, in item order); every map of `mapIds` has a list. */
export function splitItems(steps: readonly StepRunRecord[], mapIds: ReadonlySet<string> | undefined) {
  const ids = new Set(steps.map((s) => s.stepId));
  const plain: StepRunRecord[] = [];
  const items = new Map<string, StepRunRecord[]>();
  for (const id of mapIds ?? []) items.set(id, []);
  for (const step of steps) {
    const item = parseItemId(step.stepId);
    // Without the snapshot, `x[3]` is an item when `x` is a step of the run.
    if (item && (mapIds ? mapIds.has(item.mapId) : ids.has(item.mapId))) {
      const list = items.get(item.mapId) ?? [];
      list.push(step);
      items.set(item.mapId, list);
    } else plain.push(step);
  }
  for (const list of items.values()) list.sort((a, b) => parseItemId(a.stepId)!.index - parseItemId(b.stepId)!.index);
  return { plain, items };
}

/** Counts items (in item order) by status, as {@link DashboardSource.runSteps} does. */
export function tallyItems(items: readonly StepRunRecord[]): ItemTally {
  const counts: Partial<Record<RunStatus, number>> = {};
  const failedIndices: number[] = [];
  for (const item of items) {
    counts[item.status] = (counts[item.status] ?? 0) + 1;
    if (item.status === "failed" && failedIndices.length < FAILED_LIST_LIMIT) failedIndices.push(parseItemId(item.stepId)!.index);
  }
  return { counts, failedIndices };
}

/**
 * A run's steps without map items, and each map step's item tally (every
 * map of `mapIds` has one): counted by the source where it can, else from
 * every record.
 */
export async function readRunSteps(source: DashboardSource, runId: string, mapIds: ReadonlySet<string> | undefined): Promise<RunSteps> {
  if (source.runSteps) {
    const { steps, tallies } = await source.runSteps(runId, FAILED_LIST_LIMIT);
    const all = new Map(tallies);
    for (const id of mapIds ?? []) if (!all.has(id)) all.set(id, { counts: {}, failedIndices: [] });
    return { steps, tallies: all };
  }
  const { plain, items } = splitItems(await source.listSteps(runId), mapIds);
  return { steps: plain, tallies: new Map([...items].map(([id, list]) => [id, tallyItems(list)])) };
}

/** `status=running` matches every active status. */
function statusesOf(status: string | undefined): RunStatus[] | undefined {
  if (status === undefined) return undefined;
  return (status === "running" ? [...ACTIVE] : [status]) as RunStatus[];
}

/** A page of a map's items in item order, with how many match: through the source's query where it has one. */
export async function readMapItems(
  source: DashboardSource,
  runId: string,
  mapId: string,
  mapIds: ReadonlySet<string> | undefined,
  query: { status: string | undefined; limit: number; offset: number },
): Promise<{ items: StepRunRecord[]; total: number }> {
  const statuses = statusesOf(query.status);
  if (source.mapItems) return source.mapItems(runId, mapId, { statuses, limit: query.limit, offset: query.offset });
  const all = splitItems(await source.listSteps(runId), mapIds).items.get(mapId) ?? [];
  const filtered = statuses ? all.filter((s) => statuses.includes(s.status)) : all;
  return { items: filtered.slice(query.offset, query.offset + query.limit), total: filtered.length };
}

/** A map's progress from its item tally; a finished map's own summary supplies what records cannot (items never started, tolerated). */
export function mapProgress(record: StepRunRecord | undefined, tally: ItemTally): MapProgress {
  const summary = (record?.metadata?.[MAP_METADATA_KEY] ?? {}) as { items?: number; failed?: number[]; tolerated?: number; notStarted?: number };
  const n = (status: RunStatus) => tally.counts[status] ?? 0;
  const recorded = Object.values(tally.counts).reduce((a, b) => a + (b ?? 0), 0);
  const count = {
    completed: n("completed"),
    cached: n("cached"),
    running: n("initializing") + n("running") + n("retrying"),
    failed: n("failed"),
    stopped: n("stopped"),
  };
  const total = typeof summary.items === "number" ? summary.items : recorded;
  const finished = record !== undefined && !ACTIVE.has(record.status);
  return {
    items: total,
    done: count.completed + count.cached,
    ...count,
    pending: Math.max(0, total - recorded),
    tolerated: finished && typeof summary.tolerated === "number" ? summary.tolerated : null,
    failedIndices: tally.failedIndices,
  };
}

/** One item as the items list shows it. */
export function itemView(item: StepRunRecord) {
  const started = item.started ? Date.parse(item.started) : undefined;
  const ended = item.ended ? Date.parse(item.ended) : undefined;
  return {
    index: parseItemId(item.stepId)!.index,
    stepId: item.stepId,
    status: item.status,
    attempt: item.attempt,
    started: item.started ?? null,
    ended: item.ended ?? null,
    durationMs: started !== undefined && ended !== undefined ? ended - started : null,
    cachedFrom: item.cachedFrom ?? null,
    error: item.error ? item.error.split("\n")[0]!.slice(0, 300) : null,
  };
}

const ITEM_PARAMS = new Set(["status", "limit", "offset", "token"]);

/** `?status=&limit=&offset=` of a map's items list; anything else is a 400 naming it. */
export function parseItemQuery(params: URLSearchParams): { status: string | undefined; limit: number; offset: number } {
  for (const key of params.keys()) if (!ITEM_PARAMS.has(key)) throw new HttpError(400, `Unknown query parameter '${key}': expected status, limit or offset`);
  for (const key of ITEM_PARAMS) if (params.getAll(key).length > 1) throw new HttpError(400, `Query parameter '${key}' is given more than once`);
  const status = params.get("status") || undefined;
  if (status !== undefined && !(RUN_STATUSES as readonly string[]).includes(status))
    throw new HttpError(400, `Invalid status '${status}': an item's status is one of ${RUN_STATUSES.join(", ")}`);
  const whole = (key: string, fallback: number, max: number) => {
    const raw = params.get(key);
    if (raw === null) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > max || (key === "limit" && Number(raw) < 1))
      throw new HttpError(400, `Invalid ${key} '${raw}': expected a whole number from ${key === "limit" ? 1 : 0} to ${max}`);
    return Number(raw);
  };
  return { status, limit: whole("limit", 50, ITEMS_MAX_LIMIT), offset: whole("offset", 0, Number.MAX_SAFE_INTEGER) };
}

/** A collector's per-item inputs listed per collected input (the rest are counted). */
export const COLLECTED_SHOWN = 10;

/**
 * A step's inputs as views list them: a collector's per-item inputs
 * (`scores[0]`, `scores[1]`, ...) only up to {@link COLLECTED_SHOWN} per
 * collected input, with how many each has in `collected`.
 */
export function shownInputs(inputs: Record<string, string> | undefined): {
  inputs: Array<[string, string]>;
  collected: Array<{ input: string; items: number }>;
} {
  const collected = new Map<string, number>();
  const shown = Object.entries(inputs ?? {}).filter(([key]) => {
    const item = parseItemId(key);
    if (!item) return true;
    const seen = (collected.get(item.mapId) ?? 0) + 1;
    collected.set(item.mapId, seen);
    return seen <= COLLECTED_SHOWN;
  });
  return { inputs: shown, collected: [...collected].map(([input, items]) => ({ input, items })) };
}
