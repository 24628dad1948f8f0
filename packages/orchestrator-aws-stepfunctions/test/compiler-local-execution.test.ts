// Runs compiled definitions in-process with aws-local-stepfunctions; each ECS
// Task state is replaced by a local handler that records order and concurrency
// (the Docker-backed handler comes with the orchestrator implementation).
import { allowedFailures, EntrypointConfiguration, type MapSpec } from "@stackyard/core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CompiledStateMachine,
  compileStateMachine,
  MAP_FAILED_ERROR,
  parseStepFailure,
  S3_GET_OBJECT_SDK,
  STEP_FAILED_ERROR,
} from "../src/compiler/index.js";
import { baseOptions, diamond, makeSnapshot, prng, randomDag, type StepSpec, shuffled } from "./compiler.helpers.js";

// aws-local-stepfunctions 3 declares Node >= 22 and calls Promise.withResolvers.
type WithResolvers = <T>() => { promise: Promise<T>; resolve: (value: T) => void; reject: (reason?: unknown) => void };
const promiseCtor = Promise as unknown as { withResolvers?: WithResolvers };
if (!promiseCtor.withResolvers) {
  promiseCtor.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

type Sfn = typeof import("aws-local-stepfunctions");
let sfn: Sfn;
beforeAll(async () => {
  sfn = await import("aws-local-stepfunctions");
});

interface Recorder {
  events: { step: string; kind: "start" | "end" | "fail" }[];
  attempts: Map<string, number>;
  maxRunning: number;
}

/**
 * Local handlers for every Task state: check the ECS request the state sends,
 * sleep a little (seeded), record start/end, and fail where asked.
 */
function localHandlers(
  compiled: CompiledStateMachine,
  runId: string,
  steps: readonly StepSpec[],
  options: { seed: number; failures?: Record<string, number> },
) {
  const rng = prng(options.seed);
  const record: Recorder = { events: [], attempts: new Map(), maxRunning: 0 };
  let running = 0;
  const handlers: Record<string, (input: any) => Promise<{ TaskArn: string; LastStatus: string }>> = {};
  for (const [stepId, stateName] of Object.entries(compiled.stateNames)) {
    const delay = 1 + Math.floor(rng() * 15);
    handlers[stateName] = async (input) => {
      const container = input.Overrides.ContainerOverrides[0];
      // A step with retries runs one attempt per task, numbered after the one its record shows.
      const retried = (steps.find((s) => s.id === stepId)?.retry?.max_retries ?? 0) > 0;
      expect(container.Command).toEqual(
        EntrypointConfiguration.commandFor({ snapshot: baseOptions.snapshotUri, step: stepId, run: runId, ...(retried ? { attempt: "next" as const } : {}) }),
      );
      expect(input.Cluster).toBe(baseOptions.clusterArn);
      expect(input.TaskDefinition).toBe(baseOptions.taskDefinitionArn);
      expect(input.LaunchType).toBe("FARGATE");
      expect(input.NetworkConfiguration.AwsvpcConfiguration.Subnets).toEqual(baseOptions.subnets);
      expect(container.Name).toBe(baseOptions.containerName);
      expect(container.Environment).toEqual(Object.entries(baseOptions.environment!).map(([Name, Value]) => ({ Name, Value })));
      const attempt = (record.attempts.get(stepId) ?? 0) + 1;
      record.attempts.set(stepId, attempt);
      record.events.push({ step: stepId, kind: "start" });
      running++;
      record.maxRunning = Math.max(record.maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, delay));
      running--;
      if (attempt <= (options.failures?.[stepId] ?? 0)) {
        record.events.push({ step: stepId, kind: "fail" });
        const error = new Error(`Essential container in task exited (attempt ${attempt})`);
        error.name = "States.TaskFailed";
        throw error;
      }
      record.events.push({ step: stepId, kind: "end" });
      return { TaskArn: `arn:aws:ecs:eu-west-1:123456789012:task/stackyard/${stepId}`, LastStatus: "STOPPED" };
    };
  }
  return { handlers, record };
}

async function run(steps: StepSpec[], options: { seed: number; failures?: Record<string, number>; sharedParameters?: "inline" | "input" }) {
  const compiled = compileStateMachine(makeSnapshot(steps), {
    ...baseOptions,
    executionInput: { origin: "test" },
    sharedParameters: options.sharedParameters ?? "inline",
  });
  const runId = `run-${options.seed}`;
  const { handlers, record } = localHandlers(compiled, runId, steps, options);
  const retryIntervalOverrides = Object.fromEntries(Object.values(compiled.stateNames).map((name) => [name, 0]));
  const machine = new sfn.StateMachine(JSON.parse(compiled.json));
  const execution = machine.run(compiled.executionInput as { [key: string]: string }, {
    context: { Execution: { Name: runId } },
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides },
  });
  const events: { type: string; name?: string; error?: string; cause?: unknown }[] = [];
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      const e = event as { type: string; state?: { name: string }; Error?: string; Cause?: unknown };
      events.push({ type: e.type, ...(e.state ? { name: e.state.name } : {}), ...(e.Error ? { error: e.Error, cause: e.Cause } : {}) });
    }
  })();
  let output: unknown;
  let failure: unknown;
  try {
    output = await execution.result;
  } catch (error) {
    failure = error;
  }
  await logs;
  return { compiled, record, output, failure, events };
}

function assertOrder(steps: StepSpec[], record: Recorder): void {
  const endAt = new Map<string, number>();
  const startAt = new Map<string, number>();
  record.events.forEach((e, i) => {
    if (e.kind === "end") endAt.set(e.step, i);
    if (e.kind === "start" && !startAt.has(e.step)) startAt.set(e.step, i);
  });
  for (const step of steps) {
    expect(startAt.has(step.id), `${step.id} ran`).toBe(true);
    for (const up of step.upstream) {
      expect(endAt.get(up)!, `${up} ended before ${step.id} started`).toBeLessThan(startAt.get(step.id)!);
    }
  }
}

describe("compiled state machines run in aws-local-stepfunctions", () => {
  it("runs a diamond in dependency order, both branches at once, passing only the input along", async () => {
    const steps = diamond();
    const { record, output, failure } = await run(steps, { seed: 1 });
    expect(failure).toBeUndefined();
    assertOrder(steps, record);
    expect(record.maxRunning).toBe(2);
    expect(output).toEqual({ origin: "test" });
  });

  it("runs random DAGs in dependency order, with shared parameters inline and in the input", async () => {
    for (const seed of [3, 11, 28, 56]) {
      const rng = prng(seed);
      const steps = shuffled(rng, randomDag(rng, 40, 3, 10));
      const { record, failure, compiled } = await run(steps, { seed, sharedParameters: seed % 2 ? "input" : "inline" });
      expect(compiled.stats.sharedParameters).toBe(seed % 2 ? "input" : "inline");
      expect(failure, `seed ${seed}`).toBeUndefined();
      assertOrder(steps, record);
      expect(record.events.filter((e) => e.kind === "end")).toHaveLength(steps.length);
      if (compiled.stats.parallelStates > 0) expect(record.maxRunning).toBeGreaterThan(1);
    }
  });

  it("retries a step by its retry policy", async () => {
    const steps: StepSpec[] = [
      { id: "flaky", upstream: [], retry: { max_retries: 2, delay: 1 } },
      { id: "after", upstream: ["flaky"] },
    ];
    const { record, failure } = await run(steps, { seed: 5, failures: { flaky: 2 } });
    expect(failure).toBeUndefined();
    expect(record.attempts.get("flaky")).toBe(3);
    expect(record.attempts.get("after")).toBe(1);
    assertOrder(steps, record);
  });

  it("takes the Catch path of a failing step into a Fail state naming it, and runs nothing after it", async () => {
    const steps = diamond();
    const { record, failure, events, compiled } = await run(steps, { seed: 7, failures: { left: 1 } });
    expect(failure).toBeInstanceOf(sfn.ExecutionError);
    const cause = (failure as Error).cause as Error;
    expect(cause.name).toBe(STEP_FAILED_ERROR);
    const parsed = parseStepFailure(cause.name, cause.message, compiled.stateNames);
    expect(parsed?.stepId).toBe("left");
    expect(parsed?.error?.Error).toBe("States.TaskFailed");
    expect(parsed?.error?.Cause).toMatch(/Essential container in task exited/);
    expect(record.attempts.has("join")).toBe(false);
    expect(events).toContainEqual({ type: "StateCaught", name: "left" });
    const catcher = (compiled.definition as any).States["parallel-1"].Branches[0].States.left.Catch[0];
    expect(catcher.ResultPath).toBe("$.error.left");
    expect(events.some((e) => e.type === "StateEntered" && e.name === catcher.Next)).toBe(true);
    const failed = events.find((e) => e.type === "ExecutionFailed");
    expect(failed?.error).toBe(STEP_FAILED_ERROR);
    expect(String(failed?.cause)).toMatch(/^Step failed: \{"left":\{"Error":"States.TaskFailed"/);
  });

  it("fails a random DAG at the failing step, after its upstream steps and before its downstream ones", async () => {
    const rng = prng(99);
    const steps = randomDag(rng, 30, 2, 8);
    const victim = steps[15]!.id;
    const { record, failure, compiled } = await run(steps, { seed: 99, failures: { [victim]: 1 }, sharedParameters: "input" });
    const cause = (failure as Error).cause as Error;
    expect(parseStepFailure(cause.name, cause.message, compiled.stateNames)?.stepId).toBe(victim);
    const downstream = new Set<string>([victim]);
    for (const step of steps) if (step.upstream.some((u) => downstream.has(u))) downstream.add(step.id);
    downstream.delete(victim);
    for (const id of downstream) expect(record.attempts.has(id), `${id} must not run`).toBe(false);
    const failedAt = record.events.findIndex((e) => e.step === victim && e.kind === "start");
    for (const up of steps.find((s) => s.id === victim)!.upstream) {
      expect(record.events.findIndex((e) => e.step === up && e.kind === "end")).toBeLessThan(failedAt);
    }
  });
});

describe("map steps in aws-local-stepfunctions (ECS tasks and the S3 reads of the manifest as local handlers)", () => {
  /** Task states of a definition, nested ones included. */
  const tasksOf = (machine: any, out = new Map<string, any>()): Map<string, any> => {
    for (const [name, state] of Object.entries<any>(machine.States)) {
      if (state.Type === "Task") out.set(name, state);
      for (const branch of state.Branches ?? []) tasksOf(branch, out);
      if (state.ItemProcessor) tasksOf(state.ItemProcessor, out);
    }
    return out;
  };

  /**
   * split -> score (a map) -> report, with `items` items; the ECS handler
   * fails the items in `fail`, the S3 handler answers what the expand task
   * writes (items.json and map.json, the tolerated count from core's policy).
   */
  async function runMap(options: { items: number; map: Omit<MapSpec, "inputs" | "mode">; fail?: number[]; sharedParameters?: "inline" | "input" }) {
    const steps: StepSpec[] = [
      { id: "split", upstream: [] },
      { id: "score", upstream: ["split"], map: options.map },
      { id: "report", upstream: ["score"] },
    ];
    const compiled = compileStateMachine(makeSnapshot(steps), {
      ...baseOptions,
      artifactStoreUri: "s3://stackyard-artifacts/base/",
      executionInput: { origin: "test" },
      sharedParameters: options.sharedParameters ?? "inline",
    });
    const runId = "run-map";
    const spec: MapSpec = { inputs: ["in_0"], mode: "zip", ...options.map };
    const files: Record<string, string> = {
      [`base/runs/${runId}/score/items.json`]: JSON.stringify(Array.from({ length: options.items }, (_, i) => i)),
      [`base/runs/${runId}/score/map.json`]: JSON.stringify({ items: options.items, tolerated: allowedFailures(spec, options.items) }),
    };
    const ran: string[] = [];
    let running = 0;
    let maxItems = 0;
    const handlers: Record<string, (input: any) => Promise<unknown>> = {};
    for (const [name, state] of tasksOf(compiled.definition)) {
      handlers[name] =
        state.Resource === S3_GET_OBJECT_SDK
          ? async (input) => {
              expect(input.Bucket).toBe("stackyard-artifacts");
              if (!(input.Key in files)) throw Object.assign(new Error(`NoSuchKey: ${input.Key}`), { name: "S3.NoSuchKeyException" });
              return { Body: files[input.Key] };
            }
          : async (input) => {
              const command: string[] = input.Overrides.ContainerOverrides[0].Command;
              expect(command.slice(-2)[0] === "--run" ? command.at(-1) : command[command.indexOf("--run") + 1]).toBe(runId);
              const step = command[command.indexOf("--step") + 1]!;
              const item = /^score\[(\d+)\]$/.exec(step);
              if (item) maxItems = Math.max(maxItems, ++running);
              await new Promise((resolve) => setTimeout(resolve, 5));
              if (item) running--;
              ran.push(step);
              if (item && options.fail?.includes(Number(item[1]))) {
                throw Object.assign(new Error("Essential container in task exited"), { name: "States.TaskFailed" });
              }
              return { TaskArn: `arn:aws:ecs:eu-west-1:123456789012:task/stackyard/${step}`, LastStatus: "STOPPED" };
            };
    }
    const machine = new sfn.StateMachine(JSON.parse(compiled.json));
    const execution = machine.run(compiled.executionInput as Record<string, string>, {
      context: { Execution: { Name: runId } },
      overrides: { taskResourceLocalHandlers: handlers as never },
    });
    let failure: unknown;
    const output = await execution.result.catch((error: unknown) => {
      failure = error;
    });
    const cause = (failure as Error | undefined)?.cause as Error | undefined;
    return { compiled, ran, maxItems, output, failure: cause ? parseStepFailure(cause.name, cause.message, compiled.stateNames) : undefined };
  }
  const items = (ran: string[]) => ran.filter((s) => s.startsWith("score[")).sort();

  it("expands, then runs one task per item at most `concurrency` at once, then the collector; shared parameters inline and in the input", async () => {
    for (const sharedParameters of ["inline", "input"] as const) {
      const { ran, maxItems, failure, output } = await runMap({ items: 5, map: { concurrency: 2 }, sharedParameters });
      expect(failure).toBeUndefined();
      expect(ran[0]).toBe("split");
      expect(ran[1]).toBe("score");
      expect(items(ran)).toEqual(["score[0]", "score[1]", "score[2]", "score[3]", "score[4]"]);
      expect(ran.at(-1)).toBe("report");
      expect(maxItems).toBe(2);
      // Nothing of the map (manifest, results) is left in the state's data.
      expect(output).toEqual({ origin: "test", ...(sharedParameters === "input" ? { ecs: expect.any(Object) } : {}) });
    }
  });

  it("an empty manifest runs no item and goes on to the collector", async () => {
    const { ran, failure } = await runMap({ items: 0, map: { tolerate: { count: 1 } } });
    expect(failure).toBeUndefined();
    expect(ran).toEqual(["split", "score", "report"]);
  });

  it("fails fast by default: the first failed item fails the map (named in the execution's failure), and nothing after it starts", async () => {
    const { ran, failure } = await runMap({ items: 5, map: { concurrency: 1 }, fail: [1] });
    expect(failure?.stepId).toBe("score");
    expect(failure?.error.Error).toBe("States.TaskFailed");
    expect(items(ran)).toEqual(["score[0]", "score[1]"]);
    expect(ran).not.toContain("report");
  });

  it("tolerates failed items up to a count or a percentage, counted by the state machine after the Map", async () => {
    // count 2: two failures pass, three fail the map.
    expect((await runMap({ items: 5, map: { concurrency: 3, tolerate: { count: 2 } }, fail: [1, 3] })).failure).toBeUndefined();
    const three = await runMap({ items: 5, map: { concurrency: 3, tolerate: { count: 2 } }, fail: [0, 1, 3] });
    expect(three.failure).toMatchObject({ stepId: "score", error: { Error: MAP_FAILED_ERROR } });
    expect(items(three.ran)).toHaveLength(5); // a tolerant inline Map runs every item, then counts
    expect(three.ran).not.toContain("report");
    // 40% of 5 = 2; 50% of 3 = 1 (rounded down, as on the local stack).
    expect((await runMap({ items: 5, map: { tolerate: { percent: 40 } }, fail: [2, 4] })).failure).toBeUndefined();
    expect((await runMap({ items: 3, map: { tolerate: { percent: 50 } }, fail: [0, 2] })).failure?.error.Error).toBe(MAP_FAILED_ERROR);
    // Every item failed: tolerated when the policy allows all of them, not otherwise.
    expect((await runMap({ items: 2, map: { tolerate: { percent: 100 } }, fail: [0, 1] })).failure).toBeUndefined();
    expect((await runMap({ items: 3, map: { tolerate: { count: 2 } }, fail: [0, 1, 2] })).failure?.error.Error).toBe(MAP_FAILED_ERROR);
  });
});
