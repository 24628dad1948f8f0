import { describe, expect, it } from "vitest";
import { formatArtifactStoreDescription, formatStepStatusLine, parseArtifactStoreDescription, parseStepStatusLine, STEP_ENV } from "../src/index.js";

describe("the step-process protocol", () => {
  it("reads back every status line a step process prints, detail included", () => {
    for (const status of ["running", "retrying", "completed", "cached", "failed", "stopped"] as const) {
      const line = formatStepStatusLine({ stepId: "train_2", status, detail: "attempt 2 of 3 (exit 1)" });
      expect(parseStepStatusLine(line)).toEqual({ stepId: "train_2", status, detail: "attempt 2 of 3 (exit 1)" });
    }
    expect(parseStepStatusLine(formatStepStatusLine({ stepId: "load", status: "completed" }))).toEqual({ stepId: "load", status: "completed" });
  });

  it("keeps a multi-line detail on one line", () => {
    const line = formatStepStatusLine({ stepId: "s", status: "failed", detail: "Error: boom\n    at step" });
    expect(line).not.toContain("\n");
    expect(parseStepStatusLine(line)?.detail).toBe("Error: boom     at step");
  });

  it("leaves a step's own output alone, even when it looks like a status line", () => {
    expect(parseStepStatusLine("[stackyard] load: bogus")).toBeUndefined();
    expect(parseStepStatusLine("epoch 3: loss 0.2")).toBeUndefined();
    expect(parseStepStatusLine("[stackyard]load: completed")).toBeUndefined();
  });

  it("carries the artifact store description and refuses a malformed one, naming the variable", () => {
    const description = { id: "a1", name: "local", flavor: "local", flavor_source: "@stackyard/core#localArtifactStoreFlavor", config: { path: "/x" } };
    expect(parseArtifactStoreDescription(formatArtifactStoreDescription({ ...description, extra: 1 } as typeof description))).toEqual(description);
    expect(() => parseArtifactStoreDescription("{not json")).toThrow(`${STEP_ENV.artifactStore} is not a valid artifact store description`);
    expect(() => parseArtifactStoreDescription(JSON.stringify({ ...description, flavor_source: 3 }))).toThrow(/flavor_source/);
  });
});
