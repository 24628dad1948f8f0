import {
  DescribeExecutionCommand,
  DescribeStateMachineForExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";

/** Status of an execution, as Step Functions reports it. */
export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" | "PENDING_REDRIVE";

/** What {@link ExecutionBackend.describe} returns. */
export interface ExecutionDescription {
  status: ExecutionStatus;
  stateMachineArn?: string | undefined;
  error?: string | undefined;
  cause?: string | undefined;
  /** The execution's input (JSON). */
  input?: string | undefined;
  /** ISO 8601. */
  startDate?: string | undefined;
  stopDate?: string | undefined;
}

/** One execution in a state machine's listing. */
export interface ExecutionListItem {
  executionArn: string;
  /** The execution's name: the run id. */
  name: string;
  status: ExecutionStatus;
  /** ISO 8601. */
  startDate: string;
  stopDate?: string | undefined;
}

/**
 * Where executions run: Step Functions itself in production. The state
 * machine is always created in Step Functions; only starting, watching and
 * stopping executions goes through this seam, so tests can run the very
 * definition Step Functions stored in another engine (aws-local-stepfunctions
 * with the steps' real containers; see the README's testing section).
 */
export interface ExecutionBackend {
  /** Starts an execution named `name` (the run id) with `input` (JSON); resolves with its ARN. */
  start(request: { stateMachineArn: string; name: string; input: string }): Promise<{ executionArn: string }>;
  describe(executionArn: string): Promise<ExecutionDescription>;
  /** One page of the execution's history, oldest first. */
  history(executionArn: string, nextToken?: string): Promise<{ events: HistoryEvent[]; nextToken?: string | undefined }>;
  /** The definition (ASL JSON) the execution runs. */
  definition(executionArn: string): Promise<string | undefined>;
  stop(executionArn: string, reason: { error: string; cause: string }): Promise<void>;
  /** One page of a state machine's executions, newest first (ListExecutions). */
  list(stateMachineArn: string, nextToken?: string): Promise<{ executions: ExecutionListItem[]; nextToken?: string | undefined }>;
}

/** Executions in AWS Step Functions (or an emulator of its API). */
export class StepFunctionsExecutionBackend implements ExecutionBackend {
  constructor(private readonly sfn: SFNClient) {}

  async start(request: { stateMachineArn: string; name: string; input: string }): Promise<{ executionArn: string }> {
    const started = await this.sfn.send(new StartExecutionCommand(request));
    return { executionArn: started.executionArn! };
  }

  async describe(executionArn: string): Promise<ExecutionDescription> {
    const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return {
      status: (d.status ?? "RUNNING") as ExecutionStatus,
      stateMachineArn: d.stateMachineArn,
      error: d.error,
      cause: d.cause,
      input: d.input,
      startDate: d.startDate?.toISOString(),
      stopDate: d.stopDate?.toISOString(),
    };
  }

  async history(executionArn: string, nextToken?: string): Promise<{ events: HistoryEvent[]; nextToken?: string | undefined }> {
    const page = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
    return { events: page.events ?? [], nextToken: page.nextToken };
  }

  async definition(executionArn: string): Promise<string | undefined> {
    return (await this.sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn }))).definition;
  }

  async stop(executionArn: string, reason: { error: string; cause: string }): Promise<void> {
    await this.sfn.send(new StopExecutionCommand({ executionArn, ...reason }));
  }

  async list(stateMachineArn: string, nextToken?: string): Promise<{ executions: ExecutionListItem[]; nextToken?: string | undefined }> {
    const page = await this.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
    return {
      executions: (page.executions ?? []).map((e) => ({
        executionArn: e.executionArn!,
        name: e.name!,
        status: (e.status ?? "RUNNING") as ExecutionStatus,
        startDate: (e.startDate ?? new Date(0)).toISOString(),
        ...(e.stopDate ? { stopDate: e.stopDate.toISOString() } : {}),
      })),
      nextToken: page.nextToken,
    };
  }
}
