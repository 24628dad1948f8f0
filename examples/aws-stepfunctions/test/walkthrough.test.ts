// The README's "Running in production" walk-through, each command as a user
// types it, against the emulated engines: Step Functions and ECS on moto, the
// state machine moto stores executed by aws-local-stepfunctions with every
// ECS task a container of the local Docker engine, artifacts in S3 on moto,
// the image in a local registry (the `aws_step_functions_local` flavor of the
// orchestrator package's tests: the real flavor with executions run locally).
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { DescribeStateMachineCommand, SFNClient } from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRunThroughDashboard } from "../../../packages/dashboard/test/dashboard-server.js";
import { fireSchedule, runFired } from "../../../packages/orchestrator-aws-stepfunctions/test/fire-schedule.js";
import {
  ACCOUNT,
  CREDENTIALS,
  cliAsync,
  newProject,
  ok,
  REGION,
  registerLocallyExecutedStack,
  removeProject,
} from "../../../packages/orchestrator-aws-stepfunctions/test/harness.js";
import { type LocalAws, startLocalAws } from "../../../packages/orchestrator-aws-stepfunctions/test/local-aws.js";
import { LocalEcs } from "../../../packages/orchestrator-aws-stepfunctions/test/local-ecs.js";
import type { ExecutionsFile } from "../../../packages/orchestrator-aws-stepfunctions/test/local-flavor.js";
import { recordSharedExecution, SharedExecutionBackend } from "../../../packages/orchestrator-aws-stepfunctions/test/shared-executions.js";

const SCHEDULER_ROLE = `arn:aws:iam::${ACCOUNT}:role/stackyard-scheduler`;

let aws: LocalAws;
let dir: string;
let sfn: SFNClient;
let scheduler: SchedulerClient;
let configs: Parameters<typeof registerLocallyExecutedStack>[1];
// Every process's executions are recorded here, so a teammate's folder lists them as it would Step Functions' in AWS.
let shared: string;

beforeAll(async () => {
  aws = await startLocalAws({ bucket: "stackyard-walkthrough" });
  sfn = new SFNClient({ region: REGION, endpoint: aws.moto.endpoint, credentials: CREDENTIALS });
  scheduler = new SchedulerClient({ region: REGION, endpoint: aws.moto.endpoint, credentials: CREDENTIALS });
  shared = mkdtempSync(join(tmpdir(), "walkthrough-executions-"));
  dir = newProject("walkthrough");
  const { log_group: _, ...orchestrator } = aws.orchestratorConfig({ scheduler_role_arn: SCHEDULER_ROLE });
  configs = { artifactStore: aws.artifactStoreConfig(), registry: aws.registryConfig(), orchestrator };
  registerLocallyExecutedStack(dir, configs);
});

afterAll(async () => {
  sfn?.destroy();
  scheduler?.destroy();
  removeProject(dir);
  if (shared) rmSync(shared, { recursive: true, force: true });
  await aws?.stop();
});

interface DescribedRun {
  id: string;
  name: string;
  status: string;
  deployment?: string;
  deploymentVersion?: number;
  schedule?: string;
  imported?: boolean;
  artifacts: Array<{ step: string; output: string; artifact: string }>;
  retryOf?: string;
  orchestratorRunId?: string;
  steps: Array<{ stepId: string; status: string; outputs: Record<string, string> }>;
}

// Every command runs without blocking this process: it drains moto's log, and moto stalls once that pipe is full.
const cli = (cwd: string, args: string[], env: Record<string, string> = {}, timeout?: number) =>
  cliAsync(cwd, args, { LOCAL_SFN_SHARED_EXECUTIONS: shared, ...env }, timeout);

const describeRun = async (name: string): Promise<DescribedRun> =>
  JSON.parse(ok(await cli(dir, ["runs", "describe", name, "--json"]), `runs describe ${name}`).stdout) as DescribedRun;

/** A CLI command with its executions recorded: the ECS tasks it ran, by state name. */
async function withTasks(args: string[], label: string) {
  const file = join(dir, `${label}.executions.json`);
  const result = await cli(dir, args, { LOCAL_SFN_EXECUTIONS_FILE: file }, 600_000);
  const executions: ExecutionsFile = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { executions: [], tasks: [] };
  return { result, tasks: executions.tasks.map((t) => t.stateName), executions: executions.executions };
}

describe("the production walk-through on Step Functions", () => {
  let stateMachineArn: string;

  it("deploys the quickstart: its own state machine, whose steps read the snapshot from the execution input", async () => {
    const deployed = ok(
      await cli(
        dir,
        ["pipeline", "deploy", "./pipelines/training.ts#trainingPipeline", "-c", "configs/training_pipeline.yaml", "--name", "nightly"],
        {},
        600_000,
      ),
      "pipeline deploy",
    );
    expect(deployed.stderr).toMatch(/Deployed pipeline 'training_pipeline' as deployment 'nightly' version 1/);
    const described = JSON.parse(ok(await cli(dir, ["deployment", "describe", "nightly", "--json"]), "deployment describe").stdout) as {
      version: number;
      details: { stateMachineArn: string; taskDefinitions: Record<string, string> };
    };
    stateMachineArn = described.details.stateMachineArn;
    expect(stateMachineArn).toMatch(/:stateMachine:stackyard-deployment-nightly$/);
    const definition = (await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).definition!;
    expect(definition).toContain("$$.Execution.Input.stackyard.snapshot");
    expect(definition).not.toContain("/snapshots/");
    expect(Object.keys(described.details.taskDefinitions).sort()).toEqual(["evaluate_model", "load_data", "split_data", "train_model"]);
  }, 900_000);

  it("triggers it with a parameter: no build, the deployed state machine runs, and the parameter reaches the step", async () => {
    const plain = await withTasks(["deployment", "trigger", "nightly", "--run-name", "nightly-default"], "trigger-default");
    expect(plain.result.code, plain.result.stderr).toBe(0);
    const changed = await withTasks(["deployment", "trigger", "nightly", "-p", "test_size=0.5", "--run-name", "nightly-half"], "trigger-half");
    expect(changed.result.code, changed.result.stderr).toBe(0);
    // Nothing is built, registered or created for a trigger: it starts the deployed state machine.
    expect(changed.result.stderr).not.toMatch(/Registered task definition|Reusing task definition|Created state machine|Updated state machine|Pushed/);
    expect(changed.executions.map((e) => e.arn)).toEqual([expect.stringMatching(/:execution:stackyard-deployment-nightly:/)]);
    // Every step's ECS task runs (the deployed state machine is the whole pipeline); load_data finds its cache hit in there.
    expect([...changed.tasks].sort()).toEqual(["evaluate_model", "load_data", "split_data", "train_model"]);

    const a = await describeRun("nightly-default");
    const b = await describeRun("nightly-half");
    expect(b).toMatchObject({ status: "completed", deployment: "nightly", deploymentVersion: 1 });
    expect(b.orchestratorRunId).toMatch(new RegExp(`:execution:stackyard-deployment-nightly:${b.id}$`));
    const split = (run: DescribedRun) => run.steps.find((s) => s.stepId === "split_data")!;
    // load_data is the same in both runs (cached); the split differs with test_size.
    expect(b.steps.find((s) => s.stepId === "load_data")?.status).toBe("cached");
    expect(split(b).status).toBe("completed");
    expect(split(b).outputs).not.toEqual(split(a).outputs);
  }, 900_000);

  it("refuses a bad parameter before anything starts (exit 2)", async () => {
    const before = ok(await cli(dir, ["runs", "list", "--json"]), "runs list").stdout;
    const bad = await withTasks(["deployment", "trigger", "nightly", "-p", "test_size=lots"], "trigger-bad");
    expect(bad.result.code).toBe(2);
    expect(bad.result.stderr).toMatch(/test_size/);
    expect(bad.executions).toEqual([]);
    expect(ok(await cli(dir, ["runs", "list", "--json"]), "runs list").stdout).toBe(before);
  }, 300_000);

  it("schedules it nightly at 3 a.m. Berlin time; a bad cron or time zone exits 2 before any AWS call", async () => {
    const create = ["schedule", "create", "nightly-berlin", "--deployment", "nightly", "--cron", "0 3 * * *", "--timezone", "Europe/Berlin"];
    const badCron = await cli(dir, ["schedule", "create", "typo", "--deployment", "nightly", "--cron", "0 27 * * *"]);
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toMatch(/hour field "27".*outside 0-23/);
    const badZone = await cli(dir, ["schedule", "create", "typo", "--deployment", "nightly", "--cron", "0 3 * * *", "--timezone", "Europe/Atlantis"]);
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toMatch(/Europe\/Atlantis/);

    ok(await cli(dir, [...create, "--flexible-window", "15", "-p", "test_size=0.3"]), "schedule create");
    // EventBridge Scheduler keeps it as it will fire it.
    const kept = await scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-berlin" }));
    expect(kept).toMatchObject({
      ScheduleExpression: "cron(0 3 * * ? *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      State: "ENABLED",
      Target: { Arn: stateMachineArn, RoleArn: SCHEDULER_ROLE },
    });
    expect((await scheduler.send(new GetScheduleCommand({ Name: "stackyard-typo" })).catch((e: Error) => e)) instanceof Error).toBe(true);
    const listed = JSON.parse(ok(await cli(dir, ["schedule", "list", "--json"]), "schedule list").stdout) as Array<{ name: string }>;
    expect(listed.map((l) => l.name)).toEqual(["nightly-berlin"]);
  }, 300_000);

  it("fired as EventBridge fires it, the schedule's run shows in a teammate's fresh folder: listed, described, logged, its outputs loaded", async () => {
    // What EventBridge Scheduler does at 03:00 Berlin time: StartExecution of the schedule's target with its input.
    const fired = await fireSchedule({ endpoint: aws.moto.endpoint, schedule: "nightly-berlin" });
    const local = await aws.executionBackend(new LocalEcs({ docker: aws.docker, endpoint: aws.moto.endpoint }).runTask, (execution) =>
      recordSharedExecution(shared, execution),
    );
    const backend = new SharedExecutionBackend(local, shared);
    const runId = randomUUID();
    const { status } = await runFired(backend, fired, runId);
    expect(status).toBe("SUCCEEDED");

    // A teammate: a new folder with only the same stack registered, no shared store file.
    const teammate = newProject("walkthrough-teammate");
    try {
      registerLocallyExecutedStack(teammate, configs);
      const listing = ok(await cli(teammate, ["runs", "list", "--json"]), "runs list in the teammate's folder");
      const runs = JSON.parse(listing.stdout) as DescribedRun[];
      const scheduled = runs.find((r) => r.id === runId);
      expect(scheduled).toMatchObject({ status: "completed", imported: true });
      // The triggered runs from the first folder are there too.
      expect(runs.map((r) => r.name)).toEqual(expect.arrayContaining(["nightly-default", "nightly-half"]));

      const described = JSON.parse(ok(await cli(teammate, ["runs", "describe", runId, "--json"]), "runs describe").stdout) as DescribedRun;
      expect(described).toMatchObject({ status: "completed", deployment: "nightly", deploymentVersion: 1, schedule: "nightly-berlin" });
      expect(described.steps.map((s) => [s.stepId, s.status])).toEqual([
        ["load_data", "cached"],
        ["split_data", "completed"],
        ["train_model", "completed"],
        ["evaluate_model", "completed"],
      ]);
      const logs = ok(await cli(teammate, ["runs", "logs", runId, "--step", "train_model"]), "runs logs").stdout;
      expect(logs.trim().length).toBeGreaterThan(0);
      const accuracy = described.artifacts.find((a) => a.step === "evaluate_model" && a.output === "accuracy");
      expect(accuracy, JSON.stringify(described.artifacts)).toBeDefined();
      const shown = ok(await cli(teammate, ["artifact", "show", accuracy!.artifact]), "artifact show").stdout;
      expect(Number(shown.trim())).toBeGreaterThan(0);

      // `stackyard up` in the teammate's folder shows the same run: every route of its pages answers.
      const seen = await readRunThroughDashboard(teammate, runId, {
        LOCAL_SFN_SHARED_EXECUTIONS: shared,
        STACKYARD_SOURCE_ROOT: "",
        STACKYARD_ARTIFACT_STORE: "",
      });
      expect(seen).toMatchObject({ status: "completed", pages: [200, 200, 200, 200] });
      expect(Object.entries(seen.steps).map(([id, step]) => [id, step.status])).toEqual(
        expect.arrayContaining(described.steps.map((s) => [s.stepId, s.status])),
      );
      expect(Object.keys(seen.steps)).toHaveLength(4);
      expect(seen.steps.train_model!.logs.trim().length).toBeGreaterThan(0);
      expect(seen.steps.evaluate_model!.outputs.accuracy!.kind).toBe("json");
      expect(Number(seen.steps.evaluate_model!.outputs.accuracy!.text)).toBe(Number(shown.trim()));
      expect(seen.versions["evaluate_model.accuracy"]).toBe(`${accuracy!.artifact} from ${described.name}`);
    } finally {
      removeProject(teammate);
    }
  }, 900_000);

  it("retries a run whose middle step failed: only that step and the ones after it run again", async () => {
    writeFileSync(join(dir, "fail-train"), "");
    const failed = await withTasks(["run", "./pipelines/flaky.ts#flakyPipeline", "-c", "configs/flaky_pipeline.yaml", "--run-name", "flaky-1"], "flaky-1");
    expect(failed.result.code).toBe(1);
    expect((await describeRun("flaky-1")).steps.map((s) => [s.stepId, s.status])).toEqual([
      ["prepare", "completed"],
      ["train", "failed"],
      ["report", "skipped"],
    ]);
    rmSync(join(dir, "fail-train"));
    const retried = await withTasks(["runs", "retry", "flaky-1", "--run-name", "flaky-2"], "flaky-2");
    expect(retried.result.code, retried.result.stderr).toBe(0);
    expect([...retried.tasks].sort()).toEqual(["report", "train"]);
    const run = await describeRun("flaky-2");
    expect(run.retryOf).toBe((await describeRun("flaky-1")).id);
    expect(run.steps.map((s) => [s.stepId, s.status])).toEqual([
      ["prepare", "cached"],
      ["train", "completed"],
      ["report", "completed"],
    ]);
  }, 900_000);

  it("deletes the deployment, its schedule and its state machine", async () => {
    ok(await cli(dir, ["deployment", "delete", "nightly", "--yes"]), "deployment delete");
    await expect(scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-berlin" }))).rejects.toThrow();
    await expect(sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).rejects.toThrow(/does not exist/i);
    expect((await cli(dir, ["deployment", "trigger", "nightly"])).code).toBe(2);
  }, 300_000);
});
