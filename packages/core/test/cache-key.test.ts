import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ArtifactRecord, canonicalJson, type SnapshotStep, stepCacheKey } from "../src/index.js";

const step: SnapshotStep = {
  id: "train",
  name: "train",
  code_hash: "c0de",
  upstream: ["load"],
  inputs: { data: { step: "load", output: "dataset" }, extra: { step: "load", output: "meta" } },
  parameters: { z: 1, a: [1, { y: 2, b: null }] },
  outputs: { model: { materializer: "json" } },
  settings: { docker: { requirements: ["x"] }, orchestrator: { some_setting: "a" }, "orchestrator.local": { concurrency: 2 } },
  resources: {},
  retry: { max_retries: 0, delay: 1, backoff: 2 },
  enable_cache: true,
};
const artifact = (sha256: string, materializer: string) => ({ sha256, materializer }) as ArtifactRecord;

describe("step cache keys", () => {
  it("are sha256 of the canonical JSON of the key material, as they always were", () => {
    const inputs = { extra: artifact("h2", "bytes"), data: artifact("h1", "json") };
    const material = {
      v: 1,
      name: "train",
      code: "c0de",
      parameters: step.parameters,
      inputs: { data: ["h1", "json"], extra: ["h2", "bytes"] },
      outputs: step.outputs,
      settings: { docker: { requirements: ["x"] } },
    };
    expect(stepCacheKey(step, inputs)).toBe(createHash("sha256").update(canonicalJson(material)).digest("hex"));
    expect(stepCacheKey({ ...step, inputs: {} }, {})).toBe(
      createHash("sha256")
        .update(canonicalJson({ ...material, inputs: {} }))
        .digest("hex"),
    );
  });

  it("change with an input's content, parameters and code, not with orchestrator settings", () => {
    const inputs = { data: artifact("h1", "json") };
    const key = stepCacheKey(step, inputs);
    expect(stepCacheKey(step, { data: artifact("h9", "json") })).not.toBe(key);
    expect(stepCacheKey({ ...step, parameters: { z: 2 } }, inputs)).not.toBe(key);
    expect(stepCacheKey({ ...step, code_hash: "other" }, inputs)).not.toBe(key);
    expect(stepCacheKey({ ...step, settings: { ...step.settings, orchestrator: { some_setting: "b" } } }, inputs)).toBe(key);
  });
});
