import { describe, expect, it } from "vitest";
import {
  BaseOrchestrator,
  isFinalStatus,
  type OrchestratorCapabilities,
  type PipelineSnapshot,
  pipeline,
  type RunHandle,
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
});
