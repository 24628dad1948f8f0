// Schedules of a deployment on Step Functions, through the CLI as a user types
// them, against EventBridge Scheduler, Step Functions and S3 on moto (the
// deployment's image built by the local Docker engine and pushed to the local
// registry). Each schedule is read back with the Scheduler SDK: what
// EventBridge would start, as which role, with which input; fired once, its
// execution runs in aws-local-stepfunctions with each step a container.

import { randomUUID } from "node:crypto";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fireSchedule, runFired } from "./fire-schedule.js";
import { ACCOUNT, CREDENTIALS, cli, newProject, ok, REGION, registerLocallyExecutedStack, removeProject } from "./harness.js";
import { type LocalAws, startLocalAws } from "./local-aws.js";
import { LocalEcs } from "./local-ecs.js";

const BUCKET = "stackyard-schedules";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/stackyard-scheduler`;

let aws: LocalAws;
let dir: string;
let scheduler: SchedulerClient;
let s3: S3Client;
let stackConfigs: Parameters<typeof registerLocallyExecutedStack>[1];

beforeAll(async () => {
  aws = await startLocalAws({ bucket: BUCKET });
  scheduler = new SchedulerClient({ region: REGION, endpoint: aws.moto.endpoint, credentials: CREDENTIALS });
  s3 = new S3Client({ region: REGION, endpoint: aws.moto.endpoint, forcePathStyle: true, credentials: CREDENTIALS });
  dir = newProject("schedules");
  const { log_group: _, ...orchestrator } = aws.orchestratorConfig();
  stackConfigs = { artifactStore: aws.artifactStoreConfig(), registry: aws.registryConfig(), orchestrator };
  registerLocallyExecutedStack(dir, stackConfigs);
});

afterAll(async () => {
  scheduler?.destroy();
  s3?.destroy();
  removeProject(dir);
  await aws?.stop();
});

/** The EventBridge schedules on moto (every group). */
async function eventBridgeSchedules(): Promise<string[]> {
  return ((await scheduler.send(new ListSchedulesCommand({}))).Schedules ?? []).map((s) => s.Name!).sort();
}

async function snapshotKeys(): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "snapshots/" }))).Contents ?? []).map((o) => o.Key!).sort();
}

async function readJson(uri: string): Promise<Record<string, any>> {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  return JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString());
}

const create = ["schedule", "create", "nightly-3am", "--deployment", "nightly"];

describe("schedules of a deployment on EventBridge Scheduler", { timeout: 300_000 }, () => {
  let stateMachineArn: string;

  it("deploys the quickstart; the flavor says its runs can be scheduled", () => {
    ok(
      cli(dir, ["pipeline", "deploy", "./pipelines/training.ts#trainingPipeline", "-c", "configs/training_pipeline.yaml", "--name", "nightly"], {}, 600_000),
      "pipeline deploy",
    );
    const described = JSON.parse(ok(cli(dir, ["deployment", "describe", "nightly", "--json"]), "deployment describe").stdout) as {
      details: { stateMachineArn: string };
    };
    stateMachineArn = described.details.stateMachineArn;
    expect(stateMachineArn).toMatch(/:stateMachine:stackyard-deployment-nightly$/);
    expect(ok(cli(dir, ["orchestrator", "flavor", "describe", "aws_step_functions_local"]), "flavor describe").stdout).toMatch(
      /schedulable\s+yes\s+runs can be scheduled/,
    );
  }, 600_000);

  it("refuses a schedule without scheduler_role_arn, naming the key and how to set it, with nothing written", async () => {
    const before = await snapshotKeys();
    const result = cli(dir, [...create, "--cron", "0 3 * * *", "-p", "test_size=0.3"]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/has no scheduler_role_arn/);
    expect(result.stderr).toMatch(/stackyard orchestrator update sfn --scheduler_role_arn=/);
    expect(await eventBridgeSchedules()).toEqual([]);
    expect(await snapshotKeys()).toEqual(before);
    ok(cli(dir, ["orchestrator", "update", "sfn", `--scheduler_role_arn=${ROLE}`]), "orchestrator update");
  });

  it("refuses a bad cron expression, an unknown time zone, both day fields and a bad window with exit code 2, creating nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--cron", "0 25 * * *"], /hour field "25".*25 is outside 0-23/],
      [["--cron", "0 3 * * *", "--timezone", "Mars/Olympus"], /Unknown time zone "Mars\/Olympus"/],
      [["--cron", "0 3 1 * MON"], /restricts both the day of the month \(1\) and the day of the week \(MON\)/],
      [["--cron", "0 3 * * *", "--flexible-window", "2000"], /Invalid --flexible-window "2000"/],
      [["--cron", "0 3 * * *", "-p", "test_size=lots"], /test_size/],
    ];
    for (const [args, message] of cases) {
      const result = cli(dir, [...create, ...args]);
      expect(result.code, `${args.join(" ")}\n${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(await eventBridgeSchedules()).toEqual([]);
  });

  it("creates a schedule EventBridge keeps as cron(0 3 * * ? *) in Berlin time, starting the deployment's state machine with the schedule's parameters", async () => {
    const created = cli(dir, [...create, "--cron", "0 3 * * *", "--timezone", "Europe/Berlin", "--flexible-window", "15", "-p", "test_size=0.3"]);
    ok(created, "schedule create");
    expect(created.stderr).toMatch(
      /Created schedule 'nightly-3am': deployment 'nightly' version 1, cron 0 3 \* \* \* \(cron\(0 3 \* \* \? \*\), Europe\/Berlin\)/,
    );
    const schedule = await scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-3am", GroupName: "default" }));
    expect(schedule).toMatchObject({
      ScheduleExpression: "cron(0 3 * * ? *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      State: "ENABLED",
      Target: { Arn: stateMachineArn, RoleArn: ROLE },
    });
    const fired = await fireSchedule({ endpoint: aws.moto.endpoint, schedule: "nightly-3am" });
    expect(fired).toMatchObject({ stateMachineArn, roleArn: ROLE });
    expect(fired.stackyard).toMatchObject({ schedule: "nightly-3am", deployment: "nightly", deployment_version: 1, parameters: { test_size: 0.3 } });
    expect(fired.stackyard!.run_name).toBeUndefined();
    // The snapshot it runs is the deployment's with the parameter applied, stored like a trigger's.
    const snapshot = await readJson(fired.stackyard!.snapshot);
    expect(snapshot.pipeline.parameters).toMatchObject({ test_size: 0.3 });
    const deployed = await readJson(
      (JSON.parse(ok(cli(dir, ["deployment", "describe", "nightly", "--json"]), "deployment describe").stdout) as { snapshotUri: string }).snapshotUri,
    );
    expect(snapshot.derived_from).toBe(deployed.id);
    expect(cli(dir, [...create, "--cron", "0 4 * * *"]).stderr).toMatch(/Schedule 'nightly-3am' already exists/);
  });

  it("fired, it runs the deployment's state machine with the schedule's snapshot: every step completes, with no run name given", async () => {
    // What EventBridge Scheduler does when the schedule fires: StartExecution of its target with its input (the name is Step Functions').
    const fired = await fireSchedule({ endpoint: aws.moto.endpoint, schedule: "nightly-3am" });
    const backend = await aws.executionBackend(new LocalEcs({ docker: aws.docker, endpoint: aws.moto.endpoint }).runTask);
    const runId = randomUUID();
    const { status } = await runFired(backend, fired, runId);
    expect(status).toBe("SUCCEEDED");
    for (const step of ["load_data", "split_data", "train_model", "evaluate_model"]) {
      const record = await readJson(`s3://${BUCKET}/runs/${runId}/${step}/step.json`);
      expect(record.step, step).toMatchObject({ runId, stepId: step, status: "completed" });
    }
  }, 600_000);

  it("lists and describes it", () => {
    const table = ok(cli(dir, ["schedule", "list"]), "schedule list").stdout;
    expect(table).toMatch(/^NAME\s+DEPLOYMENT\s+EXPRESSION\s+TIMEZONE\s+STATE\s+NEXT/);
    // The next 03:00 Berlin time, within a day.
    expect(table).toMatch(/nightly-3am\s+nightly@1\s+cron\(0 3 \* \* \? \*\)\s+Europe\/Berlin\s+enabled\s+\d{4}-\d\d-\d\d 03:00 \(in \d+ (min|h)\)/);
    const listed = JSON.parse(ok(cli(dir, ["schedule", "list", "--json"]), "schedule list --json").stdout) as Array<Record<string, unknown>>;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      name: "nightly-3am",
      deployment: { name: "nightly", version: 1 },
      spec: { cron: "0 3 * * *", timezone: "Europe/Berlin" },
      parameters: { test_size: 0.3 },
      flexibleWindowMinutes: 15,
      enabled: true,
      stack: "aws_stack",
      target: stateMachineArn,
    });
    const nextFire = Date.parse(listed[0]!.nextFire as string);
    expect(nextFire).toBeGreaterThan(Date.now() - 60_000);
    expect(nextFire).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000);
    expect(new Date(nextFire).toISOString()).toMatch(/T0[12]:00:00\.000Z$/); // 03:00 CET or CEST
    const described = JSON.parse(ok(cli(dir, ["schedule", "describe", "nightly-3am", "--json"]), "schedule describe --json").stdout);
    expect(described).toEqual(listed[0]);
    const text = ok(cli(dir, ["schedule", "describe", "nightly-3am"]), "schedule describe").stdout;
    expect(text).toMatch(/flexible window:\s+15 minutes/);
    expect(text).toMatch(/when:\s+cron 0 3 \* \* \*/);
    expect(text).toMatch(/next fire:\s+\d{4}-\d\d-\d\d 03:00 \(in \d+ (min|h)\), \d{4}-\d\d-\d\d 03:00, \d{4}-\d\d-\d\d 03:00\n/);
  });

  it("pauses, resumes and updates it: only what is given changes", async () => {
    const state = async () => (await scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-3am" }))).State;
    ok(cli(dir, ["schedule", "pause", "nightly-3am"]), "schedule pause");
    expect(await state()).toBe("DISABLED");
    expect(ok(cli(dir, ["schedule", "list"]), "schedule list").stdout).toMatch(/nightly-3am.*paused\s+paused$/m);
    expect(JSON.parse(ok(cli(dir, ["schedule", "describe", "nightly-3am", "--json"]), "schedule describe --json").stdout).nextFire).toBeNull();
    ok(cli(dir, ["schedule", "resume", "nightly-3am"]), "schedule resume");
    expect(await state()).toBe("ENABLED");

    ok(cli(dir, ["schedule", "update", "nightly-3am", "--every", "6h"]), "schedule update --every");
    const updated = await scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-3am" }));
    expect(updated).toMatchObject({
      ScheduleExpression: "rate(6 hours)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      State: "ENABLED",
      Target: { Arn: stateMachineArn, RoleArn: ROLE },
    });
    const before = await fireSchedule({ endpoint: aws.moto.endpoint, schedule: "nightly-3am" });
    expect(before.stackyard!.parameters).toEqual({ test_size: 0.3 });

    ok(cli(dir, ["schedule", "update", "nightly-3am", "--cron", "30 5 * * 1-5", "--flexible-window", "0", "-p", "test_size=0.25"]), "schedule update");
    const after = await scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-3am" }));
    expect(after).toMatchObject({
      ScheduleExpression: "cron(30 5 ? * 2-6 *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "OFF" },
    });
    const fired = await fireSchedule({ endpoint: aws.moto.endpoint, schedule: "nightly-3am" });
    expect(fired.stackyard!.parameters).toEqual({ test_size: 0.25 });
    expect(fired.stackyard!.snapshot).not.toBe(before.stackyard!.snapshot);
    expect((await readJson(fired.stackyard!.snapshot)).pipeline.parameters).toMatchObject({ test_size: 0.25 });
  });

  it("is listed, paused, resumed and given parameters from a teammate's folder, which shares only the stack", async () => {
    const teammate = newProject("schedules-teammate");
    try {
      registerLocallyExecutedStack(teammate, stackConfigs);
      // Listing needs nothing more; changing a schedule needs the role EventBridge starts runs with, as in any folder.
      const listed = JSON.parse(ok(cli(teammate, ["schedule", "list", "--json"]), "schedule list (teammate)").stdout) as Array<{ name: string }>;
      expect(listed.map((s) => s.name)).toEqual(["nightly-3am"]);
      ok(cli(teammate, ["orchestrator", "update", "sfn", `--scheduler_role_arn=${ROLE}`]), "orchestrator update (teammate)");
      const state = async () => (await scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-3am" }))).State;
      ok(cli(teammate, ["schedule", "pause", "nightly-3am"]), "schedule pause (teammate)");
      expect(await state()).toBe("DISABLED");
      ok(cli(teammate, ["schedule", "resume", "nightly-3am"]), "schedule resume (teammate)");
      expect(await state()).toBe("ENABLED");
      // New parameters: the deployment's snapshot is read from the shared artifact store, and a new one stored there.
      ok(cli(teammate, ["schedule", "update", "nightly-3am", "-p", "test_size=0.2"]), "schedule update -p (teammate)");
      const fired = await fireSchedule({ endpoint: aws.moto.endpoint, schedule: "nightly-3am" });
      expect(fired.stackyard).toMatchObject({ deployment: "nightly", deployment_version: 1, parameters: { test_size: 0.2 } });
      expect((await readJson(fired.stackyard!.snapshot)).pipeline.parameters).toMatchObject({ test_size: 0.2 });
      expect(fired.stateMachineArn).toBe(stateMachineArn);
      ok(cli(teammate, ["schedule", "update", "nightly-3am", "-p", "test_size=0.25"]), "schedule update -p back (teammate)");
    } finally {
      removeProject(teammate);
    }
  });

  it("deploying a new version moves the deployment's schedules to it, keeping their timing and parameters", async () => {
    const deployed = ok(
      cli(dir, ["pipeline", "deploy", "./pipelines/training.ts#trainingPipeline", "-c", "configs/training_pipeline.yaml", "--name", "nightly"], {}, 600_000),
      "pipeline deploy (version 2)",
    );
    expect(deployed.stderr).toMatch(/Schedule 'nightly-3am' now runs version 2 of deployment 'nightly'/);
    const fired = await fireSchedule({ endpoint: aws.moto.endpoint, schedule: "nightly-3am" });
    expect(fired.stateMachineArn).toBe(stateMachineArn);
    expect(fired.stackyard).toMatchObject({ deployment: "nightly", deployment_version: 2, parameters: { test_size: 0.25 } });
    const version2 = JSON.parse(ok(cli(dir, ["deployment", "describe", "nightly", "--json"]), "deployment describe").stdout) as { snapshotId: string };
    expect((await readJson(fired.stackyard!.snapshot)).derived_from).toBe(version2.snapshotId);
    expect((await scheduler.send(new GetScheduleCommand({ Name: "stackyard-nightly-3am" }))).ScheduleExpression).toBe("cron(30 5 ? * 2-6 *)");
  }, 600_000);

  it("names an unknown schedule with exit code 2, and deletes only with confirmation", async () => {
    for (const args of [
      ["describe", "nope"],
      ["pause", "nope"],
      ["update", "nope", "--every", "1h"],
      ["delete", "nope", "--yes"],
    ]) {
      const result = cli(dir, ["schedule", ...args]);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/No schedule 'nope'/);
    }
    const unconfirmed = cli(dir, ["schedule", "delete", "nightly-3am"]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/needs confirmation/);
    expect(await eventBridgeSchedules()).toEqual(["stackyard-nightly-3am"]);
    ok(cli(dir, ["schedule", "delete", "nightly-3am", "--yes"]), "schedule delete");
    expect(await eventBridgeSchedules()).toEqual([]);
    expect(ok(cli(dir, ["schedule", "list"]), "schedule list").stdout).toMatch(/No schedules yet/);
  });

  it("deleting the deployment deletes its schedules", async () => {
    ok(cli(dir, ["schedule", "create", "hourly", "--deployment", "nightly", "--every", "1h"]), "schedule create hourly");
    expect(await eventBridgeSchedules()).toEqual(["stackyard-hourly"]);
    const deleted = ok(cli(dir, ["deployment", "delete", "nightly", "--yes"]), "deployment delete");
    expect(deleted.stderr).toMatch(/Deleted schedule 'hourly'/);
    expect(await eventBridgeSchedules()).toEqual([]);
  });
});
