import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { executeDag, externalArtifact, MAP_METADATA_KEY, type MapSummary, PipelineDefinitionError, pipeline, step, unmapped } from "../src/index.js";
import { run, stores } from "./helpers.js";

const split = step({ name: "split", outputs: { items: "json", offset: "json" }, parameters: z.object({ n: z.number().default(5) }) }, (_: {}, ctx) => ({
  items: Array.from({ length: ctx.parameters.n }, (_, i) => ({ shard: i, rows: i * 10 })),
  offset: 1000,
}));

const score = step(
  { name: "score", parameters: z.object({ failOn: z.array(z.number()).default([]) }) },
  async ({ shard, offset }: { shard: { shard: number; rows: number }; offset: number }, ctx) => {
    if (ctx.parameters.failOn.includes(shard.shard)) throw new Error(`shard ${shard.shard} is corrupt`);
    ctx.log(`scoring shard ${shard.shard}`);
    return offset + shard.rows;
  },
);

const report = step({ name: "report" }, ({ scores }: { scores: number[] }) => ({ total: scores.reduce((a, b) => a + b, 0), scores }));

function mapPipeline(options: { concurrency?: number; tolerateFailures?: number | `${number}%` } = {}) {
  return pipeline({ name: "mapped", parameters: z.object({ n: z.number().default(5), failOn: z.array(z.number()).default([]) }) }, (p) => {
    const shards = split({}, { parameters: { n: p.n } });
    const scores = score.map({ shard: shards.items, offset: unmapped(shards.offset) }, { parameters: { failOn: p.failOn }, ...options });
    report({ scores: scores.collect() });
  });
}

describe("map steps", () => {
  it("runs one step run per item, each with its own log and output, and collects them in item order", async () => {
    const env = stores();
    const result = await run(mapPipeline(), env);
    expect(result.status).toBe("completed");
    expect(result.steps.map((s) => `${s.stepId}:${s.status}`)).toEqual(["split:completed", "score:completed", "report:completed"]);
    expect(Object.keys(result.records).sort()).toEqual(["report", "score", "score[0]", "score[1]", "score[2]", "score[3]", "score[4]", "split"]);
    expect(result.records["score[3]"]).toMatchObject({ stepName: "score", status: "completed" });
    expect(readFileSync(join(env.root, "runs", result.runId, "score[3]", "logs.txt"), "utf8")).toBe("scoring shard 3\n");
    expect(result.records.score!.metadata?.[MAP_METADATA_KEY]).toMatchObject({ items: 5, completed: 5, failed: [] });
    const out = JSON.parse(readFileSync(join(env.root, "runs", result.runId, "report", "output", "data.json"), "utf8"));
    expect(out).toEqual({ total: 5000 + 100, scores: [1000, 1010, 1020, 1030, 1040] });
    // Lineage: the collector consumed each item's output; an item consumed the list.
    const itemOutput = result.records["score[2]"]!.outputs.output!;
    expect(result.records.report!.inputs?.["scores[2]"]).toBe(itemOutput);
    expect(result.records["score[2]"]!.inputs?.shard).toBe(result.records.split!.outputs.items);
    const version = await env.store.getArtifact(itemOutput);
    expect(version?.name).toBe("mapped.score.output");
  });

  it("an empty list runs zero items and the collector gets []", async () => {
    const env = stores();
    const result = await run(mapPipeline(), env, { parameters: { n: 0 } });
    expect(result.status).toBe("completed");
    expect(Object.keys(result.records).sort()).toEqual(["report", "score", "split"]);
    const out = JSON.parse(readFileSync(join(env.root, "runs", result.runId, "report", "output", "data.json"), "utf8"));
    expect(out).toEqual({ total: 0, scores: [] });
  });

  it("fails fast by default: a failed item fails the map, skips the collector and fails the run", async () => {
    const env = stores();
    const result = await run(mapPipeline({ concurrency: 1 }), env, { parameters: { failOn: [1] } });
    expect(result.status).toBe("failed");
    expect(result.records.score).toMatchObject({ status: "failed" });
    expect(result.records.score!.error).toContain("score[1]: shard 1 is corrupt");
    expect(result.records.report!.status).toBe("skipped");
    // With one item at a time, nothing starts after the failure.
    expect(result.records["score[2]"]).toBeUndefined();
    expect((result.records.score!.metadata![MAP_METADATA_KEY] as unknown as MapSummary).notStarted).toBe(3);
  });

  it("tolerates failures up to a count or a percentage, collecting only the successes in order", async () => {
    const env = stores();
    const tolerated = await run(mapPipeline({ tolerateFailures: 2 }), env, { parameters: { failOn: [0, 3] } });
    expect(tolerated.status).toBe("completed");
    expect(tolerated.records.score!.metadata?.[MAP_METADATA_KEY]).toMatchObject({ items: 5, completed: 3, failed: [0, 3], tolerated: 2 });
    const out = JSON.parse(readFileSync(join(env.root, "runs", tolerated.runId, "report", "output", "data.json"), "utf8"));
    expect(out.scores).toEqual([1010, 1020, 1040]);

    const tooMany = await run(mapPipeline({ tolerateFailures: "20%" }), env, { parameters: { failOn: [0, 3] } });
    expect(tooMany.status).toBe("failed");
    expect(tooMany.records.score!.error).toMatch(/^2 of 5 items failed \(1 tolerated\)/);
  });

  it("caches per item: a rerun with one changed element runs that item only", async () => {
    const env = stores();
    const first = await run(mapPipeline(), env);
    const second = await run(mapPipeline(), env);
    expect(second.steps.map((s) => s.status)).toEqual(["cached", "cached", "cached"]);
    expect(second.records["score[4]"]!.cachedFrom).toEqual({ runId: first.runId, stepId: "score[4]" });
    // One more shard: items 0-4 are unchanged and reused, item 5 runs, the collector runs again.
    const third = await run(mapPipeline(), env, { parameters: { n: 6 } });
    const statuses = Object.fromEntries(Object.entries(third.records).map(([id, r]) => [id, r.status]));
    expect(statuses).toMatchObject({ split: "completed", "score[0]": "cached", "score[4]": "cached", "score[5]": "completed", report: "completed" });
  });

  it("runs items in parallel up to the map's concurrency", async () => {
    let running = 0;
    let most = 0;
    const slow = step({ name: "slow" }, async ({ x }: { x: number }) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running--;
      return x * 2;
    });
    const make = step({ name: "make" }, () => Array.from({ length: 12 }, (_, i) => i));
    const sum = step({ name: "sum" }, ({ xs }: { xs: number[] }) => xs.reduce((a, b) => a + b, 0));
    const p = pipeline({ name: "parallel_map" }, () => {
      sum({ xs: slow.map({ x: make().output }, { concurrency: 3 }).collect() });
    });
    const result = await run(p, stores());
    expect(result.status).toBe("completed");
    expect(most).toBe(3);
  });

  it("product() runs every combination, the last list varying fastest", async () => {
    const grid = step({ name: "grid", outputs: { lrs: "json", depths: "json" } }, () => ({ lrs: [0.1, 0.01], depths: [2, 4, 8] }));
    const train = step({ name: "train" }, ({ lr, depth }: { lr: number; depth: number }) => `${lr}/${depth}`);
    const pick = step({ name: "pick" }, ({ all }: { all: string[] }) => all);
    const p = pipeline({ name: "grid_search" }, () => {
      const g = grid();
      pick({ all: train.product({ lr: g.lrs, depth: g.depths }).collect() });
    });
    const env = stores();
    const result = await run(p, env);
    const out = JSON.parse(readFileSync(join(env.root, "runs", result.runId, "pick", "output", "data.json"), "utf8"));
    expect(out).toEqual(["0.1/2", "0.1/4", "0.1/8", "0.01/2", "0.01/4", "0.01/8"]);
  });

  it("fails the map, naming the step and input, when a mapped output is not a list or zipped lists differ", async () => {
    const notList = step({ name: "not_list" }, () => ({ a: 1 }));
    const use = step({ name: "use" }, ({ v }: { v: number }) => v);
    const p = pipeline({ name: "bad_map" }, () => {
      use.map({ v: notList().output as never });
    });
    const result = await run(p, stores());
    expect(result.status).toBe("failed");
    expect(result.records.use!.error).toBe("Map step 'use' maps input 'v' over output 'output' of step 'not_list', which is not a list (it holds object)");

    const two = step({ name: "two", outputs: { a: "json", b: "json" } }, () => ({ a: [1, 2], b: [1, 2, 3] }));
    const add = step({ name: "add" }, ({ a, b }: { a: number; b: number }) => a + b);
    const zipped = pipeline({ name: "bad_zip" }, () => {
      const t = two();
      add.map({ a: t.a, b: t.b });
    });
    const z2 = await run(zipped, stores());
    expect(z2.records.add!.error).toContain("Map step 'add' zips lists of different lengths (a: 2, b: 3)");
  });

  it("maps over the collected outputs of another map", async () => {
    const make = step({ name: "make" }, () => [1, 2, 3]);
    const double = step({ name: "double" }, ({ x }: { x: number }) => x * 2);
    const square = step({ name: "square" }, ({ x }: { x: number }) => x * x);
    const all = step({ name: "all" }, ({ xs }: { xs: number[] }) => xs);
    const p = pipeline({ name: "chained" }, () => {
      const doubled = double.map({ x: make().output });
      all({ xs: square.map({ x: doubled.collect() }).collect() });
    });
    const env = stores();
    const result = await run(p, env);
    const out = JSON.parse(readFileSync(join(env.root, "runs", result.runId, "all", "output", "data.json"), "utf8"));
    expect(out).toEqual([4, 16, 36]);
  });

  it("refuses bad wiring when the pipeline compiles, naming the step", () => {
    const make = step({ name: "make" }, () => [1, 2, 3]);
    const text = step({ name: "text", outputs: { t: "text" } }, () => ({ t: "abc" }));
    const double = step({ name: "double" }, ({ x }: { x: number }) => x * 2);
    const all = step({ name: "all" }, ({ xs }: { xs: number[] }) => xs);
    const compile = (body: () => void) => () => pipeline({ name: "p" }, body).compile({ source: "./p.ts#p" });
    expect(
      compile(() => {
        const d = double.map({ x: make().output });
        all({ xs: (d as unknown as { output: never }).output });
      }),
    ).toThrow("Input 'xs' of step 'all' is wired to output 'output' of map step 'double', which has one value per item");
    expect(compile(() => double.map({ x: text().t as never }))).toThrow(
      "Map step 'double' maps input 'x' over output 't' of step 'text', which its materializer 'text' stores as one value, not a list",
    );
    expect(compile(() => double.map({ x: unmapped(make().output) as never }))).toThrow("double.map() of step 'double' maps over nothing");
    expect(compile(() => double.map({ x: make().output }, { concurrency: 0 }))).toThrow("concurrency of map step 'double' must be a whole number from 1");
    expect(compile(() => double.map({ x: make().output }, { tolerateFailures: "150%" as never }))).toThrow(PipelineDefinitionError);
    expect(compile(() => double({ x: unmapped(make().output) as never }))).toThrow("only means something in double.map()");
    // An external artifact is passed whole.
    const snapshot = pipeline({ name: "ext" }, () => {
      double.map({ x: make().output, model: externalArtifact("m") } as never);
    }).compile({ source: "./p.ts#p" });
    expect(snapshot.steps.find((s) => s.id === "double")!.map).toEqual({ inputs: ["x"], mode: "zip" });
  });
});

describe("executeDag with map steps", () => {
  it("fails a map step with a clear message when no map runtime is given", async () => {
    const outcomes = await executeDag({
      steps: [{ id: "m", upstream: [], map: { inputs: ["x"], mode: "zip" } }],
      runOne: async (stepId) => ({ stepId, status: "completed" }),
      markSkipped: () => {},
    });
    expect(outcomes[0]).toMatchObject({ status: "failed", error: expect.stringContaining("pass context.maps to executeDag") });
  });

  it("counts items within the DAG's concurrency, skipping those the runtime answered", async () => {
    const started: string[] = [];
    let running = 0;
    let most = 0;
    const summaries: MapSummary[] = [];
    const outcomes = await executeDag({
      steps: [
        { id: "a", upstream: [] },
        { id: "m", upstream: ["a"], map: { inputs: ["x"], mode: "zip" } },
        { id: "b", upstream: ["m"] },
      ],
      concurrency: 2,
      runOne: async (stepId) => {
        started.push(stepId);
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return { stepId, status: "completed" };
      },
      markSkipped: () => {},
      maps: {
        expand: async () => ({ items: 6, done: new Map([[2, { stepId: "m[2]", status: "cached" as const }]]) }),
        finish: async (stepId, summary) => {
          summaries.push(summary);
          return { stepId, status: summary.status };
        },
      },
    });
    expect(outcomes.map((o) => o.status)).toEqual(["completed", "completed", "completed"]);
    expect(started).toEqual(["a", "m[0]", "m[1]", "m[3]", "m[4]", "m[5]", "b"]);
    expect(most).toBe(2);
    expect(summaries[0]).toMatchObject({ items: 6, completed: 5, cached: 1, failed: [], notStarted: 0 });
  });
});
