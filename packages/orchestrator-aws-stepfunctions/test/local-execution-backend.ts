// The test seam: executions of the state machine Step Functions (moto)
// stored, run by aws-local-stepfunctions instead of AWS, each ECS Task state
// by a handler that runs the step's real container in the local Docker
// engine. It answers describe/history/stop in Step Functions' shapes, so the
// orchestrator's production code follows it as it follows AWS.
import { DescribeStateMachineCommand, type HistoryEvent, type SFNClient } from "@aws-sdk/client-sfn";
import type { ExecutionBackend, ExecutionDescription, ExecutionStatus } from "../src/implementation.js";

type Sfn = typeof import("aws-local-stepfunctions");

/** Runs one ECS task (the resolved `ecs:runTask.sync` Parameters); resolves with ECS's description of it or throws `States.TaskFailed`. */
export type RunTaskHandler = (parameters: Record<string, any>, stateName: string) => Promise<Record<string, unknown>>;

interface LocalExecution {
  arn: string;
  stateMachineArn: string;
  definition: string;
  status: ExecutionStatus;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
  abort(): void;
  done: Promise<void>;
}

const TASK = "arn:aws:states:::ecs:runTask.sync";

function taskStates(definition: any, out = new Set<string>()): Set<string> {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    if (state.Type === "Task" && state.Resource === TASK) out.add(name);
    for (const branch of state.Branches ?? []) taskStates(branch, out);
  }
  return out;
}

export class LocalExecutionBackend implements ExecutionBackend {
  readonly executions = new Map<string, LocalExecution>();

  constructor(
    private readonly sfnModule: Sfn,
    private readonly sfn: SFNClient,
    private readonly runTask: RunTaskHandler,
  ) {}

  async start(request: { stateMachineArn: string; name: string; input: string }): Promise<{ executionArn: string }> {
    // The definition Step Functions stored, not the one the orchestrator compiled.
    const stored = await this.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: request.stateMachineArn }));
    const definition = stored.definition!;
    const arn = `${request.stateMachineArn.replace(":stateMachine:", ":execution:")}:${request.name}`;
    const parsed = JSON.parse(definition);
    const tasks = taskStates(parsed);
    const events: HistoryEvent[] = [];
    let nextId = 1;
    const push = (event: Omit<HistoryEvent, "id" | "timestamp">): number => {
      const id = nextId++;
      events.push({ ...event, id, timestamp: new Date() } as HistoryEvent);
      return id;
    };
    push({ type: "ExecutionStarted", executionStartedEventDetails: { input: request.input } });
    const last = new Map<string, number>();
    const lastResult = new Map<string, string>();
    const lastError = new Map<string, { error: string; cause: string }>();
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    for (const name of tasks) {
      handlers[name] = async (input) => {
        try {
          const result = await this.runTask(input, name);
          lastResult.set(name, JSON.stringify(result));
          return result;
        } catch (error) {
          const e = error as Error;
          lastError.set(name, { error: e.name, cause: e.message });
          throw error;
        }
      };
    }
    const machine = new this.sfnModule.StateMachine(parsed);
    const run = machine.run(JSON.parse(request.input), {
      context: { Execution: { Name: request.name } },
      overrides: {
        taskResourceLocalHandlers: handlers,
        retryIntervalOverrides: Object.fromEntries([...tasks].map((n) => [n, 0])),
      },
    });
    const execution: LocalExecution = {
      arn,
      stateMachineArn: request.stateMachineArn,
      definition,
      status: "RUNNING",
      events,
      abort: () => run.abort(),
      done: Promise.resolve(),
    };
    const failTask = (name: string) => {
      const failure = lastError.get(name) ?? { error: "States.TaskFailed", cause: "" };
      last.set(name, push({ type: "TaskFailed", previousEventId: last.get(name), taskFailedEventDetails: { resourceType: "ecs", resource: "runTask.sync", ...failure } }));
    };
    execution.done = (async () => {
      try {
        for await (const event of run.eventLogs) {
          const e = event as any;
          const name: string | undefined = e.state?.name;
          const isTask = name !== undefined && tasks.has(name);
          if (e.type === "StateEntered" && isTask) {
            const entered = push({ type: "TaskStateEntered", stateEnteredEventDetails: { name, input: JSON.stringify(e.state.input) } });
            last.set(name, push({ type: "TaskScheduled", previousEventId: entered, taskScheduledEventDetails: { resourceType: "ecs", resource: "runTask.sync", region: "us-east-1", parameters: "{}" } }));
          } else if (e.type === "StateRetried" && isTask) {
            failTask(name);
            last.set(name, push({ type: "TaskScheduled", previousEventId: last.get(name), taskScheduledEventDetails: { resourceType: "ecs", resource: "runTask.sync", region: "us-east-1", parameters: "{}" } }));
          } else if ((e.type === "StateCaught" || e.type === "StateFailed") && isTask) {
            failTask(name);
          } else if (e.type === "StateExited" && isTask) {
            const succeeded = push({ type: "TaskSucceeded", previousEventId: last.get(name), taskSucceededEventDetails: { resourceType: "ecs", resource: "runTask.sync", output: lastResult.get(name) ?? "{}" } });
            push({ type: "TaskStateExited", previousEventId: succeeded, stateExitedEventDetails: { name } });
          } else if (e.type === "ExecutionSucceeded") {
            execution.status = "SUCCEEDED";
            push({ type: "ExecutionSucceeded", executionSucceededEventDetails: { output: JSON.stringify(e.output) } });
          } else if (e.type === "ExecutionFailed") {
            execution.status = "FAILED";
            execution.error = e.Error;
            execution.cause = typeof e.Cause === "string" ? e.Cause : JSON.stringify(e.Cause);
            push({ type: "ExecutionFailed", executionFailedEventDetails: { error: execution.error, cause: execution.cause } });
          } else if (e.type === "ExecutionTerminated" || e.type === "ExecutionAborted") {
            execution.status = "ABORTED";
            push({ type: "ExecutionAborted", executionAbortedEventDetails: {} });
          }
        }
      } finally {
        await run.result.catch(() => undefined);
        if (execution.status === "RUNNING") execution.status = "ABORTED";
      }
    })();
    this.executions.set(arn, execution);
    return { executionArn: arn };
  }

  private get(arn: string): LocalExecution {
    const execution = this.executions.get(arn);
    if (!execution) throw Object.assign(new Error(`Execution Does Not Exist: '${arn}'`), { name: "ExecutionDoesNotExist" });
    return execution;
  }

  async describe(executionArn: string): Promise<ExecutionDescription> {
    const e = this.get(executionArn);
    return { status: e.status, stateMachineArn: e.stateMachineArn, error: e.error, cause: e.cause };
  }

  async history(executionArn: string): Promise<{ events: HistoryEvent[] }> {
    return { events: [...this.get(executionArn).events] };
  }

  async definition(executionArn: string): Promise<string | undefined> {
    return this.get(executionArn).definition;
  }

  async stop(executionArn: string): Promise<void> {
    this.get(executionArn).abort();
  }
}
