// How a schedule's spec becomes what EventBridge Scheduler keeps (no engines).
import { ConfigError, parseScheduleSpec } from "@stackyard/core";
import { describe, expect, it } from "vitest";
import {
  eventBridgeExpression,
  eventBridgeScheduleName,
  flexibleTimeWindow,
  parseScheduleDescription,
  scheduleCommandInput,
  scheduleDescription,
  scheduleInfoFrom,
} from "../src/deploy/schedules.js";

const cron = (expression: string) => eventBridgeExpression(parseScheduleSpec({ cron: expression }));

describe("cron expressions for EventBridge", () => {
  it("adds the year and leaves the day of the week open when only the day of the month is set", () => {
    expect(cron("0 3 * * *")).toBe("cron(0 3 * * ? *)");
    expect(cron("30 2 1 * *")).toBe("cron(30 2 1 * ? *)");
    expect(cron("0 0 1,15 JAN,jul *")).toBe("cron(0 0 1,15 JAN,JUL ? *)");
  });

  it("leaves the day of the month open and numbers days of the week 1-7 from Sunday", () => {
    expect(cron("0 9 * * 1-5")).toBe("cron(0 9 ? * 2-6 *)");
    expect(cron("0 9 * * MON-FRI")).toBe("cron(0 9 ? * 2-6 *)");
    expect(cron("0 9 * * 0")).toBe("cron(0 9 ? * 1 *)");
    expect(cron("0 9 * * 7")).toBe("cron(0 9 ? * 1 *)");
    expect(cron("0 9 * * 6")).toBe("cron(0 9 ? * 7 *)");
    // Friday to Sunday: cron's 5-7 wraps to EventBridge's 1 and 6-7.
    expect(cron("0 9 * * 5-7")).toBe("cron(0 9 ? * 1,6,7 *)");
    expect(cron("0 9 * * sun,wed")).toBe("cron(0 9 ? * 1,4 *)");
    expect(cron("0 9 ? * 1")).toBe("cron(0 9 ? * 2 *)");
  });

  it("writes steps as EventBridge reads them: */N from the field's first value, other steps as lists", () => {
    expect(cron("*/15 * * * *")).toBe("cron(0/15 * * * ? *)");
    expect(cron("0 */6 * * *")).toBe("cron(0 0/6 * * ? *)");
    expect(cron("0 0 */2 * *")).toBe("cron(0 0 1/2 * ? *)");
    expect(cron("10-40/10 * * * *")).toBe("cron(10,20,30,40 * * * ? *)");
    // Every other day of the week from Sunday: Sunday, Tuesday, Thursday, Saturday.
    expect(cron("0 0 * * */2")).toBe("cron(0 0 ? * 1,3,5,7 *)");
  });

  it("refuses a cron expression that restricts both day fields, naming both", () => {
    expect(() => cron("0 3 1 * 1")).toThrow(ConfigError);
    expect(() => cron("0 3 1 * 1")).toThrow(/restricts both the day of the month \(1\) and the day of the week \(1\)/);
  });

  it("writes intervals as rate expressions, singular for one", () => {
    expect(eventBridgeExpression(parseScheduleSpec({ every: "15m" }))).toBe("rate(15 minutes)");
    expect(eventBridgeExpression(parseScheduleSpec({ every: "1h" }))).toBe("rate(1 hour)");
    expect(eventBridgeExpression(parseScheduleSpec({ every: "2d" }))).toBe("rate(2 days)");
    expect(eventBridgeExpression(parseScheduleSpec({ every: "1 day" }))).toBe("rate(1 day)");
  });
});

describe("schedule requests", () => {
  const deployment = {
    stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:stackyard-deployment-nightly",
    stateMachineName: "stackyard-deployment-nightly",
    region: "us-east-1",
    executionInput: { ecs: { Cluster: "c" } },
    stateNames: {},
    mapStates: {},
    taskDefinitions: {},
    images: {},
  };
  const request = {
    name: "nightly-3am",
    spec: parseScheduleSpec({ cron: "0 3 * * *", timezone: "Europe/Berlin", start: "2030-01-01T00:00:00Z" }),
    deployment: { name: "nightly", version: 2 },
    snapshotUri: "s3://bucket/snapshots/abc.json",
    parameters: { test_size: 0.3 },
    flexibleWindowMinutes: 15,
    enabled: true,
  };

  it("targets the deployment's state machine with a run's input naming the schedule, and reads back the same schedule", () => {
    const input = scheduleCommandInput(request, {
      scheduleName: "stackyard-nightly-3am",
      groupName: "default",
      roleArn: "arn:aws:iam::123456789012:role/stackyard-scheduler",
      deployment,
    });
    expect(input).toMatchObject({
      Name: "stackyard-nightly-3am",
      GroupName: "default",
      ScheduleExpression: "cron(0 3 * * ? *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 15 },
      State: "ENABLED",
      StartDate: new Date("2030-01-01T00:00:00Z"),
      Target: { Arn: deployment.stateMachineArn, RoleArn: "arn:aws:iam::123456789012:role/stackyard-scheduler" },
    });
    expect(JSON.parse(input.Target!.Input!)).toEqual({
      ecs: { Cluster: "c" },
      stackyard: {
        snapshot: "s3://bucket/snapshots/abc.json",
        deployment: "nightly",
        deployment_version: 2,
        schedule: "nightly-3am",
        parameters: { test_size: 0.3 },
      },
    });
    const info = scheduleInfoFrom({ ...input, Arn: "arn:aws:scheduler:us-east-1:123456789012:schedule/default/stackyard-nightly-3am" });
    expect(info).toMatchObject({ ...request, expression: "cron(0 3 * * ? *)", target: deployment.stateMachineArn });
    expect(scheduleInfoFrom({ ...input, State: "DISABLED" })?.enabled).toBe(false);
  });

  it("ignores schedules Stackyard did not make", () => {
    expect(scheduleInfoFrom({ Name: "other", ScheduleExpression: "rate(1 hour)", Target: { Arn: "x", RoleArn: "y", Input: '{"a":1}' } })).toBeUndefined();
    expect(parseScheduleDescription("made by hand")).toBeUndefined();
  });

  it("keeps descriptions within EventBridge's 512 characters", () => {
    const long = scheduleDescription({ deployment: "d", version: 1, cron: "1,".repeat(300) });
    expect(long.length).toBeLessThanOrEqual(512);
    expect(parseScheduleDescription(long)).toEqual({ deployment: "d", version: 1 });
  });

  it("names schedules with the orchestrator's prefix within 64 characters", () => {
    expect(eventBridgeScheduleName("stackyard-", "nightly")).toBe("stackyard-nightly");
    const long = eventBridgeScheduleName("stackyard-", "x".repeat(64));
    expect(long).toHaveLength(64);
    expect(long).not.toBe(eventBridgeScheduleName("stackyard-", `${"x".repeat(63)}y`));
  });

  it("checks the flexible window", () => {
    expect(flexibleTimeWindow(undefined)).toEqual({ Mode: "OFF" });
    expect(flexibleTimeWindow(0)).toEqual({ Mode: "OFF" });
    expect(() => flexibleTimeWindow(1441)).toThrow(/from 1 to 1440/);
  });
});
