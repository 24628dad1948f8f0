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
 * The parts of a step's key material that do not depend on its inputs, as
 * canonical JSON around the `inputs` slot. Keys sort as
 * code < inputs < name < outputs < parameters < settings < v, so the text is
 * exactly `canonicalJson` of the whole material; computed once per snapshot step.
 */
const staticParts = new WeakMap<SnapshotStep, readonly [string, string]>();

function partsOf(step: SnapshotStep): readonly [string, string] {
  let parts = staticParts.get(step);
  if (!parts) {
    const rest = canonicalJson({ name: step.name, outputs: step.outputs, parameters: step.parameters, settings: relevantSettings(step.settings), v: 1 });
    parts = [`{"code":${canonicalJson(step.code_hash)},"inputs":`, `,${rest.slice(1)}`];
    staticParts.set(step, parts);
  }
  return parts;
}

/**
 * The cache key of a step: a sha256 over its name, code hash, parameters,
 * the content hashes and materializers of its inputs, its output
 * materializers and the settings that can change its result.
 */
export function stepCacheKey(step: SnapshotStep, inputs: Readonly<Record<string, Pick<ArtifactRecord, "sha256" | "materializer">>>): string {
  const [head, tail] = partsOf(step);
  // canonicalJson of { [input]: [sha256, materializer] }, written out directly: this runs for every step of every run.
  const keys = Object.keys(inputs).sort();
  let material = "{";
  for (let i = 0; i < keys.length; i++) {
    const artifact = inputs[keys[i]!]!;
    material += `${i ? "," : ""}${JSON.stringify(keys[i])}:[${canonicalJson(artifact.sha256)},${canonicalJson(artifact.materializer)}]`;
  }
  return createHash("sha256").update(head).update(material).update("}").update(tail).digest("hex");
}
