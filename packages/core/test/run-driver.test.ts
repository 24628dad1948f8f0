import { describe, expect, it } from "vitest";
import {
  BaseOrchestrator,
  isFinalStatus,
  type OrchestratorCapabilities,
  type PipelineSnapshot,
  pipeline,
  type RunHandle,
  runStep,
  type StepOutcome,
  type SubmitContext,
  step,
} from "../src/index.js";
import { run, stores } from "./helpers.js";

const noop = step({ name: "noop" }, async (_inputs: { up?: number }) => 1);
const chain = pipeline({ name: "chain" }, () => {
  const a = noop({}, { id: "a" });
  const b = noop({ up: a.output }, { id: "b" });
  noop({ up: b.output }, { id: "c" });
});

/**
 * An orchestrator written the careless way: it records step `a` as running
 * (as a container's step process would), then reports the run as it likes
 * and marks nothing.
 */
class CarelessOrchestrator extends BaseOrchestrator {
  readonly type = "orchestrator" as const;
  readonly capabilities: OrchestratorCapabilities = { remote: false, synchronous: true, schedulable: false, honoursResources: true, parallel: false };
  constructor(private readonly outcome: (snapshot: PipelineSnapshot) => StepOutcome[]) {
    super({ id: "o1", name: "careless", flavor: "careless", config: {}, sourceRoot: "." });
  }
  async submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle> {
    await context.store.putStepRun({ runId: context.runId, stepId: "a", stepName: "noop", status: "running", attempt: 1, outputs: {} });
    return { wait: async () => this.outcome(snapshot) };
  }
}

describe("the run driver", () => {
  it("leaves no step running after a run an orchestrator reports stopped", async () => {
    const env = stores();
    const orchestrator = new CarelessOrchestrator((snapshot) => snapshot.steps.map((s) => ({ stepId: s.id, status: "stopped" })));
    const ran = await run(chain, env, {}, { orchestrator });
    expect(ran.status).toBe("stopped");
    expect(Object.values(ran.records).map((r) => [r.stepId, r.status])).toEqual([
      ["a", "stopped"],
      ["b", "stopped"],
      ["c", "stopped"],
    ]);
    expect(ran.records.a?.ended).toBeTypeOf("string");
  });

  it("records a step that started but never finished in a failed run as failed, the others skipped", async () => {
    const env = stores();
    const orchestrator = new CarelessOrchestrator(() => [{ stepId: "a", status: "failed", error: "container lost" }]);
    const ran = await run(chain, env, {}, { orchestrator });
    expect(ran.status).toBe("failed");
    expect(ran.records.a).toMatchObject({ status: "failed", error: "container lost" });
    expect(ran.records.b?.status).toBe("skipped");
    expect(ran.records.c?.status).toBe("skipped");
    expect(Object.values(ran.records).every((r) => isFinalStatus(r.status))).toBe(true);
    expect((await env.store.getRun(ran.runId))?.error).toContain("container lost");
  });

  it("records the run stopped, not failed, when it is stopped while submitting", async () => {
    const env = stores();
    const abort = new AbortController();
    const orchestrator = new CarelessOrchestrator(() => []);
    orchestrator.submit = async () => {
      abort.abort(new Error("stopped by the user"));
      throw new Error("image build interrupted");
    };
    const ran = await run(chain, env, {}, { orchestrator, signal: abort.signal });
    expect(ran.status).toBe("stopped");
    expect(Object.values(ran.records).every((r) => r.status === "stopped")).toBe(true);
  });

  it("records a step running while it runs", async () => {
    const env = stores();
    let seenWhileRunning: string | undefined;
    const slow = step({ name: "slow" }, async (_inputs: { up?: number }, ctx) => {
      await new Promise((done) => setTimeout(done, 300));
      seenWhileRunning = (await env.store.getStepRun(ctx.runId, ctx.stepId))?.status;
      return 2;
    });
    const mixed = pipeline({ name: "mixed" }, () => {
      const quick = noop({}, { id: "quick" });
      slow({ up: quick.output }, { id: "slow" });
    });
    const ran = await run(mixed, env);
    expect(ran.status).toBe("completed");
    // What another process reading the store sees during the slow step.
    expect(seenWhileRunning).toBe("running");
    expect(ran.records.slow?.status).toBe("completed");
  });

  it("writes a step's record under way after runningRecordAfterMs, and not at all when the step ends first", async () => {
    const env = stores();
    const writes: string[] = [];
    const put = env.store.putStepRun.bind(env.store);
    env.store.putStepRun = async (record) => {
      writes.push(`${record.stepId}:${record.status}`);
      return put(record);
    };
    const snapshot = chain.compile({ source: "./test.ts#pipe" });
    const common = { snapshot, runId: "r1", store: env.store, artifactStore: env.artifactStore, pipeline: chain };
    expect(await runStep({ ...common, stepId: "a", runningRecordAfterMs: 60_000 })).toEqual({ stepId: "a", status: "completed" });
    expect(writes).toEqual(["a:completed"]);
    writes.length = 0;
    const sleepy = step({ name: "noop" }, async () => {
      await new Promise((done) => setTimeout(done, 200));
      return 1;
    });
    const slowChain = pipeline({ name: "chain" }, () => {
      sleepy({}, { id: "a" });
    });
    const slowSnapshot = slowChain.compile({ source: "./test.ts#pipe" });
    await runStep({ ...common, snapshot: slowSnapshot, pipeline: slowChain, runId: "r2", stepId: "a", runningRecordAfterMs: 20 });
    expect(writes).toEqual(["a:running", "a:completed"]);
  });
});
