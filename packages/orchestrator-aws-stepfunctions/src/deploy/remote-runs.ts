import { type RemoteRun, type RemoteRunQuery, type RunStatus, untilAborted } from "@stackyard/core";
import type { ExecutionBackend, ExecutionStatus } from "./execution-backend.js";
import { originOf, parseExecutionInput } from "./execution-input.js";

/** A state machine, as ListStateMachines names it. */
export interface StateMachineRef {
  name: string;
  stateMachineArn: string;
}

/** What {@link listRemoteRuns} reads from. */
export interface RemoteRunSource {
  /** One page of the account's state machines (ListStateMachines). */
  listStateMachines(nextToken?: string): Promise<{ stateMachines: StateMachineRef[]; nextToken?: string | undefined }>;
  /** Where executions are listed. */
  backend: Pick<ExecutionBackend, "list">;
}

/** Options of {@link listRemoteRuns}. */
export interface ListRemoteRunsOptions {
  /** Only state machines whose name starts with this (the orchestrator's `state_machine_name_prefix`). */
  prefix: string;
  /** How many state machines are listed at once (default 4). */
  machineConcurrency?: number;
}

/** Options of {@link describeRemoteRuns}. */
export interface DescribeRemoteRunsOptions {
  /** How many executions are described at once (default 8). */
  concurrency?: number;
  /** Once aborted, no more executions are described: the result holds the ones described so far. */
  signal?: AbortSignal | undefined;
}

/**
 * What a state machine's name tells of its runs: `<prefix>deployment-<name>`
 * runs a deployment, `<prefix><pipeline>` a pipeline (as the name spells
 * them: unsafe characters as `-`, long names shortened). A guess until the
 * execution is described.
 */
export function machineOrigin(machineName: string, prefix: string): { pipeline?: string; deployment?: string } {
  const rest = machineName.startsWith(prefix) ? machineName.slice(prefix.length) : machineName;
  return rest.startsWith("deployment-") ? { deployment: rest.slice("deployment-".length) } : { pipeline: rest };
}

/** Run status of an execution status: RUNNING (and PENDING_REDRIVE) running, SUCCEEDED completed, ABORTED stopped, the rest failed. */
export function remoteRunStatus(status: ExecutionStatus): RunStatus {
  switch (status) {
    case "RUNNING":
    case "PENDING_REDRIVE":
      return "running";
    case "SUCCEEDED":
      return "completed";
    case "ABORTED":
      return "stopped";
    default:
      return "failed";
  }
}

/** Runs `work` over `items`, at most `limit` at once, in order of `items`. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * The runs of the prefix's state machines that are new to the caller or
 * whose status changed (`query.known`), from the listings alone: state
 * machines are listed (ListStateMachines, only the prefix's), then each
 * one's executions newest first (ListExecutions), a few machines at once; a
 * machine's listing stops at the first page that holds nothing new or
 * changed. Nothing is described: a new run comes back with
 * `detailsPending`, its id (the execution name), status, times and the
 * pipeline or deployment its state machine is named for; its snapshot, run
 * name and origin are read by {@link describeRemoteRuns} when it is shown.
 * A changed run comes back with its status and times only. Rejects once
 * `query.signal` is aborted.
 */
export async function listRemoteRuns(source: RemoteRunSource, query: RemoteRunQuery, options: ListRemoteRunsOptions): Promise<RemoteRun[]> {
  const { signal } = query;
  // Every call under way listens to it.
  const machines: StateMachineRef[] = [];
  let token: string | undefined;
  do {
    const page = await untilAborted(source.listStateMachines(token), signal);
    machines.push(...page.stateMachines.filter((m) => m.name.startsWith(options.prefix)));
    token = page.nextToken;
  } while (token);
  const runs: RemoteRun[] = [];
  await eachLimited(machines, options.machineConcurrency ?? 4, async (machine) => {
    const origin = machineOrigin(machine.name, options.prefix);
    let next: string | undefined;
    do {
      const page = await untilAborted(source.backend.list(machine.stateMachineArn, next), signal);
      let news = 0;
      for (const execution of page.executions) {
        const status = remoteRunStatus(execution.status);
        const known = query.known(execution.executionArn);
        if (known === status) continue;
        news++;
        runs.push({
          runId: execution.name,
          orchestratorRunId: execution.executionArn,
          status,
          started: execution.startDate,
          ...(execution.stopDate ? { ended: execution.stopDate } : {}),
          ...(known === undefined ? { ...origin, detailsPending: true } : {}),
        });
      }
      next = news ? page.nextToken : undefined;
    } while (next);
  });
  return runs.sort((a, b) => b.started.localeCompare(a.started));
}

/**
 * The details of executions {@link listRemoteRuns} returned with
 * `detailsPending`: each one is described (DescribeExecution, a few at
 * once, in the order given) for the input that names the snapshot, the run
 * name and the origin. An execution whose input carries no
 * `stackyard.snapshot` was not started by Stackyard: its entry is `null`.
 * Once `options.signal` is aborted no more are described, and the result
 * holds those described so far (the others are still pending).
 */
export async function describeRemoteRuns(
  backend: Pick<ExecutionBackend, "describe">,
  executionArns: readonly string[],
  options: DescribeRemoteRunsOptions = {},
): Promise<Map<string, RemoteRun | null>> {
  const { signal } = options;
  const out = new Map<string, RemoteRun | null>();
  await eachLimited(executionArns, options.concurrency ?? 8, async (arn) => {
    if (signal?.aborted) return;
    const description = await untilAborted(backend.describe(arn), signal).catch((error: unknown) => {
      if (signal?.aborted) return undefined;
      throw error;
    });
    if (!description) return;
    const input = parseExecutionInput(description.input);
    if (!input) {
      out.set(arn, null);
      return;
    }
    out.set(arn, {
      // The execution name: the ARN's last part.
      runId: arn.slice(arn.lastIndexOf(":") + 1),
      orchestratorRunId: arn,
      status: remoteRunStatus(description.status),
      started: description.startDate ?? "",
      ...(description.stopDate ? { ended: description.stopDate } : {}),
      snapshotUri: input.snapshot,
      ...(input.run_name !== undefined ? { runName: input.run_name } : {}),
      ...originOf(input),
    });
  });
  return out;
}
