// listRemoteRuns with a backend of made-up executions: which executions it
// describes, how statuses map, and where it stops paging.
import type { RunStatus } from "@stackyard/core";
import { describe, expect, it } from "vitest";
import { type ExecutionListItem, type ExecutionStatus, listRemoteRuns, type RemoteRunSource, remoteRunStatus } from "../src/implementation.js";

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
  const source: RemoteRunSource = {
    async listStateMachines() {
      return {
        stateMachines: [
          { name: "stackyard-deployment-nightly", stateMachineArn: MACHINE },
          { name: "someone-elses-machine", stateMachineArn: `${MACHINE}-other` },
        ],
      };
    },
    backend: {
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
    },
  };
  return { source, calls, executions };
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

  it("describes only new executions, leaves out those Stackyard did not start, and reads their origin", async () => {
    const { source, calls } = fakeSource(5, 100);
    const runs = await listRemoteRuns(source, { known: () => undefined }, { prefix: "stackyard-" });
    expect(calls.describe).toHaveLength(5);
    expect(runs.map((r) => r.runId)).toEqual(["run-4", "run-3", "run-2", "run-1"]);
    expect(runs[0]).toMatchObject({
      runName: "nightly-4",
      status: "completed",
      deployment: "nightly",
      deploymentVersion: 2,
      snapshotUri: "s3://b/snapshots/s.json",
    });
  });

  it("stops paging a machine at the first page with nothing new or changed", async () => {
    const { source, calls, executions } = fakeSource(1000, 100);
    // Known with the status they have: everything but the newest 150.
    const known = new Map<string, RunStatus>(executions.slice(150).map((e) => [e.executionArn, remoteRunStatus(e.status)]));
    const runs = await listRemoteRuns(source, { known: (arn) => known.get(arn) }, { prefix: "stackyard-" });
    expect(runs).toHaveLength(150);
    // Pages 1 and 2 hold new runs; page 3 holds none: stop there.
    expect(calls.list).toBe(3);
    expect(calls.describe).toHaveLength(150);
  });

  it("returns a run whose status changed without describing it", async () => {
    const { source, calls, executions } = fakeSource(10, 100);
    const known = new Map<string, RunStatus>(executions.map((e) => [e.executionArn, "completed"]));
    known.set(executions[2]!.executionArn, "running");
    const runs = await listRemoteRuns(source, { known: (arn) => known.get(arn) }, { prefix: "stackyard-" });
    expect(runs).toEqual([
      { runId: executions[2]!.name, orchestratorRunId: executions[2]!.executionArn, status: "completed", started: executions[2]!.startDate },
    ]);
    expect(calls.describe).toEqual([]);
  });

  it("returns the newest runs it described when time runs out while describing", async () => {
    const { source, calls } = fakeSource(10, 100);
    const controller = new AbortController();
    const describe = source.backend.describe.bind(source.backend);
    source.backend.describe = async (arn) => {
      if (calls.describe.length === 3) controller.abort(new Error("out of time"));
      return describe(arn);
    };
    const runs = await listRemoteRuns(source, { known: () => undefined, signal: controller.signal }, { prefix: "stackyard-", describeConcurrency: 1 });
    expect(runs.map((r) => r.runId)).toEqual(["run-9", "run-8", "run-7"]);
  });

  it("gives up once its signal is aborted", async () => {
    const { source } = fakeSource(10, 100);
    const controller = new AbortController();
    controller.abort(new Error("out of time"));
    await expect(listRemoteRuns(source, { known: () => undefined, signal: controller.signal }, { prefix: "stackyard-" })).rejects.toThrow("out of time");
  });
});
