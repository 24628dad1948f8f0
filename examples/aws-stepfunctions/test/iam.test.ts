// The example IAM policies parse and have the shape IAM expects, and carry the
// permissions the Step Functions orchestrator needs.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dir = new URL("../iam/", import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort();

interface Statement {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  Resource?: string | string[];
  Principal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

const load = (name: string): Policy => JSON.parse(readFileSync(new URL(name, dir), "utf8")) as Policy;
const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const actions = (policy: Policy): string[] => policy.Statement.flatMap((s) => list(s.Action));

describe("example IAM policies", () => {
  it("are all there", () => {
    expect(files).toEqual([
      "ecr.json",
      "ecs.json",
      "eventbridge.json",
      "s3.json",
      "scheduler-role.json",
      "scheduler-trust-policy.json",
      "scheduler.json",
      "state-machine-execution-role.json",
      "state-machine-trust-policy.json",
      "step-functions.json",
    ]);
  });

  it.each(files)("%s is a well-formed policy document", (name) => {
    const policy = load(name);
    expect(Object.keys(policy).sort()).toEqual(["Statement", "Version"]);
    expect(policy.Version).toBe("2012-10-17");
    expect(Array.isArray(policy.Statement)).toBe(true);
    expect(policy.Statement.length).toBeGreaterThan(0);
    const sids = policy.Statement.map((s) => s.Sid).filter(Boolean);
    expect(new Set(sids).size).toBe(sids.length);
    for (const statement of policy.Statement) {
      expect(["Allow", "Deny"]).toContain(statement.Effect);
      for (const key of Object.keys(statement)) expect(["Sid", "Effect", "Action", "Resource", "Principal", "Condition"]).toContain(key);
      const acts = list(statement.Action);
      expect(acts.length).toBeGreaterThan(0);
      expect(new Set(acts).size).toBe(acts.length);
      for (const action of acts) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z*]+$/);
      if (name.includes("trust")) {
        expect(statement.Principal).toBeDefined();
        expect(statement.Resource).toBeUndefined();
      } else {
        expect(statement.Principal).toBeUndefined();
        const resources = list(statement.Resource);
        expect(resources.length).toBeGreaterThan(0);
        for (const resource of resources) expect(resource === "*" || resource.startsWith("arn:aws:")).toBe(true);
      }
    }
  });

  it("ecs.json is the seed's ECS policy with its missing comma fixed", () => {
    expect(actions(load("ecs.json"))).toEqual([
      "ecs:RunTask",
      "ecs:StopTask",
      "ecs:DescribeTasks",
      "ecs:ListTasks",
      "ecs:DescribeTaskDefinition",
      "iam:PassRole",
      "ecs:RegisterTaskDefinition",
      "ecs:DeregisterTaskDefinition",
      "ecs:ListTaskDefinitions",
      "logs:CreateLogGroup",
      "logs:PutLogEvents",
      "logs:CreateLogStream",
    ]);
  });

  it("eventbridge.json allows the managed rule that ecs:runTask.sync waits through", () => {
    const [statement] = load("eventbridge.json").Statement;
    expect(list(statement!.Action).sort()).toEqual(["events:DescribeRule", "events:PutRule", "events:PutTargets"]);
    expect(statement!.Resource).toBe("arn:aws:events:*:*:rule/StepFunctionsGetEventsForECSTaskRule");
  });

  it("the state machine's execution role can run, watch and stop tasks and pass their roles", () => {
    const policy = load("state-machine-execution-role.json");
    for (const action of ["ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks", "iam:PassRole", "events:PutTargets", "events:PutRule", "events:DescribeRule"]) {
      expect(actions(policy)).toContain(action);
    }
    const passRole = policy.Statement.find((s) => list(s.Action).includes("iam:PassRole"))!;
    expect(passRole.Condition?.StringEquals?.["iam:PassedToService"]).toBe("ecs-tasks.amazonaws.com");
    const events = policy.Statement.find((s) => list(s.Action).includes("events:PutRule"))!;
    expect(list(events.Resource)[0]).toMatch(/:rule\/StepFunctionsGetEventsForECSTaskRule$/);
    // Map steps: the manifest reads, and the child executions of Distributed Maps.
    for (const action of ["s3:GetObject", "states:StartExecution", "states:DescribeExecution", "states:StopExecution"]) {
      expect(actions(policy)).toContain(action);
    }
    const manifests = policy.Statement.find((s) => list(s.Action).includes("s3:GetObject"))!;
    expect(manifests.Resource).toBe("arn:aws:s3:::<YOUR_BUCKET>/runs/*");
    const trust = load("state-machine-trust-policy.json").Statement[0]!;
    expect(trust.Principal).toEqual({ Service: "states.amazonaws.com" });
    expect(trust.Action).toBe("sts:AssumeRole");
  });

  it("step-functions.json covers the seed's actions and passes the execution role to Step Functions only", () => {
    const policy = load("step-functions.json");
    for (const action of [
      "states:CreateStateMachine",
      "states:DeleteStateMachine",
      "states:ListStateMachines",
      "states:StartExecution",
      "states:StopExecution",
      "states:ListExecutions",
      "states:DescribeExecution",
      "states:DescribeStateMachine",
      "states:GetExecutionHistory",
    ]) {
      expect(actions(policy)).toContain(action);
    }
    const passRole = policy.Statement.find((s) => list(s.Action).includes("iam:PassRole"))!;
    expect(passRole.Condition?.StringEquals?.["iam:PassedToService"]).toBe("states.amazonaws.com");
  });

  it("the scheduler role trusts EventBridge Scheduler and may only start the deployments' state machines", () => {
    const trust = load("scheduler-trust-policy.json").Statement[0]!;
    expect(trust.Principal).toEqual({ Service: "scheduler.amazonaws.com" });
    expect(trust.Action).toBe("sts:AssumeRole");
    const role = load("scheduler-role.json");
    expect(actions(role)).toEqual(["states:StartExecution"]);
    expect(role.Statement[0]!.Resource).toBe("arn:aws:states:*:<ACCOUNT_ID>:stateMachine:stackyard-deployment-*");
  });

  it("scheduler.json lets you manage schedules and pass the scheduler role to EventBridge Scheduler only", () => {
    const policy = load("scheduler.json");
    for (const action of [
      "scheduler:CreateSchedule",
      "scheduler:UpdateSchedule",
      "scheduler:GetSchedule",
      "scheduler:ListSchedules",
      "scheduler:DeleteSchedule",
    ]) {
      expect(actions(policy)).toContain(action);
    }
    const passRole = policy.Statement.find((s) => list(s.Action).includes("iam:PassRole"))!;
    expect(passRole.Resource).toBe("arn:aws:iam::<ACCOUNT_ID>:role/stackyard-scheduler");
    expect(passRole.Condition?.StringEquals?.["iam:PassedToService"]).toBe("scheduler.amazonaws.com");
  });

  it("s3.json is scoped to the bucket and its objects", () => {
    expect(list(load("s3.json").Statement[0]!.Resource)).toEqual(["arn:aws:s3:::<YOUR_BUCKET>", "arn:aws:s3:::<YOUR_BUCKET>/*"]);
  });
});
