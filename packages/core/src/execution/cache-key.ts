import { createHash } from "node:crypto";
import type { SnapshotStep } from "../pipeline/snapshot.js";
import type { ArtifactRecord } from "../store/run-store.js";

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * Settings that can change what a step computes. Orchestrator settings only
 * change where and how it runs, so they stay out of the cache key.
 */
function relevantSettings(settings: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).filter(([key]) => key !== "orchestrator" && !key.startsWith("orchestrator.")));
}

/**
 * The cache key of a step: a sha256 over its name, code hash, parameters,
 * the content hashes and materializers of its inputs, its output
 * materializers and the settings that can change its result.
 */
export function stepCacheKey(step: SnapshotStep, inputs: Record<string, ArtifactRecord>): string {
  const material = {
    v: 1,
    name: step.name,
    code: step.code_hash,
    parameters: step.parameters,
    inputs: Object.fromEntries(Object.entries(inputs).map(([key, artifact]) => [key, [artifact.sha256, artifact.materializer]])),
    outputs: step.outputs,
    settings: relevantSettings(step.settings),
  };
  return createHash("sha256").update(canonicalJson(material)).digest("hex");
}
