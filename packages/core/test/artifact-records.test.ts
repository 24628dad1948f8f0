// What the engine records about artifacts: names and versions, the versions
// each step consumed, metadata logged by steps, external artifacts as
// inputs, and the onSuccess/onFailure hooks.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { externalArtifact, metadata, NotFoundError, pipeline, step } from "../src/index.js";
import { run, stores } from "./helpers.js";

const make = step({ name: "make", outputs: { numbers: "json", note: { materializer: "text", name: "release_note" } } }, async (_: {}, ctx) => {
  ctx.logMetadata({ rows: 3, source: metadata.uri("s3://bucket/data.csv") });
  ctx.logMetadata({ min: 1, max: 3 }, { output: "numbers" });
  return { numbers: [1, 2, 3], note: "first release" };
});

const total = step({ name: "total" }, async ({ numbers }: { numbers: number[] }, ctx) => {
  const sum = numbers.reduce((a, b) => a + b, 0);
  ctx.logMetadata({ total: sum, took: metadata.duration(0.25) }, { run: true });
  return sum;
});

const numbersPipeline = pipeline({ name: "numbers" }, () => {
  const { numbers } = make();
  total({ numbers });
});

describe("artifact records", () => {
  it("names outputs <pipeline>.<step>.<output> unless the step names them, and each new save is the next version", async () => {
    const env = stores();
    const first = await run(numbersPipeline, env);
    const second = await run(numbersPipeline, env, { enableCache: false });
    const third = await run(numbersPipeline, env); // cached: links version 2, makes none
    expect(third.steps.map((s) => s.status)).toEqual(["cached", "cached"]);
    const versions = await env.store.listArtifactVersions("numbers.make.numbers");
    expect(versions.map((v) => [v.version, v.runId])).toEqual([
      [2, second.runId],
      [1, first.runId],
    ]);
    expect((await env.store.findArtifactVersion("release_note"))?.version).toBe(2);
    expect((await env.store.listArtifactNames()).map((n) => n.name)).toEqual(["numbers.make.numbers", "numbers.total.output", "release_note"]);
    expect(third.records.make!.outputs.numbers).toBe(versions[0]!.id);
    // What the cached steps logged describes the outputs the run reused: it gets it too.
    expect((await env.store.getRun(third.runId))?.metadata).toEqual({ total: 6, took: { $type: "duration", seconds: 0.25 } });
    expect(third.records.make!.metadata).toEqual({ rows: 3, source: { $type: "uri", value: "s3://bucket/data.csv" } });
  });

  it("records metadata on the step run, the run and the output version, and the versions each step consumed", async () => {
    const env = stores();
    const result = await run(numbersPipeline, env);
    expect(result.records.make!.metadata).toEqual({ rows: 3, source: { $type: "uri", value: "s3://bucket/data.csv" } });
    expect((await env.store.getRun(result.runId))?.metadata).toEqual({ total: 6, took: { $type: "duration", seconds: 0.25 } });
    const numbers = await env.store.findArtifactVersion("numbers.make.numbers");
    expect(numbers?.metadata).toEqual({ min: 1, max: 3 });
    expect(result.records.total!.inputs).toEqual({ numbers: numbers!.id });
    expect((await env.store.listConsumers(numbers!.id)).map((s) => s.stepId)).toEqual(["total"]);
    // What a remote client reads carries the same information.
    const file = JSON.parse(readFileSync(`${env.root}/runs/${result.runId}/total/step.json`, "utf8"));
    expect(file.step.runMetadata).toEqual({ total: 6, took: { $type: "duration", seconds: 0.25 } });
    expect(file.step.inputs).toEqual({ numbers: numbers!.id });
  });

  it("fails the step, naming the key, when a step logs metadata that is not JSON or for an output it lacks", async () => {
    const env = stores();
    const bad = step({ name: "bad" }, async (_: {}, ctx) => {
      ctx.logMetadata({ when: new Date() as unknown as string });
      return 1;
    });
    const wrongOutput = step({ name: "wrong" }, async (_: {}, ctx) => {
      ctx.logMetadata({ a: 1 }, { output: "nope" });
      return 1;
    });
    const result = await run(
      pipeline({ name: "bad_metadata" }, () => {
        bad();
        wrongOutput();
      }),
      env,
      {},
      { failFast: false },
    );
    expect(result.records.bad!.status).toBe("failed");
    expect(result.records.bad!.error).toMatch(/Metadata 'when' for step 'bad' is not JSON/);
    expect(result.records.wrong!.error).toMatch(/output 'nope', which it does not declare \(outputs: output\)/);
  });

  it("reads an external artifact version as an input: its newest, a number or a tag, cached while that version stays", async () => {
    const env = stores();
    await run(numbersPipeline, env);
    await run(numbersPipeline, env, { enableCache: false });
    const v1 = (await env.store.findArtifactVersion("numbers.make.numbers", { version: 1 }))!;
    await env.store.tag({ artifact: v1.id }, ["production"]);
    const seen: number[][] = [];
    const consume = step({ name: "consume" }, async ({ numbers }: { numbers: number[] }) => {
      seen.push(numbers);
      return numbers.length;
    });
    const consumer = (which: { version?: number; tag?: string }) =>
      pipeline({ name: "consumer" }, () => {
        consume({ numbers: externalArtifact<number[]>("numbers.make.numbers", which) });
      });
    const byTag = await run(consumer({ tag: "production" }), env);
    expect(byTag.status).toBe("completed");
    expect(byTag.records.consume!.inputs).toEqual({ numbers: v1.id });
    const external = byTag.snapshot.steps[0]!.external!.numbers!;
    expect(external).toMatchObject({ name: "numbers.make.numbers", tag: "production" });
    expect(external.artifact).toBeUndefined(); // resolved when the run starts, into the stored snapshot
    const again = await run(consumer({ version: 1 }), env);
    expect(again.steps.map((s) => s.status)).toEqual(["cached"]);
    const newest = await run(consumer({}), env);
    expect(newest.steps.map((s) => s.status)).toEqual(["cached"]); // same bytes as version 1: the cache key follows content
    expect(seen).toHaveLength(1);
    await expect(run(consumer({ version: 7 }), env)).rejects.toThrow(NotFoundError);
    await expect(run(consumer({ version: 7 }), env)).rejects.toThrow(/Input 'numbers' of step 'consume' needs version 7 of artifact 'numbers.make.numbers'/);
    expect(() => externalArtifact("bad name")).toThrow(/invalid artifact name/);
  });

  it("runs onSuccess and onFailure hooks in the step's process; a failing hook never changes the outcome", async () => {
    const env = stores();
    const calls: string[] = [];
    const ok = step(
      {
        name: "ok",
        onSuccess: (ctx) => {
          calls.push(`success ${ctx.stepId} ${JSON.stringify(ctx.outputs)}`);
          throw new Error("the alert service is down");
        },
      },
      async () => 42,
    );
    const boom = step({ name: "boom", retry: { max_retries: 1, delay: 0 } }, async (): Promise<number> => {
      throw new Error("disk full");
    });
    const result = await run(
      pipeline(
        {
          name: "hooks",
          onFailure: (ctx) => {
            calls.push(`failure ${ctx.stepId} attempt ${ctx.attempt}: ${ctx.error}`);
            ctx.log("paged the on-call engineer");
          },
        },
        () => {
          ok();
          boom();
        },
      ),
      env,
      {},
      { failFast: false },
    );
    expect(result.records.ok!.status).toBe("completed");
    expect(result.records.boom!.status).toBe("failed");
    expect(calls.sort()).toEqual(["failure boom attempt 2: disk full (after 2 attempts)", 'success ok {"output":42}']);
    const okLog = readFileSync(`${env.root}/runs/${result.runId}/ok/logs.txt`, "utf8");
    expect(okLog).toContain("its onSuccess hook failed: Error: the alert service is down");
    expect(readFileSync(`${env.root}/runs/${result.runId}/boom/logs.txt`, "utf8")).toContain("paged the on-call engineer");
    expect(() => step({ name: "x", onFailure: "nope" as never }, async () => 1)).toThrow(/'onFailure' of 'x' must be a function/);
  });
});
