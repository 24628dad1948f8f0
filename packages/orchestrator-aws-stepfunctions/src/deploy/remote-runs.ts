import { setMaxListeners } from "node:events";
import type { RemoteRun, RemoteRunQuery, RunStatus } from "@stackyard/core";
import type { ExecutionBackend, ExecutionListItem, ExecutionStatus } from "./execution-backend.js";
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
  /** Where executions are listed and described. */
  backend: Pick<ExecutionBackend, "list" | "describe">;
}

/** Options of {@link listRemoteRuns}. */
export interface ListRemoteRunsOptions {
  /** Only state machines whose name starts with this (the orchestrator's `state_machine_name_prefix`). */
  prefix: string;
  /** How many state machines are listed, and executions described, at once (default 4 and 16). */
  machineConcurrency?: number;
  describeConcurrency?: number;
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

/** Rejects as soon as `signal` is aborted, whatever `promise` does. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
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
 * whose status changed (`query.known`). State machines are listed
 * (ListStateMachines, only the prefix's), then each one's executions newest
 * first (ListExecutions), a few machines at once; a machine's listing stops
 * at the first page that holds nothing new or changed. Only new executions
 * are described (DescribeExecution, for the input that names the snapshot,
 * the run name and the origin); executions whose input carries no
 * `stackyard.snapshot` were not started by Stackyard and are left out.
 * A changed run comes back with its status and times only. Once
 * `query.signal` is aborted it rejects while listing, and while describing
 * returns the runs described so far (the newest): the others are new again
 * on the next look, so a long history is imported over several looks.
 */
export async function listRemoteRuns(source: RemoteRunSource, query: RemoteRunQuery, options: ListRemoteRunsOptions): Promise<RemoteRun[]> {
  const { signal } = query;
  // Every call under way listens to it.
  if (signal) setMaxListeners(0, signal);
  const machines: StateMachineRef[] = [];
  let token: string | undefined;
  do {
    const page = await abortable(source.listStateMachines(token), signal);
    machines.push(...page.stateMachines.filter((m) => m.name.startsWith(options.prefix)));
    token = page.nextToken;
  } while (token);
  const fresh: ExecutionListItem[] = [];
  const runs: RemoteRun[] = [];
  await eachLimited(machines, options.machineConcurrency ?? 4, async (machine) => {
    let next: string | undefined;
    do {
      const page = await abortable(source.backend.list(machine.stateMachineArn, next), signal);
      let news = 0;
      for (const execution of page.executions) {
        const status = remoteRunStatus(execution.status);
        const known = query.known(execution.executionArn);
        if (known === undefined) {
          fresh.push(execution);
          news++;
        } else if (known !== status) {
          news++;
          runs.push({
            runId: execution.name,
            orchestratorRunId: execution.executionArn,
            status,
            started: execution.startDate,
            ...(execution.stopDate ? { ended: execution.stopDate } : {}),
          });
        }
      }
      next = news ? page.nextToken : undefined;
    } while (next);
  });
  // Out of time while describing: the runs described so far are returned (newest first), the others are new again next time.
  fresh.sort((a, b) => b.startDate.localeCompare(a.startDate));
  await eachLimited(fresh, options.describeConcurrency ?? 16, async (execution) => {
    if (signal?.aborted) return;
    const description = await abortable(source.backend.describe(execution.executionArn), signal).catch((error: unknown) => {
      if (signal?.aborted) return undefined;
      throw error;
    });
    if (!description) return;
    const input = parseExecutionInput(description.input);
    if (!input) return;
    const ended = description.stopDate ?? execution.stopDate;
    runs.push({
      runId: execution.name,
      orchestratorRunId: execution.executionArn,
      // The description is newer than the listing.
      status: remoteRunStatus(description.status),
      started: description.startDate ?? execution.startDate,
      ...(ended ? { ended } : {}),
      snapshotUri: input.snapshot,
      ...(input.run_name !== undefined ? { runName: input.run_name } : {}),
      ...originOf(input),
    });
  });
  return runs.sort((a, b) => b.started.localeCompare(a.started));
}
