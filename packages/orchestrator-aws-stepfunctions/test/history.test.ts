// Unit tests: reading an execution's history and failure back into steps.
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import { describe, expect, it } from "vitest";
import { parseStepFailure } from "../src/compiler/index.js";
import { HistoryReader, stateNamesFromDefinition } from "../src/implementation.js";

const ev = (id: number, type: string, extra: Partial<HistoryEvent> = {}): HistoryEvent => ({ id, type, timestamp: new Date(0), ...extra }) as HistoryEvent;

describe("HistoryReader", () => {
  it("follows previousEventId chains to the step of each task event, across retries", () => {
    const reader = new HistoryReader(new Map([["train", "train"], ["eval-1a2b3c4d", "eval step"]]));
    const events = [
      ev(1, "ExecutionStarted"),
      ev(2, "TaskStateEntered", { stateEnteredEventDetails: { name: "train" } }),
      ev(3, "TaskStateEntered", { stateEnteredEventDetails: { name: "eval-1a2b3c4d" } }),
      ev(4, "TaskScheduled", { previousEventId: 2 }),
      ev(5, "TaskSubmitted", { previousEventId: 4, taskSubmittedEventDetails: { resource: "runTask.sync", resourceType: "ecs", output: '{"Tasks":[{"TaskArn":"arn:aws:ecs:eu-west-1:123456789012:task/ml/aaa"}]}' } }),
      ev(6, "TaskFailed", { previousEventId: 5, taskFailedEventDetails: { resource: "runTask.sync", resourceType: "ecs", error: "States.TaskFailed", cause: "{}" } }),
      ev(7, "TaskScheduled", { previousEventId: 6 }),
      ev(8, "TaskSucceeded", { previousEventId: 7, taskSucceededEventDetails: { resource: "runTask.sync", resourceType: "ecs", output: '{"TaskArn":"arn:aws:ecs:eu-west-1:123456789012:task/ml/bbb"}' } }),
    ];
    expect(reader.apply(events).map((e) => [e.stepId, e.kind])).toEqual([
      ["train", "running"],
      ["eval step", "running"],
      ["train", "failed"],
      ["train", "retrying"],
      ["train", "succeeded"],
    ]);
    expect(reader.apply(events)).toEqual([]);
    expect(reader.taskArns("train")).toEqual(["arn:aws:ecs:eu-west-1:123456789012:task/ml/aaa", "arn:aws:ecs:eu-west-1:123456789012:task/ml/bbb"]);
  });
});

describe("reading failures and state names back", () => {
  it("names the failed step even when the cause is not JSON (truncated, or unescaped by aws-local-stepfunctions)", () => {
    const unescaped = 'Step failed: {"explode":{"Error":"States.TaskFailed","Cause":"{"TaskArn":"arn:aws:ecs:us-east-1:1:task/s/1a"}"}}';
    expect(parseStepFailure("Stackyard.StepFailed", unescaped)).toEqual({ stepId: "explode", stateName: "explode", error: { Error: "States.TaskFailed", Cause: '{"TaskArn":"arn:aws:ecs:us-east-1:1:task/s/1a"}' } });
    expect(parseStepFailure("Stackyard.StepFailed", 'Step failed: {"a_b":{"Error":"States.TaskFailed","Cause":"cut sho', { "a b": "a_b" })?.stepId).toBe("a b");
    expect(parseStepFailure("States.Timeout", "whatever")).toBeUndefined();
  });

  it("finds each step's Task state in a definition by its --step argument", () => {
    const command = (id: string) => `States.Array('stackyard','step','run','--snapshot','s3://b/s.json','--step','${id}','--run',$$.Execution.Name)`;
    const task = (id: string) => ({ Type: "Task", Parameters: { Overrides: { ContainerOverrides: [{ "Command.$": command(id) }] } } });
    const definition = JSON.stringify({
      StartAt: "p",
      States: { p: { Type: "Parallel", Branches: [{ States: { "odd_name-12345678": task("odd name") } }, { States: { train: task("train") } }] }, evaluate: task("evaluate") },
    });
    expect(stateNamesFromDefinition(definition, ["train", "odd name", "evaluate", "missing"])).toEqual({ train: "train", "odd name": "odd_name-12345678", evaluate: "evaluate" });
  });
});
