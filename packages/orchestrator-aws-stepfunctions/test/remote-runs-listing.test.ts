// listRemoteRuns and describeRemoteRuns with a backend of made-up executions:
// what the listing alone gives, which executions are described, how statuses
// map, and where listing stops paging.
import type { RunStatus } from "@stackyard/core";
import { describe, expect, it } from "vitest";
import {
  describeRemoteRuns,
  type ExecutionBackend,
  type ExecutionListItem,
  type ExecutionStatus,
  listRemoteRuns,
  machineOrigin,
  type RemoteRunSource,
  remoteRunStatus,
} from "../src/implementation.js";

const MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:stackyard-deployment-nightly";

/** `count` executions, newest first, in pages of `pageSize`; every call counted. */
function fakeSource(count: number, pageSize: number, status: (i: number) => ExecutionStatus = () => "SUCCEEDED") {
  const executions: ExecutionListItem[] = Array.from({ length: count }, (_, n) => {
    const i = count - 1 - n;
    return {
      executionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:run-${i}`,
      name: `run-${i}`,
      status: status(i),
      startDate: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    };
  });
  const calls = { list: 0, describe: [] as string[] };
  const backend: Pick<ExecutionBackend, "list" | "describe"> = {
    async list(arn, nextToken) {
      expect(arn).toBe(MACHINE);
      calls.list++;
      const from = Number(nextToken ?? 0);
      const page = executions.slice(from, from + pageSize);
      return { executions: page, ...(from + pageSize < executions.length ? { nextToken: String(from + pageSize) } : {}) };
    },
    async describe(arn) {
      calls.describe.push(arn);
      const e = executions.find((x) => x.executionArn === arn)!;
      const i = Number(e.name.slice(4));
      const input =
        i === 0
          ? { not: "stackyard" }
          : { stackyard: { snapshot: "s3://b/snapshots/s.json", run_name: `nightly-${i}`, deployment: "nightly", deployment_version: 2 } };
      return { status: e.status, input: JSON.stringify(input), startDate: e.startDate };
    },
  };
  const source: RemoteRunSource = {
    async listStateMachines() {
      return {
        stateMachines: [
          { name: "stackyard-deployment-nightly", stateMachineArn: MACHINE },
          { name: "someone-elses-machine", stateMachineArn: `${MACHINE}-other` },
        ],
      };
    },
    backend,
  };
  return { source, backend, calls, executions };
}

describe("remote runs of Step Functions", () => {
  it("maps execution statuses to run statuses", () => {
    expect((["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"] as const).map(remoteRunStatus)).toEqual([
      "running",
      "completed",
      "failed",
      "failed",
      "stopped",
      "running",
    ]);
  });

  it("lists new executions from the listing alone, marked as needing details, with what their state machine tells", async () => {
    const { source, calls, executions } = fakeSource(5, 100);
    const runs = await listRemoteRuns(source, { known: () => undefined }, { prefix: "stackyard-" });
    expect(calls.describe).toEqual([]);
    // Newest first; the one Stackyard did not start is among them until described.
    expect(runs.map((r) => r.runId)).toEqual(["run-4", "run-3", "run-2", "run-1", "run-0"]);
    expect(runs[0]).toEqual({
      runId: "run-4",
      orchestratorRunId: executions[0]!.executionArn,
      status: "completed",
      started: executions[0]!.startDate,
      deployment: "nightly",
      detailsPending: true,
    });
  });

  it("tells a pipeline's state machine from a deployment's", () => {
    expect(machineOrigin("stackyard-deployment-nightly", "stackyard-")).toEqual({ deployment: "nightly" });
    expect(machineOrigin("stackyard-training_pipeline", "stackyard-")).toEqual({ pipeline: "training_pipeline" });
  });

  it("describes only the executions asked for, reads their origin, and marks those Stackyard did not start", async () => {
    const { backend, calls, executions } = fakeSource(5, 100);
    const asked = [executions[0]!.executionArn, executions[4]!.executionArn];
    const details = await describeRemoteRuns(backend, asked);
    expect(calls.describe.sort()).toEqual([...asked].sort());
    expect(details.get(executions[0]!.executionArn)).toMatchObject({
      runId: "run-4",
      runName: "nightly-4",
      status: "completed",
      deployment: "nightly",
      deploymentVersion: 2,
      snapshotUri: "s3://b/snapshots/s.json",
    });
    // run-0's input carries no stackyard snapshot: not Stackyard's.
    expect(details.get(executions[4]!.executionArn)).toBeNull();
  });

  it("describes a few executions at once", async () => {
    const { backend, executions } = fakeSource(40, 100);
    let running = 0;
    let most = 0;
    const describe = backend.describe.bind(backend);
    backend.describe = async (arn) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      running--;
      return describe(arn);
    };
    const details = await describeRemoteRuns(
      backend,
      executions.map((e) => e.executionArn),
      { concurrency: 8 },
    );
    expect(details.size).toBe(40);
    expect(most).toBe(8);
  });

  it("stops paging a machine at the first page with nothing new or changed", async () => {
    const { source, calls, executions } = fakeSource(1000, 100);
    // Known with the status they have: everything but the newest 150.
    const known = new Map<string, RunStatus>(executions.slice(150).map((e) => [e.executionArn, remoteRunStatus(e.status)]));
    const runs = await listRemoteRuns(source, { known: (arn) => known.get(arn) }, { prefix: "stackyard-" });
    expect(runs).toHaveLength(150);
    // Pages 1 and 2 hold new runs; page 3 holds none: stop there.
    expect(calls.list).toBe(3);
    expect(calls.describe).toEqual([]);
  });

  it("returns a run whose status changed with its status and times only", async () => {
    const { source, calls, executions } = fakeSource(10, 100);
    const known = new Map<string, RunStatus>(executions.map((e) => [e.executionArn, "completed"]));
    known.set(executions[2]!.executionArn, "running");
    const runs = await listRemoteRuns(source, { known: (arn) => known.get(arn) }, { prefix: "stackyard-" });
    expect(runs).toEqual([
      { runId: executions[2]!.name, orchestratorRunId: executions[2]!.executionArn, status: "completed", started: executions[2]!.startDate },
    ]);
    expect(calls.describe).toEqual([]);
  });

  it("returns the runs it described when time runs out while describing", async () => {
    const { backend, calls, executions } = fakeSource(10, 100);
    const controller = new AbortController();
    const describe = backend.describe.bind(backend);
    backend.describe = async (arn) => {
      if (calls.describe.length === 3) controller.abort(new Error("out of time"));
      return describe(arn);
    };
    const details = await describeRemoteRuns(
      backend,
      executions.map((e) => e.executionArn),
      { concurrency: 1, signal: controller.signal },
    );
    expect([...details.values()].map((r) => r?.runId)).toEqual(["run-9", "run-8", "run-7"]);
  });

  it("gives up once its signal is aborted", async () => {
    const { source } = fakeSource(10, 100);
    const controller = new AbortController();
    controller.abort(new Error("out of time"));
    await expect(listRemoteRuns(source, { known: () => undefined, signal: controller.signal }, { prefix: "stackyard-" })).rejects.toThrow("out of time");
  });
});
