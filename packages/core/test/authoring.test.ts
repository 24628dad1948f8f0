import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigError,
  INVOCATION,
  loadPipelineSource,
  PipelineDefinitionError,
  pipeline,
  pipelineSnapshotSchema,
  resolvePipelineSource,
  SourceError,
  step,
} from "../src/index.js";
import { exportedByList, loadData, notExportedHolder, trainingPipeline } from "./fixtures/training.js";

const source = "./test.ts#pipe";
const noop = step({ name: "noop" }, async () => 1);
const produce = step({ name: "produce", outputs: { a: "json", b: "text" } }, async () => ({ a: 1, b: "x" }));
const consume = step({ name: "consume" }, async ({ value }: { value: number }) => value);

describe("pipeline authoring", () => {
  it("wires outputs into inputs and orders steps topologically", () => {
    const snapshot = trainingPipeline.compile({ source: "./fixtures/training.ts#trainingPipeline" });
    expect(pipelineSnapshotSchema.parse(snapshot)).toEqual(snapshot);
    expect(snapshot.steps.map((s) => s.id)).toEqual(["load_data", "split_data", "train_model", "evaluate"]);
    const evaluate = snapshot.steps[3]!;
    expect(evaluate.inputs).toEqual({ model: { step: "train_model", output: "model" }, test: { step: "split_data", output: "test" } });
    expect(evaluate.upstream.sort()).toEqual(["split_data", "train_model"]);
    expect(evaluate.outputs).toEqual({ output: { materializer: "json" } });
    expect(snapshot.steps[1]!.parameters).toEqual({ testSize: 0.2 });
    expect(snapshot.steps[0]!.parameters).toEqual({ seed: 42, rows: 10 });
  });

  it("captures the source path of an exported pipeline from where it is defined", () => {
    const snapshot = trainingPipeline.compile({ sourceRoot: new URL("..", import.meta.url).pathname });
    expect(snapshot.pipeline.source).toBe("./test/fixtures/training.ts#trainingPipeline");
  });

  it("passes pipeline parameters to the body, code defaults overridden by compile options", () => {
    const snapshot = trainingPipeline.compile({ source, parameters: { testSize: 0.5 } });
    expect(snapshot.pipeline.parameters).toEqual({ testSize: 0.5 });
    expect(snapshot.steps.find((s) => s.id === "split_data")!.parameters).toEqual({ testSize: 0.5 });
  });

  it("gives a step used twice the ids name and name_2, or an explicit id", () => {
    const p = pipeline({ name: "twice" }, () => {
      noop();
      noop();
      noop({}, { id: "custom" });
      noop();
    });
    expect(p.compile({ source }).steps.map((s) => s.id)).toEqual(["noop", "noop_2", "custom", "noop_3"]);
  });

  it("carries the invocation id under a symbol so it can be passed to after", () => {
    let seen: string | undefined;
    const p = pipeline({ name: "after" }, () => {
      const first = noop({}, { id: "first" });
      seen = first[INVOCATION];
      noop({}, { id: "second", after: [first] });
    });
    const snapshot = p.compile({ source });
    expect(seen).toBe("first");
    expect(snapshot.steps.find((s) => s.id === "second")!.upstream).toEqual(["first"]);
  });

  it("refuses a step call outside a pipeline body, saying so", () => {
    expect(() => noop()).toThrow(PipelineDefinitionError);
    expect(() => loadData()).toThrow(/Step 'load_data' was called outside a pipeline body/);
  });

  it("names the steps of a cycle through after", () => {
    const p = pipeline({ name: "cyclic" }, () => {
      noop({}, { id: "a", after: ["c"] });
      noop({}, { id: "b", after: ["a"] });
      noop({}, { id: "c", after: ["b"] });
    });
    expect(() => p.compile({ source })).toThrow(PipelineDefinitionError);
    expect(() => p.compile({ source })).toThrow(/cycle through 'after': (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/);
  });

  it("names step and key when an input is wired to an output that does not exist", () => {
    const p = pipeline({ name: "bad_wiring" }, () => {
      const produced = produce();
      consume({ value: (produced as unknown as Record<string, never>).c! });
    });
    expect(() => p.compile({ source })).toThrow(
      "Input 'value' of step 'consume' is wired to output 'c' of step 'produce', which has no such output (outputs: a, b)",
    );
  });

  it("names step and key of a parameter that is not JSON", () => {
    const withParams = step({ name: "with_params", parameters: z.object({ when: z.any() }) }, async () => 1);
    const p = pipeline({ name: "bad_param" }, () => {
      withParams({}, { parameters: { when: { nested: () => 1 } } });
    });
    expect(() => p.compile({ source })).toThrow(PipelineDefinitionError);
    expect(() => p.compile({ source })).toThrow("Parameter 'when.nested' of step 'with_params' is not JSON-serialisable: a function is not JSON");
    const q = pipeline({ name: "bad_param_2" }, () => {
      withParams({}, { parameters: { when: new Date(0) } });
    });
    expect(() => q.compile({ source })).toThrow(/Parameter 'when' of step 'with_params'.*a Date is not plain JSON/);
  });

  it("validates parameters with the step's schema and names unknown ones", () => {
    const p = pipeline({ name: "typo" }, () => {
      loadData({}, { parameters: { sed: 1 } as never });
    });
    expect(() => p.compile({ source })).toThrow(ConfigError);
    expect(() => p.compile({ source })).toThrow(/Unknown parameter 'sed' for step 'load_data'.*known parameters are seed, rows/);
    const q = pipeline({ name: "wrong_type" }, () => {
      loadData({}, { parameters: { seed: "x" as never } });
    });
    expect(() => q.compile({ source })).toThrow(/parameters of step 'load_data'.*'seed'/);
  });

  it("rejects plain values as inputs and async bodies", () => {
    const p = pipeline({ name: "plain" }, () => {
      consume({ value: 3 as never });
    });
    expect(() => p.compile({ source })).toThrow("Input 'value' of step 'consume' is not a step output: inputs must come from other steps");
    const q = pipeline({ name: "async_body" }, (async () => {
      noop();
    }) as never);
    expect(() => q.compile({ source })).toThrow(/returned a promise: pipeline bodies must be synchronous/);
  });

  it("compiles a 1,000-step DAG in topological order (its speed is measured in bench/)", () => {
    const p = pipeline({ name: "big" }, () => {
      let previous = noop();
      const all = [previous];
      for (let i = 1; i < 1000; i++) {
        const next = i % 3 === 0 ? consume({ value: previous.output }) : noop({}, { after: [all[Math.floor(i / 2)]!] });
        all.push(next);
        previous = next;
      }
    });
    const snapshot = p.compile({ source });
    expect(snapshot.steps).toHaveLength(1000);
    const position = new Map(snapshot.steps.map((s, i) => [s.id, i]));
    for (const s of snapshot.steps) for (const up of s.upstream) expect(position.get(up)!).toBeLessThan(position.get(s.id)!);
  });
});

describe("pipeline sources", () => {
  it("resolves the export of a pipeline by importing its module", async () => {
    const root = new URL("..", import.meta.url).pathname;
    await expect(resolvePipelineSource(trainingPipeline, root)).resolves.toBe("./test/fixtures/training.ts#trainingPipeline");
    const loaded = await loadPipelineSource("./test/fixtures/training.ts#trainingPipeline", root);
    expect(loaded).toBe(trainingPipeline);
  });

  it("finds a pipeline exported under another name by importing its module", async () => {
    const root = new URL("..", import.meta.url).pathname;
    expect(() => exportedByList.compile()).toThrow(/must be exported/);
    await expect(resolvePipelineSource(exportedByList, root)).resolves.toBe("./test/fixtures/training.ts#exportedByList");
    expect(exportedByList.compile({ sourceRoot: root }).pipeline.source).toBe("./test/fixtures/training.ts#exportedByList");
  });

  it("says a pipeline must be exported when it is not", async () => {
    const root = new URL("..", import.meta.url).pathname;
    await expect(resolvePipelineSource(notExportedHolder.pipe, root)).rejects.toThrow(SourceError);
    await expect(resolvePipelineSource(notExportedHolder.pipe, root)).rejects.toThrow(
      /Pipeline 'hidden_pipeline' is not exported from \.\/test\/fixtures\/training\.ts: it must be exported so that its steps can run in other processes/,
    );
    expect(() => notExportedHolder.pipe.compile()).toThrow(/must be exported/);
    await expect(loadPipelineSource("./test/fixtures/training.ts#loadData", root)).rejects.toThrow(/is not a pipeline/);
  });
});
