import { ConfigError, PipelineDefinitionError, type StackyardError } from "@stackyard/core";
import { describe, expect, it } from "vitest";
import {
  buildStepDag,
  type CompileOptions,
  compileStateMachine,
  criticalPathLength,
  ECS_RUN_TASK_SYNC,
  LIMITS,
  parseStepFailure,
  planSchedule,
  resolveTaskResources,
  S3_GET_OBJECT_SDK,
  S3_ITEM_READER,
  ServiceLimitError,
  STEP_FAILED_ERROR,
  StateNamer,
  StepResourceError,
  scheduleLength,
} from "../src/compiler/index.js";
import { stateNamesFromDefinition } from "../src/implementation.js";
import {
  assertRespectsDag,
  assertValidAsl,
  baseOptions,
  before,
  chain,
  closure,
  diamond,
  fanOut,
  intrinsicStrings,
  makeSnapshot,
  nestedFanOutIn,
  prng,
  randomDag,
  randomSeriesParallel,
  type StepSpec,
  shuffled,
} from "./compiler.helpers.js";

const compile = (steps: StepSpec[], options: Partial<CompileOptions> = {}) => compileStateMachine(makeSnapshot(steps), { ...baseOptions, ...options });

/** Compiles, validates with asl-validator, and checks every edge and step. */
function compileAndCheck(steps: StepSpec[], options: Partial<CompileOptions> = {}) {
  const result = compile(steps, options);
  assertValidAsl(result.json);
  const pos = assertRespectsDag(result.definition, steps);
  expect(result.stats.steps).toBe(steps.length);
  expect(result.stats.scheduleLength).toBe(result.stats.criticalPath); // unit step time: no loss (see docs)
  return { result, pos };
}

/** On a series-parallel DAG the machine orders exactly the pairs the DAG orders. */
function expectExact(steps: StepSpec[], pos: Map<string, number[]>): void {
  const ordered = closure(steps);
  for (const a of steps) {
    for (const b of steps) {
      if (a === b) continue;
      expect(before(pos, a.id, b.id), `${a.id} before ${b.id}`).toBe(ordered.has(`${a.id}>${b.id}`));
    }
  }
}

describe("compileStateMachine: shape of a step", () => {
  it("emits one ecs:runTask.sync Task per step with the one-step command, the run id from the execution, and one attempt per ECS task", () => {
    const { result } = compileAndCheck([{ id: "trainer", upstream: [], retry: { max_retries: 2, delay: 0.2, backoff: 3 } }]);
    const def = result.definition as { StartAt: string; States: Record<string, Record<string, any>> };
    expect(def.StartAt).toBe("trainer");
    const task = def.States.trainer!;
    expect(task.Type).toBe("Task");
    expect(task.Resource).toBe(ECS_RUN_TASK_SYNC);
    expect(task.ResultPath).toBeNull();
    expect(task.End).toBe(true);
    const p = task.Parameters;
    expect(p.Cluster).toBe(baseOptions.clusterArn);
    expect(p.TaskDefinition).toBe(baseOptions.taskDefinitionArn);
    expect(p.LaunchType).toBe("FARGATE");
    expect(p.NetworkConfiguration).toEqual({
      AwsvpcConfiguration: { Subnets: baseOptions.subnets, SecurityGroups: baseOptions.securityGroups },
    });
    const container = p.Overrides.ContainerOverrides[0];
    expect(container.Name).toBe("step");
    expect(container["Command.$"]).toBe(
      "States.Array('stackyard','step','run','--snapshot','s3://stackyard-artifacts/snapshots/snap-0001.json','--step','trainer','--run',$$.Execution.Name,'--attempt','next')",
    );
    expect(container.Environment).toEqual([
      { Name: "STACKYARD_ARTIFACT_STORE", Value: "s3://stackyard-artifacts" },
      { Name: "AWS_REGION", Value: "eu-west-1" },
    ]);
    expect(task.Retry).toEqual([
      { ErrorEquals: ["ECS.AmazonECSException"], MaxAttempts: 3, IntervalSeconds: 5, BackoffRate: 2, JitterStrategy: "FULL" },
      { ErrorEquals: ["States.TaskFailed"], MaxAttempts: 2, IntervalSeconds: 1, BackoffRate: 3, JitterStrategy: "FULL" },
    ]);
    expect(task.Catch).toEqual([{ ErrorEquals: ["States.ALL"], ResultPath: "$.error.trainer", Next: "failure" }]);
    const failure = def.States.failure!;
    expect(failure.Type).toBe("Pass");
    expect(failure.Parameters.Error).toBe(STEP_FAILED_ERROR);
    expect(failure.Parameters["Cause.$"]).toBe("States.Format('Step failed: {}', States.JsonToString($.error))");
    expect(result.stats.sharedParameters).toBe("inline");
    expect(result.executionInput).toEqual({});
    expect(def.States[failure.Next]).toMatchObject({ Type: "Fail", ErrorPath: "$.Error", CausePath: "$.Cause" });
  });

  it("omits Retry for steps without retries when infrastructure retry is off, and sets task definitions per step", () => {
    const result = compile(
      [
        { id: "a", upstream: [] },
        { id: "b", upstream: ["a"], resources: { cpu_count: 2 } },
      ],
      {
        infrastructureRetry: false,
        taskDefinitionFor: (step) => (step.resources.cpu_count ? "big-step:1" : "small-step:1"),
        launchType: "EC2",
        subnets: [],
      },
    );
    assertValidAsl(result.json);
    const states = (result.definition as any).States;
    expect(states.a.Retry).toBeUndefined();
    // Without retries there is one attempt: the container needs no --attempt.
    expect(states.a.Parameters.Overrides.ContainerOverrides[0]["Command.$"]).not.toContain("--attempt");
    expect(states.a.Parameters.TaskDefinition).toBe("small-step:1");
    expect(states.b.Parameters.TaskDefinition).toBe("big-step:1");
    expect(states.a.Parameters.NetworkConfiguration).toBeUndefined();
    expect(states.b.Parameters.Overrides.Cpu).toBe("2048");
    expect(states.b.Parameters.Overrides.ContainerOverrides[0].Cpu).toBe(2048);
  });

  it("passes only pointers between states: every Task and Parallel state discards its result", () => {
    const { result } = compileAndCheck(nestedFanOutIn(3, 3));
    const visit = (machine: any): void => {
      for (const state of Object.values<any>(machine.States)) {
        if (state.Type === "Task" || state.Type === "Parallel") expect(state.ResultPath).toBeNull();
        if (state.Type === "Parallel") state.Branches.forEach(visit);
      }
    };
    visit(result.definition);
    expect(result.stats.maxPayloadBytes).toBeLessThan(4096);
  });

  it("escapes quotes and braces of ids and URIs in intrinsic literals", () => {
    const steps = [{ id: "it's {odd}", upstream: [] }];
    const result = compile(steps, { snapshotUri: "s3://bucket/it's/{x}.json" });
    assertValidAsl(result.json);
    const name = result.stateNames["it's {odd}"]!;
    const command = (result.definition as any).States[name].Parameters.Overrides.ContainerOverrides[0]["Command.$"];
    expect(intrinsicStrings(command)).toEqual(["stackyard", "step", "run", "--snapshot", "s3://bucket/it's/{x}.json", "--step", "it's {odd}", "--run"]);
  });

  it("supports entrypoints that embed the run id in an argument (States.Format)", () => {
    const result = compile(chain(1), {
      entrypoint: { commandFor: (o) => ["node", "step.js", `--snapshot=${o.snapshot}`, `--step=${o.step}`, `--run=${o.run}`] },
    });
    assertValidAsl(result.json);
    expect((result.definition as any).States.step_0.Parameters.Overrides.ContainerOverrides[0]["Command.$"]).toBe(
      "States.Array('node','step.js','--snapshot=s3://stackyard-artifacts/snapshots/snap-0001.json','--step=step_0',States.Format('--run={}',$$.Execution.Name))",
    );
    expect(() => compile(chain(1), { entrypoint: { commandFor: () => ["true"] } })).toThrow(/does not include the run id/);
  });

  it('gives a step with retries `attempt: "next"` (in both parameter modes) and rejects an entrypoint that drops it', () => {
    const steps: StepSpec[] = [
      { id: "flaky", upstream: [], retry: { max_retries: 3 } },
      { id: "steady", upstream: ["flaky"] },
    ];
    const seen: Array<[string, unknown]> = [];
    const entrypoint = {
      commandFor: (o: { step: string; run: string; attempt?: unknown }) => {
        seen.push([o.step, o.attempt]);
        return ["node", "step.js", o.step, `--run=${o.run}`, ...(o.attempt === undefined ? [] : [`--attempt=${o.attempt}`])];
      },
    };
    for (const sharedParameters of ["inline", "input"] as const) {
      const result = compile(steps, { entrypoint, sharedParameters });
      assertValidAsl(result.json);
      const command = (id: string) => (result.definition as any).States[id].Parameters.Overrides.ContainerOverrides[0]["Command.$"];
      expect(command("flaky")).toBe("States.Array('node','step.js','flaky',States.Format('--run={}',$$.Execution.Name),'--attempt=next')");
      expect(command("steady")).toBe("States.Array('node','step.js','steady',States.Format('--run={}',$$.Execution.Name))");
    }
    expect(seen).toContainEqual(["flaky", "next"]);
    expect(seen).toContainEqual(["steady", undefined]);
    const ignoring = { commandFor: (o: { snapshot: string; step: string; run: string }) => ["node", "step.js", o.snapshot, o.step, o.run] };
    expect(() => compile(steps, { entrypoint: ignoring })).toThrow(
      /command for step 'flaky' ignores the attempt: the step would be retried inside its container as well as by the state machine/,
    );
    expect(() =>
      compile(
        [steps[1]!].map((s) => ({ ...s, upstream: [] })),
        { entrypoint: ignoring },
      ),
    ).not.toThrow();
  });

  it("reads the failed step back from the Fail state's Error and Cause", () => {
    expect(parseStepFailure(STEP_FAILED_ERROR, 'Step failed: {"train_2":{"Error":"States.TaskFailed","Cause":"exit 1"}}')).toEqual({
      stepId: "train_2",
      stateName: "train_2",
      error: { Error: "States.TaskFailed", Cause: "exit 1" },
    });
    expect(parseStepFailure(STEP_FAILED_ERROR, 'Step failed: {"a_b-1a2b3c4d":{"Error":"E"}}', { "a b": "a_b-1a2b3c4d" })?.stepId).toBe("a b");
    expect(parseStepFailure("States.Timeout", "x")).toBeUndefined();
    expect(parseStepFailure(STEP_FAILED_ERROR, "Step failed: not json")).toBeUndefined();
  });
});

describe("compileStateMachine: DAG corpus (asl-validator + dependency checker)", () => {
  it("chain", () => {
    const steps = chain(25);
    const { result, pos } = compileAndCheck(steps);
    expect(result.stats.parallelStates).toBe(0);
    expect(result.stats.criticalPath).toBe(25);
    expectExact(steps, pos);
  });

  it("diamond", () => {
    const steps = diamond();
    const { result, pos } = compileAndCheck(steps);
    expect(result.stats.parallelStates).toBe(1);
    expect(result.stats.seriesParallel).toBe(true);
    expect(result.stats.scheduleLength).toBe(3);
    expectExact(steps, pos);
    expect(Object.keys((result.definition as any).States)).toEqual(["load", "parallel-1", "join", "failure", "failed"]);
  });

  it("wide fan-out (200)", () => {
    const steps = fanOut(200);
    const { result } = compileAndCheck(steps);
    expect(result.stats.parallelStates).toBe(1);
    const parallel = (result.definition as any).States[(result.definition as any).States.source.Next];
    expect(parallel.Branches).toHaveLength(200);
    expect(result.stats.concurrencyKept).toBe(1);
  });

  it("nested fan-out / fan-in", () => {
    const steps = nestedFanOutIn(4, 5);
    const { result, pos } = compileAndCheck(steps);
    expect(result.stats.maxParallelDepth).toBe(2);
    expect(result.stats.seriesParallel).toBe(true);
    expectExact(steps, pos);
  });

  it("several sources and sinks (a forest) compile to a top-level Parallel", () => {
    const steps = [...chain(3), { id: "lonely", upstream: [] }, { id: "x", upstream: [] }, { id: "y", upstream: ["x"] }];
    const { result, pos } = compileAndCheck(steps);
    expect((result.definition as any).States[(result.definition as any).StartAt].Type).toBe("Parallel");
    expectExact(steps, pos);
  });

  it("random series-parallel DAGs compile exactly (50 seeds)", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const rng = prng(seed);
      const steps = shuffled(rng, randomSeriesParallel(rng, 5 + Math.floor(rng() * 40)));
      const { result, pos } = compileAndCheck(steps);
      expect(result.stats.seriesParallel, `seed ${seed}`).toBe(true);
      expect(result.stats.parallelismRatio).toBe(1);
      expect(result.stats.addedOrderings).toBe(0);
      expectExact(steps, pos);
    }
  }, 180_000);

  it("random DAGs respect every dependency (100 seeds)", () => {
    let nonSp = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const rng = prng(seed * 7919);
      const n = 2 + Math.floor(rng() * 80);
      const steps = shuffled(rng, randomDag(rng, n, 1 + Math.floor(rng() * 4)));
      const { result, pos } = compileAndCheck(steps);
      if (!result.stats.seriesParallel) nonSp++;
      // What the machine orders beyond the DAG is exactly what the stats report.
      const ordered = closure(steps);
      let added = 0;
      for (const a of steps) for (const b of steps) if (a !== b && before(pos, a.id, b.id) && !ordered.has(`${a.id}>${b.id}`)) added++;
      expect(added, `seed ${seed}`).toBe(result.stats.addedOrderings);
      expect(result.stats.concurrencyKept).toBeGreaterThan(0);
    }
    expect(nonSp).toBeGreaterThan(30); // the corpus really exercises the fallback
  }, 180_000);

  it("the N graph (smallest non-series-parallel DAG) is serialised at one cut, dependencies kept", () => {
    const steps = [
      { id: "a", upstream: [] },
      { id: "b", upstream: [] },
      { id: "c", upstream: ["a", "b"] },
      { id: "d", upstream: ["b"] },
    ];
    const { result } = compileAndCheck(steps);
    expect(result.stats.seriesParallel).toBe(false);
    expect(result.stats.addedOrderings).toBe(1); // a before d
    expect(result.stats.concurrentPairs).toBe(3); // a|b, a|d, c|d
  });
});

describe("schedule planner", () => {
  it("rejects cycles, unknown upstreams, duplicate ids and empty pipelines", () => {
    expect(() =>
      buildStepDag([
        { id: "a", upstream: ["b"] },
        { id: "b", upstream: ["a"] },
      ]),
    ).toThrow(/cycle: a, b/);
    expect(() => buildStepDag([{ id: "a", upstream: ["zzz"] }])).toThrow(PipelineDefinitionError);
    expect(() =>
      buildStepDag([
        { id: "a", upstream: [] },
        { id: "a", upstream: [] },
      ]),
    ).toThrow(/twice/);
    expect(() => buildStepDag([])).toThrow(/no steps/);
  });

  it("keeps the unit-time critical path on every DAG and reports weighted losses honestly", () => {
    const rng = prng(42);
    const steps = randomDag(rng, 300, 3, 20);
    const dag = buildStepDag(steps);
    const { plan } = planSchedule(dag);
    expect(scheduleLength(plan)).toBe(criticalPathLength(dag));
    const durations = new Map(steps.map((s) => [s.id, 1 + Math.floor(rng() * 10)]));
    const d = (id: string) => durations.get(id)!;
    expect(scheduleLength(plan, d)).toBeGreaterThanOrEqual(criticalPathLength(dag, d));
  });
});

describe("Fargate resources", () => {
  it("maps cpu_count and memory to task and container overrides", () => {
    const { result } = compileAndCheck([{ id: "train", upstream: [], resources: { cpu_count: 1, memory: "4GiB" } }]);
    const overrides = (result.definition as any).States.train.Parameters.Overrides;
    expect(overrides.Cpu).toBe("1024");
    expect(overrides.Memory).toBe("4096");
    expect(overrides.ContainerOverrides[0]).toMatchObject({ Cpu: 1024, Memory: 4096 });
    expect(result.resources.train).toEqual({ cpu: 1024, memoryMiB: 4096 });
  });

  it("rounds decimal sizes up to the next valid Fargate memory (the seed's 4Gb with 4 CPUs)", () => {
    expect(resolveTaskResources("s", { cpu_count: 1, memory: "4Gb" }, "FARGATE")).toEqual({ cpu: 1024, memoryMiB: 4096, requestedMemoryMiB: 3815 });
    expect(resolveTaskResources("s", { cpu_count: 4, memory: "4Gb" }, "FARGATE")).toMatchObject({ cpu: 4096, memoryMiB: 8192 });
    expect(resolveTaskResources("s", { memory: "10GiB" }, "FARGATE")).toEqual({ cpu: 2048, memoryMiB: 10240 });
    expect(resolveTaskResources("s", { cpu_count: 0.25 }, "FARGATE")).toEqual({ cpu: 256, memoryMiB: 512 });
  });

  it("names the step and lists valid memory for the cpu when the pair is invalid", () => {
    const bad = () =>
      compile([
        { id: "a", upstream: [] },
        { id: "huge_step", upstream: ["a"], resources: { cpu_count: 0.25, memory: "4GiB" } },
      ]);
    expect(bad).toThrow(StepResourceError);
    expect(bad).toThrow(/Step 'huge_step'.*cpu_count 0.25.*Valid memory for 256 CPU units \(MiB\): 512, 1024, 2048/);
    try {
      bad();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as StepResourceError).stepId).toBe("huge_step");
      expect((error as StackyardError).hint).toMatch(/cpu_count 0.5/);
    }
    expect(() => resolveTaskResources("s", { cpu_count: 1, memory: "3000MiB" }, "FARGATE", "exact")).toThrow(
      /Valid memory for 1024 CPU units \(MiB\): 2048 to 8192 in steps of 1024/,
    );
    expect(() => resolveTaskResources("s", { cpu_count: 3 }, "FARGATE")).toThrow(/cpu_count 3, which Fargate does not offer/);
    expect(() => resolveTaskResources("s", { gpu_count: 1 }, "FARGATE")).toThrow(/no GPUs/);
    expect(() => resolveTaskResources("s", { memory: "200GiB" }, "FARGATE")).toThrow(/no Fargate task size/);
    expect(() => resolveTaskResources("s", { memory: "lots" }, "FARGATE")).toThrow(/Invalid memory size 'lots'/);
  });

  it("lets EC2 tasks take any size and GPUs", () => {
    expect(resolveTaskResources("s", { cpu_count: 3, memory: "3000MiB", gpu_count: 1 }, "EC2")).toEqual({ cpu: 3072, memoryMiB: 3000, gpus: 1 });
    const result = compile([{ id: "gpu", upstream: [], resources: { gpu_count: 2 } }], { launchType: "EC2" });
    assertValidAsl(result.json);
    expect((result.definition as any).States.gpu.Parameters.Overrides.ContainerOverrides[0].ResourceRequirements).toEqual([{ Type: "GPU", Value: "2" }]);
  });
});

describe("service limits", () => {
  it("derives unique state names of at most 80 characters from long and colliding ids", () => {
    const long = "x".repeat(120);
    const steps = [
      { id: long, upstream: [] },
      { id: `${long}y`, upstream: [long] },
      { id: "a b", upstream: [] },
      { id: "a_b", upstream: [] },
      { id: "a/b", upstream: ["a b"] },
      { id: "a.failed", upstream: [] },
      { id: "a", upstream: [] },
      { id: "parallel-1", upstream: [] },
    ];
    const { result } = compileAndCheck(steps);
    const names = Object.values(result.stateNames);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(LIMITS.stateNameLength);
    expect(result.stateNames[long]).toMatch(/^x{71}-[0-9a-f]{8}$/);
    expect(result.stateNames.a_b).toBe("a_b");
    expect(result.stateNames["a b"]).toMatch(/^a_b-[0-9a-f]{8}$/);
    expect(result.stateNames["a.failed"]).toBe("a.failed");
    const all: string[] = [];
    const byName = new Map<string, any>();
    const collect = (machine: any) => {
      for (const [name, state] of Object.entries<any>(machine.States)) {
        all.push(name);
        byName.set(name, state);
        if (state.Type === "Parallel") state.Branches.forEach(collect);
      }
    };
    collect(result.definition);
    expect(byName.get("a.failed").Catch[0].ResultPath).toBe("$.error['a.failed']");
    expect(byName.get("a_b").Catch[0].ResultPath).toBe("$.error.a_b");
    expect(new Set(all).size).toBe(all.length);
    for (const name of all) expect(name.length).toBeLessThanOrEqual(80);
  });

  it("keeps names stable and unique under many truncations", () => {
    const namer = new StateNamer();
    const prefix = "p".repeat(100);
    const names = Array.from({ length: 2000 }, (_, i) => namer.allocate(`${prefix}${i}`));
    expect(new Set(names).size).toBe(2000);
    expect(new StateNamer().allocate(`${prefix}7`)).toBe(names[7]);
  });

  it("rejects container overrides over 8,192 characters, naming the step", () => {
    const environment = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`VAR_${i}`, "v".repeat(30)]));
    const run = () => compile(chain(3), { environment });
    expect(run).toThrow(ServiceLimitError);
    expect(run).toThrow(/Step 'step_0'.*container overrides.*ECS allows 8192/);
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(PipelineDefinitionError);
      expect((error as ServiceLimitError).limit).toBe("container overrides size");
      expect((error as ServiceLimitError).stepId).toBe("step_0");
      expect((error as ServiceLimitError).actual).toBeGreaterThan(8192);
    }
    // Just under the limit compiles.
    const fits = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`VAR_${i}`, "v".repeat(30)]));
    const ok = compile(chain(2), { environment: fits });
    expect(ok.stats.maxContainerOverridesChars).toBeGreaterThan(5000);
    expect(ok.stats.maxContainerOverridesChars).toBeLessThanOrEqual(8192);
  });

  it("rejects definitions over 1 MB with the size", () => {
    const environment = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`VAR_${i}`, "v".repeat(60)]));
    const run = () => compile(fanOut(400), { environment, sharedParameters: "inline" });
    expect(run).toThrow(ServiceLimitError);
    expect(run).toThrow(/402 steps\) is \d+ bytes; Step Functions allows 1048576/);
    try {
      run();
    } catch (error) {
      expect((error as ServiceLimitError).limit).toBe("definition size");
      expect((error as ServiceLimitError).actual).toBeGreaterThan(LIMITS.definitionBytes);
    }
    const small = compile(fanOut(100), { environment });
    expect(small.stats.definitionBytes).toBeLessThan(LIMITS.definitionBytes);
    expect(small.stats.definitionBytes).toBe(Buffer.byteLength(small.json));
    // Even with the shared parameters moved to the input, 3,000 steps do not fit:
    // that is known from the Task states alone, before planning.
    expect(() => compile(fanOut(3000))).toThrow(/3002 steps\) would be at least \d+ bytes/);
    // Just over the limit is only known once the whole definition is built.
    expect(() => compile(fanOut(1150))).toThrow(/1152 steps\) is \d+ bytes/);
  });

  it("moves shared ECS parameters into the execution input when inline would exceed 1 MB (auto)", () => {
    const environment = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`VAR_${i}`, "v".repeat(60)]));
    const steps = fanOut(400);
    const result = compile(steps, { environment, executionInput: { mine: 1 } });
    assertValidAsl(result.json);
    assertRespectsDag(result.definition, steps);
    expect(result.stats.sharedParameters).toBe("input");
    expect(result.stats.definitionBytes).toBeLessThan(LIMITS.definitionBytes);
    expect(result.executionInput).toMatchObject({
      mine: 1,
      ecs: {
        cluster: baseOptions.clusterArn,
        launchType: "FARGATE",
        container: "step",
        snapshot: baseOptions.snapshotUri,
        taskDefinition: baseOptions.taskDefinitionArn,
        network: { AwsvpcConfiguration: { Subnets: baseOptions.subnets, SecurityGroups: baseOptions.securityGroups } },
      },
    });
    const task = (result.definition as any).States.source;
    expect(task.Parameters["Cluster.$"]).toBe("$.ecs.cluster");
    expect(task.Parameters.Overrides.ContainerOverrides[0]["Command.$"]).toBe(
      "States.Array('stackyard','step','run','--snapshot',$.ecs.snapshot,'--step','source','--run',$$.Execution.Name)",
    );
    expect(task.Parameters.Overrides.ContainerOverrides[0]["Environment.$"]).toBe("$.ecs.environment");
    expect(() => compile(chain(1), { executionInput: { ecs: 1 } })).toThrow(/must not have a 'ecs' key/);
    expect(() => compile(chain(1), { executionInput: { error: "x" } })).toThrow(/must not have a 'error' key/);
  });

  it("rejects execution inputs over 256 KB and bad options", () => {
    expect(() => compile(chain(1), { executionInput: { blob: "x".repeat(300_000) } })).toThrow(/execution input has \d+ bytes/);
    expect(() => compile(chain(1), { stateMachineName: "n".repeat(81) })).toThrow(ServiceLimitError);
    expect(() => compile(chain(1), { stateMachineName: "bad name" })).toThrow(ConfigError);
    expect(() => compile(chain(1), { subnets: [] })).toThrow(/Fargate tasks need subnets/);
    expect(() => compile(chain(1), { environment: { DB_PASSWORD: "x" } })).toThrow(/looks like a secret/);
    expect(() => compile(chain(1), { taskDefinitionArn: undefined })).toThrow(/No task definition/);
  });
});

describe("compileStateMachine: map steps", () => {
  const mapSteps = (map: NonNullable<StepSpec["map"]>, retry?: StepSpec["retry"]): StepSpec[] => [
    { id: "split", upstream: [] },
    { id: "score", upstream: ["split"], map, ...(retry ? { retry } : {}) },
    { id: "report", upstream: ["score"] },
  ];
  const mapOptions = { artifactStoreUri: "s3://stackyard-artifacts/team/ml" };
  const branch = (result: ReturnType<typeof compile>) => (result.definition as any).States.score.Branches[0].States;

  it("compiles a map into one Parallel state: the expand task, the count read from S3, then an inline or a Distributed Map over the manifest", () => {
    for (const sharedParameters of ["inline", "input"] as const) {
      const result = compile(mapSteps({ concurrency: 8 }, { max_retries: 2, delay: 3 }), { ...mapOptions, sharedParameters, distributedMapThreshold: 500 });
      assertValidAsl(result.json);
      const score = (result.definition as any).States.score;
      expect(score).toMatchObject({ Type: "Parallel", Comment: "Map step 'score'", ResultPath: null, Catch: [{ ResultPath: "$.error.score" }] });
      const states = branch(result);
      expect(Object.keys(states)).toEqual(["score.expand", "score.count", "score.route", "score.manifest", "score.inline", "score.distributed"]);
      const command = (state: any) => state.Parameters.Overrides.ContainerOverrides[0]["Command.$"] as string;
      // The expand: `--step score`, never retried by the step's policy (it only fails on a mapped output that is not a list).
      expect(command(states["score.expand"])).toMatch(/'--step','score','--run',\$\$\.Execution\.Name\)$/);
      expect(states["score.expand"].Retry.map((r: any) => r.ErrorEquals)).toEqual([["ECS.AmazonECSException"]]);
      expect(states["score.count"]).toMatchObject({
        Resource: S3_GET_OBJECT_SDK,
        Parameters: { Bucket: "stackyard-artifacts", "Key.$": "States.Format('team/ml/runs/{}/score/map.json', $$.Execution.Name)" },
        ResultSelector: { "value.$": "States.StringToJson($.Body)" },
      });
      expect(states["score.route"].Choices).toEqual([{ Variable: "$.map.value.items", NumericGreaterThan: 500, Next: "score.distributed" }]);
      expect(states["score.manifest"].Parameters["Key.$"]).toBe("States.Format('team/ml/runs/{}/score/items.json', $$.Execution.Name)");
      const inline = states["score.inline"];
      expect(inline).toMatchObject({ Type: "Map", ItemsPath: "$.manifest.items", MaxConcurrency: 8, ResultPath: null, End: true });
      expect(inline.ItemSelector).toEqual({
        "index.$": "$$.Map.Item.Value",
        "run.$": "$$.Execution.Name",
        ...(sharedParameters === "input" ? { "ecs.$": "$.ecs" } : {}),
      });
      // Each item: `--step score[<index>]`, the run id handed down, one attempt per ECS task, the step's retries.
      const item = inline.ItemProcessor.States["score.item"];
      expect(command(item)).toContain(`'--step',States.Format('score[{}]',$.index),'--run',$.run,'--attempt','next')`);
      expect(item.Retry.at(-1)).toMatchObject({ ErrorEquals: ["States.TaskFailed"], MaxAttempts: 2, IntervalSeconds: 3 });
      const distributed = states["score.distributed"];
      expect(distributed).toMatchObject({
        Type: "Map",
        ItemReader: {
          Resource: S3_ITEM_READER,
          ReaderConfig: { InputType: "JSON" },
          Parameters: { Bucket: "stackyard-artifacts", "Key.$": "States.Format('team/ml/runs/{}/score/items.json', $$.Execution.Name)" },
        },
        ItemSelector: inline.ItemSelector,
        MaxConcurrency: 8,
        ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }, StartAt: "score.distributed-item" },
        ResultPath: null,
      });
      expect(distributed.ItemProcessor.States["score.distributed-item"]).toEqual({ ...item, End: true });
      expect(distributed.ToleratedFailureCount).toBeUndefined();
      expect(result.mapStates.score).toMatchObject({ map: "score", expand: "score.expand", inlineItem: "score.item" });
    }
  });

  it("tolerated failures: native on the Distributed Map, counted after the inline Map; unlimited concurrency is 0", () => {
    const count = compile(mapSteps({ tolerate: { count: 2 } }), mapOptions);
    assertValidAsl(count.json);
    const states = branch(count);
    expect(states["score.inline"].MaxConcurrency).toBe(0);
    expect(states["score.distributed"].ToleratedFailureCount).toBe(2);
    expect(states["score.inline"]).toMatchObject({ ResultPath: "$.results", Next: "score.tally" });
    expect(states["score.inline"].ItemProcessor.States["score.item"].Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "score.item-failed" },
    ]);
    expect(Object.keys(states)).toEqual(expect.arrayContaining(["score.tally", "score.check", "score.done", "score.too-many"]));
    const percent = compile(mapSteps({ tolerate: { percent: 10 } }), mapOptions);
    assertValidAsl(percent.json);
    expect(branch(percent)["score.distributed"].ToleratedFailurePercentage).toBe(10);
  });

  it("needs the S3 artifact store's location (a clear error naming the map step), and reads it back as the map's state", () => {
    expect(() => compile(mapSteps({}))).toThrow(ConfigError);
    expect(() => compile(mapSteps({}))).toThrow(/Map step 'score' needs an S3 artifact store/);
    expect(() => compile(mapSteps({}), { artifactStoreUri: "/var/artifacts" })).toThrow(/and the artifact store is \/var\/artifacts/);
    expect(() => compile(mapSteps({}), { ...mapOptions, distributedMapThreshold: -1 })).toThrow(/distributedMapThreshold/);
    const result = compile(mapSteps({}), { artifactStoreUri: "s3://bucket" });
    expect(branch(result)["score.count"].Parameters["Key.$"]).toBe("States.Format('runs/{}/score/map.json', $$.Execution.Name)");
    expect(stateNamesFromDefinition(result.json, ["split", "score", "report"])).toEqual({ split: "split", score: "score", report: "report" });
  });

  it("does not grow with the item count: 100 static steps and a map compile in under 1 s to under 100 KB (shared parameters in the input)", () => {
    const steps: StepSpec[] = chain(100);
    steps.push({ id: "score", upstream: ["step_99"], map: { concurrency: 64, tolerate: { percent: 1 } } }, { id: "report", upstream: ["score"] });
    const result = compile(steps, { ...mapOptions, sharedParameters: "input" });
    assertValidAsl(result.json);
    expect(result.stats.compileMs).toBeLessThan(1000);
    expect(result.stats.definitionBytes).toBeLessThan(100 * 1024);
    // The map itself is a few KB whatever the mode: its size is that of three Task states and a handful of small ones.
    const withoutMap = compile([...chain(100), { id: "report", upstream: ["step_99"] }], { ...mapOptions, sharedParameters: "inline" });
    const inline = compile(steps, { ...mapOptions, sharedParameters: "inline" });
    expect(inline.stats.definitionBytes - withoutMap.stats.definitionBytes).toBeLessThan(10 * 1024);
  });
});
