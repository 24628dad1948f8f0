import type { RunStatus } from "@stackyard/core";
import type { RunListQuery } from "../source.js";
import { HttpError } from "./http-error.js";

// Spelled out so that the server loads nothing of core at run time.
export const RUN_STATUSES: readonly RunStatus[] = ["initializing", "running", "completed", "cached", "failed", "skipped", "retrying", "stopped"];
const KNOWN = new Set(["pipeline", "status", "stack", "tag", "limit", "offset", "token"]);
export const MAX_LIMIT = 500;

function wholeNumber(params: URLSearchParams, key: string, fallback: number, min: number, max: number): number {
  const raw = params.get(key);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new HttpError(400, `Invalid ${key} '${raw}': expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/** `/api/runs` query parameters; anything unknown or malformed is a 400 naming it. */
export function parseRunQuery(params: URLSearchParams): RunListQuery {
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) throw new HttpError(400, `Unknown query parameter '${key}': expected pipeline, status, stack, tag, limit or offset`);
  }
  for (const key of KNOWN) {
    if (params.getAll(key).length > 1) throw new HttpError(400, `Query parameter '${key}' is given more than once`);
  }
  const status = params.get("status") ?? undefined;
  if (status !== undefined && !(RUN_STATUSES as readonly string[]).includes(status)) {
    throw new HttpError(400, `Invalid status '${status}': a run's status is one of ${RUN_STATUSES.join(", ")}`);
  }
  return {
    pipeline: params.get("pipeline") || undefined,
    status: status as RunStatus | undefined,
    stack: params.get("stack") || undefined,
    tag: params.get("tag") || undefined,
    limit: wholeNumber(params, "limit", 50, 1, MAX_LIMIT),
    offset: wholeNumber(params, "offset", 0, 0, Number.MAX_SAFE_INTEGER),
  };
}
