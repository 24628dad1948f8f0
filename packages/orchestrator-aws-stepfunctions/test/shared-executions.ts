// Executions that several `stackyard` processes see, as they all see Step
// Functions' in AWS: the locally-executed backend runs executions inside one
// process and keeps them in memory, so each one is also recorded as a JSON
// file in a folder (LOCAL_SFN_SHARED_EXECUTIONS) when it starts and when it
// ends. Another process (a teammate's `runs list` in another project) lists,
// describes and reads the history of those from the folder; its own it
// answers from memory. StopExecution on another process's execution leaves a
// stop request beside its record; the process running it picks the request
// up within a tenth of a second and stops it, as Step Functions stops an
// execution whoever asks.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { ExecutionBackend, ExecutionDescription, ExecutionListItem, ExecutionStatus } from "../src/implementation.js";
import type { LocalExecution, LocalExecutionBackend } from "./local-execution-backend.js";

/** One execution as the shared folder holds it. */
interface SharedExecution {
  arn: string;
  name: string;
  stateMachineArn: string;
  definition: string;
  status: ExecutionStatus;
  error?: string;
  cause?: string;
  input?: string;
  startDate: string;
  stopDate?: string;
  events: HistoryEvent[];
}

const fileOf = (folder: string, arn: string) => join(folder, `${Buffer.from(arn).toString("base64url")}.json`);
const stopRequestOf = (folder: string, arn: string) => join(folder, `${Buffer.from(arn).toString("base64url")}.stop`);

/** Writes an execution's record (whole, by rename: a reader never sees half of one). */
export function recordSharedExecution(folder: string, execution: LocalExecution): void {
  mkdirSync(folder, { recursive: true });
  const started = execution.events[0];
  const ended = execution.status === "RUNNING" ? undefined : execution.events.at(-1);
  const record: SharedExecution = {
    arn: execution.arn,
    name: execution.arn.split(":").pop()!,
    stateMachineArn: execution.stateMachineArn,
    definition: execution.definition,
    status: execution.status,
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
    ...(started?.executionStartedEventDetails?.input ? { input: started.executionStartedEventDetails.input } : {}),
    startDate: (started?.timestamp ?? new Date()).toISOString(),
    ...(ended?.timestamp ? { stopDate: ended.timestamp.toISOString() } : {}),
    events: execution.events,
  };
  const file = fileOf(folder, execution.arn);
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

function readShared(folder: string): SharedExecution[] {
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  return names.map((n) => {
    const e = JSON.parse(readFileSync(join(folder, n), "utf8")) as SharedExecution;
    return { ...e, events: e.events.map((event) => ({ ...event, timestamp: new Date(event.timestamp as unknown as string) })) };
  });
}

/** {@link LocalExecutionBackend} whose executions other processes see through `folder`, and which sees theirs. */
export class SharedExecutionBackend implements ExecutionBackend {
  private stopWatch: NodeJS.Timeout | undefined;

  constructor(
    readonly local: LocalExecutionBackend,
    private readonly folder: string,
  ) {}

  async start(request: { stateMachineArn: string; name: string; input: string }): Promise<{ executionArn: string }> {
    const started = await this.local.start(request);
    const execution = this.local.executions.get(started.executionArn);
    if (execution) recordSharedExecution(this.folder, execution);
    this.watchStopRequests();
    return started;
  }

  /** While this process runs executions, stops each one another process asked to stop. */
  private watchStopRequests(): void {
    if (this.stopWatch) return;
    this.stopWatch = setInterval(() => {
      const running = [...this.local.executions.values()].filter((e) => e.status === "RUNNING");
      if (running.length === 0) {
        clearInterval(this.stopWatch);
        this.stopWatch = undefined;
        return;
      }
      for (const execution of running) {
        const request = stopRequestOf(this.folder, execution.arn);
        let reason: { error: string; cause: string };
        try {
          reason = JSON.parse(readFileSync(request, "utf8")) as { error: string; cause: string };
        } catch {
          continue;
        }
        rmSync(request, { force: true });
        void this.local.stop(execution.arn, reason);
      }
    }, 100);
  }

  private other(arn: string): SharedExecution {
    const found = readShared(this.folder).find((e) => e.arn === arn);
    if (!found) throw Object.assign(new Error(`Execution Does Not Exist: '${arn}'`), { name: "ExecutionDoesNotExist" });
    return found;
  }

  async describe(executionArn: string): Promise<ExecutionDescription> {
    if (this.local.executions.has(executionArn)) return this.local.describe(executionArn);
    const e = this.other(executionArn);
    return {
      status: e.status,
      stateMachineArn: e.stateMachineArn,
      error: e.error,
      cause: e.cause,
      input: e.input,
      startDate: e.startDate,
      stopDate: e.stopDate,
    };
  }

  async list(stateMachineArn: string): Promise<{ executions: ExecutionListItem[] }> {
    const mine = (await this.local.list(stateMachineArn)).executions;
    const seen = new Set(mine.map((e) => e.executionArn));
    const others = readShared(this.folder)
      .filter((e) => e.stateMachineArn === stateMachineArn && !seen.has(e.arn))
      .map((e) => ({
        executionArn: e.arn,
        name: e.name,
        status: e.status,
        startDate: e.startDate,
        ...(e.stopDate ? { stopDate: e.stopDate } : {}),
      }));
    return { executions: [...mine, ...others].sort((a, b) => b.startDate.localeCompare(a.startDate)) };
  }

  async history(executionArn: string): Promise<{ events: HistoryEvent[] }> {
    if (this.local.executions.has(executionArn)) return this.local.history(executionArn);
    return { events: this.other(executionArn).events };
  }

  async definition(executionArn: string): Promise<string | undefined> {
    if (this.local.executions.has(executionArn)) return this.local.definition(executionArn);
    return this.other(executionArn).definition;
  }

  async stop(executionArn: string, reason: { error: string; cause: string }): Promise<void> {
    if (this.local.executions.has(executionArn)) return this.local.stop(executionArn, reason);
    // Runs in another process: ask it to (by rename: it never reads half a request).
    const e = this.other(executionArn);
    if (e.status !== "RUNNING") return;
    const request = stopRequestOf(this.folder, executionArn);
    writeFileSync(`${request}.tmp`, JSON.stringify(reason));
    renameSync(`${request}.tmp`, request);
  }
}
