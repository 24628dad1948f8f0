import { setMaxListeners } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigError,
  EntrypointConfiguration,
  executeDag,
  MemoryRunStore,
  parseStepAttempt,
  pipeline,
  runStep,
  type StepOutcome,
  type StepResultFile,
  step,
} from "../src/index.js";
import { trainingPipeline } from "./fixtures/training.js";
import { run, stores } from "./helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("running steps", () => {
  it("runs the training pipeline, saving outputs, logs and step.json under runs/<run>/<step>", async () => {
    const env = stores();
    const result = await run(trainingPipeline, env);
    expect(result.status).toBe("completed");
    expect(result.steps.map((s) => s.status)).toEqual(["completed", "completed", "completed", "completed"]);
    const base = join(env.root, "runs", result.runId);
    expect(readFileSync(join(base, "load_data", "logs.txt"), "utf8")).toBe("loading 10 rows with seed 42\n");
    expect(result.records.load_data!.logUri).toBe(join(base, "load_data", "logs.txt"));
    const stepFile = JSON.parse(readFileSync(join(base, "split_data", "step.json"), "utf8")) as StepResultFile;
    expect(stepFile.step).toMatchObject({ stepId: "split_data", status: "completed", attempt: 1 });
    expect(stepFile.artifacts.map((a) => a.output).sort()).toEqual(["test", "train"]);
    expect(JSON.parse(readFileSync(join(base, "evaluate", "output", "data.json"), "utf8"))).toBeTypeOf("number");
    expect(result.records.evaluate!.started! <= result.records.evaluate!.ended!).toBe(true);
    expect(await env.store.getRun(result.runId)).toMatchObject({ status: "completed", pipeline: "training_pipeline" });
  });

  it("caches: an unchanged rerun is cached, a changed parameter runs again with its downstream", async () => {
    const env = stores();
    const first = await run(trainingPipeline, env);
    const second = await run(trainingPipeline, env);
    expect(second.steps.map((s) => s.status)).toEqual(["cached", "cached", "cached", "cached"]);
    expect(second.records.train_model!.cachedFrom).toEqual({ runId: first.runId, stepId: "train_model" });
    expect(second.records.train_model!.outputs).toEqual(first.records.train_model!.outputs);

    const third = await run(trainingPipeline, env, { parameters: { testSize: 0.5 } });
    expect(Object.fromEntries(third.steps.map((s) => [s.stepId, s.status]))).toEqual({
      load_data: "cached",
      split_data: "completed",
      train_model: "completed",
      evaluate: "completed",
    });
    const noCache = await run(trainingPipeline, env, { enableCache: false });
    expect(noCache.steps.every((s) => s.status === "completed")).toBe(true);
  });

  it("does not reuse a cached step whose artifacts were deleted", async () => {
    const env = stores();
    const first = await run(trainingPipeline, env);
    await env.artifactStore.rmtree(`runs/${first.runId}/load_data`);
    const second = await run(trainingPipeline, env);
    expect(second.steps.find((s) => s.stepId === "load_data")!.status).toBe("completed");
  });

  it("retries with delay * backoff^n, recording retrying between attempts", async () => {
    const env = stores();
    const attempts: { attempt: number; at: number }[] = [];
    const flaky = step({ name: "flaky", retry: { max_retries: 2, delay: 0.05, backoff: 2 } }, async (_: {}, ctx) => {
      attempts.push({ attempt: ctx.attempt, at: performance.now() });
      if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`);
      return "ok";
    });
    const p = pipeline({ name: "retries" }, () => {
      flaky();
    });
    const statuses: string[] = [];
    const result = await run(p, env, {}, { events: { stepStatus: (_id, status) => statuses.push(status) } });
    expect(result.status).toBe("completed");
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(45);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(95);
    expect(statuses).toEqual(["running", "retrying", "running", "retrying", "running", "completed"]);
    expect(result.records.flaky).toMatchObject({ status: "completed", attempt: 3 });
    const log = readFileSync(join(env.root, "runs", result.runId, "flaky", "logs.txt"), "utf8");
    expect(log).toContain("Step 'flaky' attempt 1 failed: Error: boom 1");
  });

  describe("one attempt per process, the orchestrator retrying", () => {
    // Fails until attempt `succeedAt` (never when 0); a long delay that a single attempt must not wait for.
    const flakyPipeline = (succeedAt: number) => {
      const seen: number[] = [];
      const flaky = step({ name: "flaky", retry: { max_retries: 2, delay: 60, backoff: 2 } }, async (_: {}, ctx) => {
        seen.push(ctx.attempt);
        ctx.log(`attempt ${ctx.attempt} here`);
        if (succeedAt === 0 || ctx.attempt < succeedAt) throw new Error(`boom ${ctx.attempt}`);
        return ctx.attempt;
      });
      const p = pipeline({ name: "one_attempt" }, () => {
        flaky();
      });
      return { p, seen, snapshot: p.compile({ source: "./x.ts#p", enableCache: false }) };
    };

    it("runs the attempt after the recorded one each time: retrying in between, completed on attempt 3, one log", async () => {
      const env = stores();
      const { p, seen, snapshot } = flakyPipeline(3);
      const statuses: string[] = [];
      const once = () => runStep({ snapshot, stepId: "flaky", runId: "r1", pipeline: p, ...env, attempt: "next", onStatus: (status) => statuses.push(status) });
      const started = performance.now();
      const first = await once();
      expect(first).toEqual({ stepId: "flaky", status: "retrying", error: "boom 1" });
      const afterFirst = await env.store.getStepRun("r1", "flaky");
      expect(afterFirst).toMatchObject({ status: "retrying", attempt: 1, error: "boom 1" });
      expect(afterFirst!.ended).toBeUndefined();
      // Not over: no step.json for a client to take as the result.
      expect(existsSync(join(env.root, "runs", "r1", "flaky", "step.json"))).toBe(false);
      expect(await once()).toEqual({ stepId: "flaky", status: "retrying", error: "boom 2" });
      expect(await env.store.getStepRun("r1", "flaky")).toMatchObject({ status: "retrying", attempt: 2, started: afterFirst!.started });
      expect(await once()).toEqual({ stepId: "flaky", status: "completed" });
      expect(performance.now() - started).toBeLessThan(30_000); // the 60 s delay is the orchestrator's to wait
      expect(seen).toEqual([1, 2, 3]);
      expect(statuses).toEqual(["running", "retrying", "running", "retrying", "running", "completed"]);
      const record = await env.store.getStepRun("r1", "flaky");
      expect(record).toMatchObject({ status: "completed", attempt: 3, started: afterFirst!.started });
      const file = JSON.parse(readFileSync(join(env.root, "runs", "r1", "flaky", "step.json"), "utf8")) as StepResultFile;
      expect(file.step).toMatchObject({ status: "completed", attempt: 3 });
      const log = readFileSync(join(env.root, "runs", "r1", "flaky", "logs.txt"), "utf8");
      expect(log.match(/attempt \d here/g)).toEqual(["attempt 1 here", "attempt 2 here", "attempt 3 here"]);
      expect(log).toContain("Step 'flaky' attempt 2 failed: Error: boom 2");
    });

    it("records the last allowed attempt's failure as final, with the attempt count", async () => {
      const env = stores();
      const { p, seen, snapshot } = flakyPipeline(0);
      const outcomes: StepOutcome[] = [];
      for (let i = 0; i < 3; i++) outcomes.push(await runStep({ snapshot, stepId: "flaky", runId: "r2", pipeline: p, ...env, attempt: "next" }));
      expect(outcomes.map((o) => o.status)).toEqual(["retrying", "retrying", "failed"]);
      expect(outcomes[2]!.error).toBe("boom 3 (after 3 attempts)");
      expect(seen).toEqual([1, 2, 3]);
      const record = await env.store.getStepRun("r2", "flaky");
      expect(record).toMatchObject({ status: "failed", attempt: 3, error: "boom 3 (after 3 attempts)" });
      expect(record!.ended).toBeDefined();
      expect((JSON.parse(readFileSync(join(env.root, "runs", "r2", "flaky", "step.json"), "utf8")) as StepResultFile).step).toMatchObject({
        status: "failed",
        attempt: 3,
      });
    });

    it("runs exactly the attempt it is given, and rejects attempts that are not whole numbers from 1", async () => {
      const env = stores();
      const { p, seen, snapshot } = flakyPipeline(2);
      expect(await runStep({ snapshot, stepId: "flaky", runId: "r3", pipeline: p, ...env, attempt: 2 })).toEqual({ stepId: "flaky", status: "completed" });
      expect(seen).toEqual([2]);
      expect(await env.store.getStepRun("r3", "flaky")).toMatchObject({ status: "completed", attempt: 2 });
      // An attempt beyond the policy (an execution run again) runs, and its failure is final.
      const always = flakyPipeline(0);
      expect((await runStep({ snapshot: always.snapshot, stepId: "flaky", runId: "r4", pipeline: always.p, ...env, attempt: 4 })).status).toBe("failed");
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        await expect(runStep({ snapshot, stepId: "flaky", runId: "r5", pipeline: p, ...env, attempt: bad })).rejects.toThrow(ConfigError);
      }
      expect(await env.store.getStepRun("r5", "flaky")).toBeUndefined();
    });

    it("passes the attempt on the entrypoint's command line and reads it back", () => {
      const command = EntrypointConfiguration.commandFor({ snapshot: "s3://b/s.json", step: "train", run: "r1", attempt: "next" });
      expect(command).toEqual(["stackyard", "step", "run", "--snapshot", "s3://b/s.json", "--step", "train", "--run", "r1", "--attempt", "next"]);
      expect(EntrypointConfiguration.parse(command.slice(3))).toEqual({ snapshot: "s3://b/s.json", step: "train", run: "r1", attempt: "next" });
      expect(EntrypointConfiguration.parse(["--snapshot", "s", "--step", "t", "--run", "r", "--attempt", "3"]).attempt).toBe(3);
      expect(EntrypointConfiguration.parse(["--snapshot", "s", "--step", "t", "--run", "r"]).attempt).toBeUndefined();
      expect(parseStepAttempt("12")).toBe(12);
      for (const bad of ["0", "-1", "1.5", "two", "", "01", "next "]) expect(() => parseStepAttempt(bad), bad).toThrow(/Invalid --attempt/);
    });
  });

  it("records a failure with its error, keeps finished artifacts, and skips downstream steps", async () => {
    const env = stores();
    const ok = step({ name: "ok", outputs: { value: "json" } }, async () => ({ value: 1 }));
    const broken = step({ name: "broken" }, async ({ value }: { value: number }) => {
      throw new TypeError(`cannot use ${value}`);
    });
    const after = step({ name: "after_broken" }, async ({ x }: { x: unknown }) => x);
    const p = pipeline({ name: "failing" }, () => {
      const o = ok();
      const b = broken({ value: o.value });
      after({ x: b.output });
    });
    const result = await run(p, env);
    expect(result.status).toBe("failed");
    expect(result.steps).toEqual([
      { stepId: "ok", status: "completed" },
      { stepId: "broken", status: "failed", error: "TypeError: cannot use 1" },
      { stepId: "after_broken", status: "skipped", error: "upstream step 'broken' failed" },
    ]);
    expect(result.records.after_broken!.status).toBe("skipped");
    const artifacts = await env.store.listArtifacts(result.runId);
    expect(artifacts.map((a) => a.stepId)).toEqual(["ok"]);
    expect(readFileSync(join(artifacts[0]!.uri, "data.json"), "utf8")).toBe("1");
    const stepFile = JSON.parse(readFileSync(join(env.root, "runs", result.runId, "broken", "step.json"), "utf8")) as StepResultFile;
    expect(stepFile.step).toMatchObject({ status: "failed", error: "TypeError: cannot use 1" });
    expect((await env.store.getRun(result.runId))!.error).toBe("step 'broken' failed: TypeError: cannot use 1");
  });

  it("checks what a step returns against its declared outputs", async () => {
    const env = stores();
    const missing = step({ name: "missing", outputs: { a: "json", b: "json" } }, async () => ({ a: 1 }) as never);
    const extra = step({ name: "extra", outputs: { a: "json" } }, async () => ({ a: 1, c: 2 }) as never);
    const p = pipeline({ name: "outputs" }, () => {
      missing();
      extra();
    });
    const result = await run(p, env, {}, { failFast: false });
    expect(result.records.missing!.error).toBe("Step 'missing' did not return its output 'b'");
    expect(result.records.extra!.error).toBe("Step 'extra' returned output 'c', which it does not declare (outputs: a)");
  });

  it("keeps the output of parallel steps apart", async () => {
    const env = stores();
    const talk = step({ name: "talk", parameters: z.object({ who: z.string() }) }, async (_: {}, ctx) => {
      for (let i = 0; i < 5; i++) {
        console.log(`${ctx.parameters.who} ${i}`);
        process.stdout.write(`${ctx.parameters.who} raw ${i}\n`);
        await sleep(2);
      }
      console.error(`${ctx.parameters.who} done`);
      ctx.log("via ctx", ctx.parameters.who);
      return ctx.parameters.who;
    });
    const p = pipeline({ name: "chatty" }, () => {
      talk({}, { parameters: { who: "a" } });
      talk({}, { parameters: { who: "b" } });
    });
    const lines: Record<string, string[]> = { talk: [], talk_2: [] };
    const result = await run(p, env, {}, { events: { stepLog: (id, line) => lines[id]!.push(line) } });
    expect(result.status).toBe("completed");
    const logA = readFileSync(join(env.root, "runs", result.runId, "talk", "logs.txt"), "utf8");
    expect(logA).not.toMatch(/\bb\b/);
    expect(logA.split("\n").filter((l) => l.startsWith("a "))).toHaveLength(11);
    expect(logA).toContain("via ctx a");
    expect(lines.talk_2).toContain("b done");
    expect(lines.talk_2!.every((line) => !line.startsWith("a "))).toBe(true);
  });

  it("lets a log listener print to the console, as the CLI does", async () => {
    const env = stores();
    const seen: string[] = [];
    const result = await run(
      trainingPipeline,
      env,
      {},
      {
        events: {
          stepLog: (id, line) => {
            seen.push(line);
            console.log(`[${id}] ${line}`);
          },
        },
      },
    );
    expect(result.status).toBe("completed");
    expect(seen).toEqual(["loading 10 rows with seed 42"]);
  });

  it("stops a step when the run is aborted, without starting others", async () => {
    const env = stores();
    const slow = step({ name: "slow", outputs: { v: "json" } }, async (_: {}, ctx) => {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 5000);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new Error("aborted"));
        });
      });
      return { v: 1 };
    });
    const next = step({ name: "next" }, async ({ v }: { v: number }) => v);
    const p = pipeline({ name: "stoppable" }, () => {
      next({ v: slow().v });
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const result = await run(p, env, {}, { signal: controller.signal });
    expect(result.status).toBe("stopped");
    expect(result.steps.map((s) => s.status)).toEqual(["stopped", "stopped"]);
  });

  it("stops on a signal whose listener limit the caller lifted (set to 0)", async () => {
    const env = stores();
    const waits = step({ name: "waits", outputs: { v: "json" } }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      return { v: 1 };
    });
    const p = pipeline({ name: "lifted" }, () => {
      waits();
    });
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const result = await run(p, env, {}, { signal: controller.signal });
    expect(result.status).toBe("stopped");
  });

  it("runs one step by id against a snapshot, as a step process does", async () => {
    const env = stores();
    const snapshot = trainingPipeline.compile({ source: "./x.ts#trainingPipeline" });
    const outcome = await runStep({ snapshot, stepId: "load_data", runId: "run-1", pipeline: trainingPipeline, ...env });
    expect(outcome).toEqual({ stepId: "load_data", status: "completed" });
    const downstream = await runStep({ snapshot, stepId: "train_model", runId: "run-1", pipeline: trainingPipeline, ...env });
    expect(downstream).toEqual({
      stepId: "train_model",
      status: "failed",
      error: "StepFailedError: Input 'train' of step 'train_model' needs output 'train' of step 'split_data', which run run-1 has not produced",
    });
    await expect(runStep({ snapshot, stepId: "nope", runId: "run-1", pipeline: trainingPipeline, ...env })).rejects.toThrow(
      /Step 'nope' is not part of snapshot .* \(steps: load_data, split_data, train_model, evaluate\)/,
    );
  });
});

describe("executeDag", () => {
  const chain = (ids: string[]) => ids.map((id, i) => ({ id, upstream: i ? [ids[i - 1]!] : [] }));

  it("runs independent steps in parallel up to the concurrency limit", async () => {
    const steps = Array.from({ length: 8 }, (_, i) => ({ id: `s${i}`, upstream: [] }));
    let running = 0;
    let peak = 0;
    const outcomes = await executeDag({
      steps,
      concurrency: 3,
      runOne: async (stepId) => {
        peak = Math.max(peak, ++running);
        await sleep(20);
        running--;
        return { stepId, status: "completed" };
      },
      markSkipped: () => {},
    });
    expect(peak).toBe(3);
    expect(outcomes.map((o) => o.status)).toEqual(Array(8).fill("completed"));
  });

  it("fails fast by default: running steps finish, nothing new starts, the rest is skipped", async () => {
    const steps = [{ id: "fail", upstream: [] }, { id: "long", upstream: [] }, { id: "late", upstream: [] }, ...chain(["x", "y"])];
    const started: string[] = [];
    const skipped: string[] = [];
    const outcomes = await executeDag({
      steps,
      concurrency: 2,
      runOne: async (stepId): Promise<StepOutcome> => {
        started.push(stepId);
        if (stepId === "fail") return { stepId, status: "failed", error: "no" };
        await sleep(30);
        return { stepId, status: "completed" };
      },
      markSkipped: (id) => {
        skipped.push(id);
      },
    });
    expect(started).toEqual(["fail", "long"]);
    expect(Object.fromEntries(outcomes.map((o) => [o.stepId, o.status]))).toEqual({
      fail: "failed",
      long: "completed",
      late: "skipped",
      x: "skipped",
      y: "skipped",
    });
    expect(skipped.sort()).toEqual(["late", "x", "y"]);
  });

  it("continues on failure when asked, skipping only what depends on the failed step", async () => {
    const steps = [...chain(["a", "b", "c"]), ...chain(["d", "e"])];
    const outcomes = await executeDag({
      steps,
      failFast: false,
      runOne: async (stepId) => (stepId === "a" ? Promise.reject(new Error("crashed")) : { stepId, status: "completed" }),
      markSkipped: () => {},
    });
    expect(outcomes).toEqual([
      { stepId: "a", status: "failed", error: "crashed" },
      { stepId: "b", status: "skipped", error: "upstream step 'a' failed" },
      { stepId: "c", status: "skipped", error: "upstream step 'a' failed" },
      { stepId: "d", status: "completed" },
      { stepId: "e", status: "completed" },
    ]);
  });

  it("finishes 16 parallel 200 ms steps in well under 16 times one", async () => {
    const env = stores();
    const nap = step({ name: "nap" }, async () => {
      await sleep(200);
      return 1;
    });
    const p = pipeline({ name: "naps" }, () => {
      for (let i = 0; i < 16; i++) nap();
    });
    const started = performance.now();
    const result = await run(p, env, {}, { concurrency: 16 });
    const elapsed = performance.now() - started;
    expect(result.steps.every((s) => s.status === "completed")).toBe(true);
    expect(elapsed).toBeLessThan(200 * 4);
  });
});

describe("MemoryRunStore", () => {
  it("finds runs by id or name, filters, and copies records in and out", async () => {
    const store = new MemoryRunStore();
    const base = { pipeline: "p", snapshotId: "s", snapshotUri: "u", stack: "default", orchestrator: "local", status: "running" as const };
    await store.createRun({ ...base, id: "1", name: "first", created: "2025-01-01T00:00:00Z" });
    await store.createRun({ ...base, id: "2", name: "second", created: "2025-01-02T00:00:00Z", pipeline: "q" });
    expect((await store.getRun("first"))!.id).toBe("1");
    expect((await store.listRuns()).map((r) => r.id)).toEqual(["2", "1"]);
    expect((await store.listRuns({ pipeline: "p" })).map((r) => r.id)).toEqual(["1"]);
    await store.updateRun("1", { status: "completed" });
    expect((await store.listRuns({ status: "completed" })).map((r) => r.id)).toEqual(["1"]);
    const record = { runId: "1", stepId: "a", stepName: "a", status: "completed" as const, attempt: 1, outputs: { o: "art" }, cacheKey: "k" };
    await store.putStepRun(record);
    record.outputs.o = "changed";
    expect((await store.findCachedStep("k"))!.outputs).toEqual({ o: "art" });
    await store.deleteRun("1");
    expect(await store.findCachedStep("k")).toBeUndefined();
    expect(await store.getRun("1")).toBeUndefined();
  });
});

describe("a running step's log", () => {
  it("is written out while the step runs, so that it can be followed, and whole when it ends", async () => {
    const env = stores();
    let seenWhileRunning: string | undefined;
    let recordWhileRunning: string | undefined;
    const slow = step({ name: "slow" }, async (_: {}, ctx) => {
      console.log("first line");
      await sleep(1_600);
      seenWhileRunning = readFileSync(join(env.root, "runs", ctx.runId, "slow", "logs.txt"), "utf8");
      recordWhileRunning = (await env.store.getStepRun(ctx.runId, "slow"))?.logUri;
      console.log("second line");
      return 1;
    });
    const quiet = step({ name: "quiet" }, async () => 2);
    const result = await run(
      pipeline({ name: "live_log" }, () => {
        slow();
        quiet();
      }),
      env,
    );
    expect(seenWhileRunning).toBe("first line\n");
    expect(recordWhileRunning).toBe(join(env.root, "runs", result.runId, "slow", "logs.txt"));
    expect(readFileSync(result.records.slow!.logUri!, "utf8")).toBe("first line\nsecond line\n");
    // A step that printed nothing has no log.
    expect(result.records.quiet!.logUri).toBeUndefined();
    expect(existsSync(join(env.root, "runs", result.runId, "quiet", "logs.txt"))).toBe(false);
  });
});
