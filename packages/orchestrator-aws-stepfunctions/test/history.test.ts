// Unit tests: reading an execution's history, its failure and the steps' records back into steps.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import {
  type ArtifactRecord,
  ArtifactStoreRunStore,
  LocalArtifactStore,
  MAP_METADATA_KEY,
  MemoryRunStore,
  readStepFile,
  type StepRunRecord,
} from "@stackyard/core";
import { describe, expect, it } from "vitest";
import { parseStepFailure } from "../src/compiler/index.js";
import { collectOutcomes } from "../src/deploy/step-records.js";
import { HistoryReader, stateNamesFromDefinition } from "../src/implementation.js";

const ev = (id: number, type: string, extra: Partial<HistoryEvent> = {}): HistoryEvent => ({ id, type, timestamp: new Date(0), ...extra }) as HistoryEvent;

describe("HistoryReader", () => {
  it("follows previousEventId chains to the step of each task event, across retries", () => {
    const reader = new HistoryReader(
      new Map([
        ["train", "train"],
        ["eval-1a2b3c4d", "eval step"],
      ]),
    );
    const events = [
      ev(1, "ExecutionStarted"),
      ev(2, "TaskStateEntered", { stateEnteredEventDetails: { name: "train" } }),
      ev(3, "TaskStateEntered", { stateEnteredEventDetails: { name: "eval-1a2b3c4d" } }),
      ev(4, "TaskScheduled", { previousEventId: 2 }),
      ev(5, "TaskSubmitted", {
        previousEventId: 4,
        taskSubmittedEventDetails: {
          resource: "runTask.sync",
          resourceType: "ecs",
          output: '{"Tasks":[{"TaskArn":"arn:aws:ecs:eu-west-1:123456789012:task/ml/aaa"}]}',
        },
      }),
      ev(6, "TaskFailed", {
        previousEventId: 5,
        taskFailedEventDetails: { resource: "runTask.sync", resourceType: "ecs", error: "States.TaskFailed", cause: "{}" },
      }),
      ev(7, "TaskScheduled", { previousEventId: 6 }),
      ev(8, "TaskSucceeded", {
        previousEventId: 7,
        taskSucceededEventDetails: { resource: "runTask.sync", resourceType: "ecs", output: '{"TaskArn":"arn:aws:ecs:eu-west-1:123456789012:task/ml/bbb"}' },
      }),
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
    expect(parseStepFailure("Stackyard.StepFailed", unescaped)).toEqual({
      stepId: "explode",
      stateName: "explode",
      error: { Error: "States.TaskFailed", Cause: '{"TaskArn":"arn:aws:ecs:us-east-1:1:task/s/1a"}' },
    });
    expect(parseStepFailure("Stackyard.StepFailed", 'Step failed: {"a_b":{"Error":"States.TaskFailed","Cause":"cut sho', { "a b": "a_b" })?.stepId).toBe("a b");
    expect(parseStepFailure("States.Timeout", "whatever")).toBeUndefined();
  });

  it("finds each step's Task state in a definition by its --step argument", () => {
    const command = (id: string) => `States.Array('stackyard','step','run','--snapshot','s3://b/s.json','--step','${id}','--run',$$.Execution.Name)`;
    const task = (id: string) => ({ Type: "Task", Parameters: { Overrides: { ContainerOverrides: [{ "Command.$": command(id) }] } } });
    const definition = JSON.stringify({
      StartAt: "p",
      States: {
        p: { Type: "Parallel", Branches: [{ States: { "odd_name-12345678": task("odd name") } }, { States: { train: task("train") } }] },
        evaluate: task("evaluate"),
      },
    });
    expect(stateNamesFromDefinition(definition, ["train", "odd name", "evaluate", "missing"])).toEqual({
      train: "train",
      "odd name": "odd_name-12345678",
      evaluate: "evaluate",
    });
  });
});

describe("step records in the artifact store", () => {
  it("takes a step the cache answered for (a cached record, no step.json) as cached, with the artifacts it reuses", async () => {
    const root = mkdtempSync(join(tmpdir(), "sfn-step-records-"));
    try {
      const artifactStore = new LocalArtifactStore({ id: "a", name: "local", flavor: "local", config: { path: root }, sourceRoot: root });
      // What a step container keeps in the artifact store: the first run's record, step.json and artifact; the second run's cached record only.
      const remote = new ArtifactStoreRunStore(artifactStore);
      const artifact: ArtifactRecord = {
        id: "art-1",
        runId: "run-1",
        stepId: "emit",
        output: "blob",
        uri: artifactStore.uri("runs/run-1/emit/blob"),
        materializer: "bytes",
        dataType: "bytes",
        size: 3,
        sha256: "0".repeat(64),
        created: new Date(0).toISOString(),
      };
      const first: StepRunRecord = { runId: "run-1", stepId: "emit", stepName: "emit", status: "completed", attempt: 1, outputs: { blob: artifact.id } };
      await remote.putArtifact(artifact);
      await remote.putStepRun(first);
      await artifactStore.writeFile("runs/run-1/emit/step.json", JSON.stringify({ step: first, artifacts: [artifact] }));
      await remote.putStepRun({ ...first, runId: "run-2", status: "cached", cachedFrom: { runId: "run-1", stepId: "emit" } });
      // A step that is still running recorded itself too, but has not ended.
      await remote.putStepRun({ ...first, runId: "run-2", stepId: "digest", stepName: "digest", status: "running", outputs: {} });

      const store = new MemoryRunStore();
      const collected = await collectOutcomes({ runId: "run-2", stepIds: ["emit", "digest"], artifactStore, store, execution: { status: "RUNNING" } });
      // The step under way is reported, and recorded in the client's store, as its container's record says.
      expect(collected).toEqual({
        status: "running",
        steps: [
          { stepId: "emit", status: "cached" },
          { stepId: "digest", status: "running" },
        ],
      });
      expect(await store.getStepRun("run-2", "digest")).toMatchObject({ status: "running", attempt: 1 });
      expect(await store.getStepRun("run-2", "emit")).toMatchObject({
        status: "cached",
        outputs: { blob: "art-1" },
        cachedFrom: { runId: "run-1", stepId: "emit" },
      });
      expect(await store.getArtifact("art-1")).toEqual(artifact);
      expect((await readStepFile(artifactStore, "run-1", "emit"))?.step.status).toBe("completed");
      expect(await readStepFile(artifactStore, "run-2", "digest")).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reports a step between attempts as retrying, and settles steps whose retries the execution cut short", async () => {
    const root = mkdtempSync(join(tmpdir(), "sfn-step-records-"));
    try {
      const artifactStore = new LocalArtifactStore({ id: "a", name: "local", flavor: "local", config: { path: root }, sourceRoot: root });
      const remote = new ArtifactStoreRunStore(artifactStore);
      const step = (stepId: string, extra: Partial<StepRunRecord>): StepRunRecord => ({
        runId: "run-3",
        stepId,
        stepName: stepId,
        status: "running",
        attempt: 1,
        outputs: {},
        started: new Date(0).toISOString(),
        ...extra,
      });
      // flaky: attempt 2 failed with attempts left; slow: attempt 1 under way; never: no record.
      await remote.putStepRun(step("flaky", { status: "retrying", attempt: 2, error: "boom 2" }));
      await remote.putStepRun(step("slow", {}));
      const stepIds = ["flaky", "slow", "never"];

      const store = new MemoryRunStore();
      const running = await collectOutcomes({ runId: "run-3", stepIds, artifactStore, store, execution: { status: "RUNNING" } });
      expect(running).toEqual({
        status: "running",
        steps: [
          { stepId: "flaky", status: "retrying", error: "boom 2" },
          { stepId: "slow", status: "running" },
        ],
      });
      expect(await store.getStepRun("run-3", "flaky")).toMatchObject({ status: "retrying", attempt: 2, error: "boom 2" });

      // The next attempt's ECS task could not even start (no capacity): the execution fails on flaky.
      const cause = 'Step failed: {"flaky":{"Error":"ECS.AmazonECSException","Cause":"No Container Instances were found"}}';
      const failed = await collectOutcomes({
        runId: "run-3",
        stepIds,
        artifactStore,
        store,
        execution: { status: "FAILED", error: "Stackyard.StepFailed", cause },
      });
      expect(failed.status).toBe("failed");
      expect(failed.steps).toEqual([
        {
          stepId: "flaky",
          status: "failed",
          error: "attempt 2 failed (boom 2) and the next attempt's ECS task failed (ECS.AmazonECSException): No Container Instances were found",
        },
        { stepId: "slow", status: "stopped", error: "stopped: step 'flaky' failed" },
        { stepId: "never", status: "skipped", error: "not run: step 'flaky' failed" },
      ]);
      // The records keep the attempt and start their containers wrote.
      expect(await store.getStepRun("run-3", "flaky")).toMatchObject({ status: "failed", attempt: 2, started: new Date(0).toISOString() });
      expect(await store.getStepRun("run-3", "slow")).toMatchObject({ status: "stopped", attempt: 1 });

      const stopped = await collectOutcomes({ runId: "run-3", stepIds, artifactStore, execution: { status: "ABORTED" } });
      expect(stopped.steps.map((s) => [s.stepId, s.status, s.error])).toEqual([
        ["flaky", "stopped", "attempt 2 failed (boom 2) and the execution was stopped before the retry"],
        ["slow", "stopped", "the execution was stopped"],
        ["never", "stopped", "the execution was stopped"],
      ]);
      const otherFailed = await collectOutcomes({
        runId: "run-3",
        stepIds: ["flaky"],
        artifactStore,
        execution: { status: "FAILED", error: "Stackyard.StepFailed", cause: 'Step failed: {"other":{"Error":"States.TaskFailed"}}' },
      });
      expect(otherFailed.steps).toEqual([
        { stepId: "flaky", status: "stopped", error: "attempt 2 failed (boom 2) and the retry was cancelled: step 'other' failed" },
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("settles a map step from its items' records: copies them, counts them, and fails a map whose items another step's failure cut short", async () => {
    const root = mkdtempSync(join(tmpdir(), "sfn-step-records-"));
    try {
      const artifactStore = new LocalArtifactStore({ id: "a", name: "local", flavor: "local", config: { path: root }, sourceRoot: root });
      const remote = new ArtifactStoreRunStore(artifactStore);
      const record = (stepId: string, extra: Partial<StepRunRecord>): StepRunRecord => ({
        runId: "run-4",
        stepId,
        stepName: "score",
        status: "running",
        attempt: 1,
        outputs: {},
        ...extra,
      });
      const writeFile = (step: StepRunRecord) => artifactStore.writeFile(`runs/run-4/${step.stepId}/step.json`, JSON.stringify({ step, artifacts: [] }));
      // The expand recorded the map running with 4 items; items 0 and 2 completed, 1 failed, 3 is under way.
      await writeFile(record("score", { metadata: { [MAP_METADATA_KEY]: { items: 4 } } }));
      await writeFile(record("score[0]", { status: "completed" }));
      await writeFile(record("score[1]", { status: "failed", error: "shard 1 is corrupt" }));
      await writeFile(record("score[2]", { status: "completed" }));
      await remote.putStepRun(record("score[3]", {}));
      const maps = new Map([["score", { inputs: ["shard"], mode: "zip" as const, tolerate: { count: 1 } }]]);

      const store = new MemoryRunStore();
      const running = await collectOutcomes({ runId: "run-4", stepIds: ["score"], artifactStore, store, execution: { status: "RUNNING" }, maps });
      expect(running.steps).toEqual([{ stepId: "score", status: "running" }]);
      // While it runs, the store has the items that ended and the one under way, and the map's record counts them.
      expect(await store.getStepRun("run-4", "score[1]")).toMatchObject({ status: "failed", error: "shard 1 is corrupt" });
      expect(await store.getStepRun("run-4", "score[3]")).toMatchObject({ status: "running" });
      expect(await store.getStepRun("run-4", "score")).toMatchObject({
        status: "running",
        metadata: { [MAP_METADATA_KEY]: { items: 4, completed: 2, cached: 0, failed: [1], stopped: 0, running: 1, notStarted: 0 } },
      });

      // Another step failed: Step Functions stopped item 3's task.
      const cause = 'Step failed: {"other":{"Error":"States.TaskFailed"}}';
      const failed = await collectOutcomes({
        runId: "run-4",
        stepIds: ["score"],
        artifactStore,
        store,
        execution: { status: "FAILED", error: "Stackyard.StepFailed", cause },
        maps,
      });
      expect(failed.steps).toEqual([
        { stepId: "score", status: "failed", error: "1 of 4 items did not finish (1 stopped, 0 not started): step 'other' failed" },
      ]);
      expect(failed.maps?.score).toMatchObject({ items: 4, completed: 2, failed: [1], stopped: 1, notStarted: 0, tolerated: 1 });
      expect((await store.getStepRun("run-4", "score"))?.metadata?.[MAP_METADATA_KEY]).toEqual({
        items: 4,
        completed: 2,
        cached: 0,
        failed: [1],
        stopped: 1,
        notStarted: 0,
        tolerated: 1,
      });
      expect(await store.getStepRun("run-4", "score[1]")).toMatchObject({ status: "failed", error: "shard 1 is corrupt" });
      expect(await store.getStepRun("run-4", "score[3]")).toMatchObject({ status: "stopped" });

      // Had item 3 completed, the tolerated failure would leave the map completed.
      await writeFile(record("score[3]", { status: "completed" }));
      const ok = await collectOutcomes({ runId: "run-4", stepIds: ["score"], artifactStore, execution: { status: "SUCCEEDED" }, maps });
      expect(ok.steps).toEqual([{ stepId: "score", status: "completed" }]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
