// What a client takes from a step process that recorded into the artifact store (docker steps, Step Functions steps).
import { describe, expect, it } from "vitest";
import { ArtifactStoreRunStore, pipeline, readStepState, type StepResultFile, step, stepFileProblem } from "../src/index.js";
import { run, stores } from "./helpers.js";

const make = step({ name: "make" }, async () => ({ rows: 3 }));
const count = step({ name: "count" }, async ({ data }: { data: { rows: number } }) => data.rows);
const pipe = pipeline({ name: "records" }, () => {
  count({ data: make().output });
});

describe("a step's result file, read back by the client", () => {
  it("is taken as the step wrote it, and refused when it names another step, an undeclared materializer or another producer", async () => {
    const env = stores();
    const ran = await run(pipe, { ...env, store: new ArtifactStoreRunStore(env.artifactStore) as never });
    const { file } = await readStepState(env.artifactStore, ran.runId, "count");
    expect(file?.step.status).toBe("completed");
    const result = file!;
    expect(stepFileProblem(ran.snapshot, ran.runId, "count", result)).toBeUndefined();

    const changed = (edit: (copy: StepResultFile) => void): StepResultFile => {
      const copy = structuredClone(result);
      edit(copy);
      return copy;
    };
    expect(stepFileProblem(ran.snapshot, ran.runId, "make", result)).toBe(`its record is of step 'count' of run ${ran.runId}`);
    expect(
      stepFileProblem(
        ran.snapshot,
        ran.runId,
        "count",
        changed((f) => (f.artifacts[0]!.materializer = "./.stackyard/artifacts/evil.mjs#m")),
      ),
    ).toBe(`its output 'output' names materializer './.stackyard/artifacts/evil.mjs#m', not '${result.artifacts[0]!.materializer}' as the snapshot declares`);
    expect(
      stepFileProblem(
        ran.snapshot,
        ran.runId,
        "count",
        changed((f) => (f.artifacts[0]!.stepId = "make")),
      ),
    ).toBe(`artifact ${result.artifacts[0]!.id} names step 'make' of run ${ran.runId} as its producer`);
    expect(
      stepFileProblem(
        ran.snapshot,
        ran.runId,
        "count",
        changed((f) => (f.step.outputs = { extra: f.artifacts[0]!.id })),
      ),
    ).toBe("it records output 'extra', which the step does not declare");
    expect(
      stepFileProblem(
        ran.snapshot,
        ran.runId,
        "count",
        changed((f) => (f.artifacts = [])),
      ),
    ).toBe("its output 'output' comes with no artifact record");
  });
});
