// The test seam: executions of the state machine Step Functions (moto)
// stored, run by aws-local-stepfunctions instead of AWS, each ECS Task state
// by a handler that runs the step's real container in the local Docker
// engine (local-ecs.ts). It answers describe/history/stop in Step Functions'
// shapes, so the orchestrator's production code follows it as it follows AWS.
// Stopping an execution stops its running tasks, as Step Functions stops the
// ECS tasks of `.sync` states.
//
// Map steps: the `aws-sdk:s3:getObject` Task states that read a map's item
// count and manifest are run against S3 on moto. aws-local-stepfunctions does
// not run Distributed Maps (ItemReader, child executions, tolerated failures);
// with `distributedMaps: "stand-in"`, each Distributed Map state is run as
// what it stands for: a Task that reads the ItemReader's JSON manifest from
// S3 on moto (a local handler, under the Distributed Map's state name), then
// the same Map (ItemSelector, MaxConcurrency, the very ItemProcessor) run
// inline over those items.
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DescribeStateMachineCommand, type HistoryEvent, type SFNClient } from "@aws-sdk/client-sfn";
import type { ExecutionBackend, ExecutionDescription, ExecutionListItem, ExecutionStatus } from "../src/implementation.js";

type Sfn = typeof import("aws-local-stepfunctions");

/**
 * Runs one ECS task (the resolved `ecs:runTask.sync` Parameters); resolves
 * with ECS's description of it or throws `States.TaskFailed`. `signal` is
 * aborted when the execution is stopped: the task must stop then.
 */
export type RunTaskHandler = (parameters: Record<string, any>, stateName: string, signal: AbortSignal) => Promise<Record<string, unknown>>;

/** One execution, as the backend keeps it. */
export interface LocalExecution {
  arn: string;
  stateMachineArn: string;
  definition: string;
  status: ExecutionStatus;
  error?: string;
  cause?: string;
  /** What StopExecution was called with, if it was. */
  stopReason?: { error: string; cause: string };
  events: HistoryEvent[];
  abort(): void;
  /** Resolves once the execution and every task it started are over. */
  done: Promise<void>;
}

const TASK = "arn:aws:states:::ecs:runTask.sync";
const SDK_GET_OBJECT = "arn:aws:states:::aws-sdk:s3:getObject";
const ITEM_READER = "arn:aws:states:::s3:getObject";

/** Task states by name (Parallel branches and Map item processors included), with their resource. */
function taskStates(definition: any, out = new Map<string, string>()): Map<string, string> {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    if (state.Type === "Task") out.set(name, state.Resource);
    for (const branch of state.Branches ?? []) taskStates(branch, out);
    if (state.ItemProcessor) taskStates(state.ItemProcessor, out);
  }
  return out;
}

/** Suffix of the inline Map that a Distributed Map state's stand-in runs. */
export const STAND_IN_SUFFIX = ".stand-in";

/**
 * Replaces each Distributed Map state `X` by a Task `X` that reads its
 * ItemReader's manifest (same Parameters; {@link ITEM_READER}, run by a local
 * handler) into `$.standInItems`, followed by the same Map run inline over them.
 */
export function standInDistributedMaps(definition: any): any {
  const copy = structuredClone(definition);
  const walk = (machine: any) => {
    for (const [name, state] of Object.entries<any>({ ...machine.States })) {
      for (const branch of state.Branches ?? []) walk(branch);
      if (state.ItemProcessor) walk(state.ItemProcessor);
      if (state.Type !== "Map" || state.ItemProcessor?.ProcessorConfig?.Mode !== "DISTRIBUTED") continue;
      const { ItemReader, ToleratedFailureCount: _c, ToleratedFailurePercentage: _p, ...map } = state;
      machine.States[name] = {
        Type: "Task",
        Resource: ITEM_READER,
        Parameters: ItemReader.Parameters,
        ResultPath: "$.standInItems",
        Next: `${name}${STAND_IN_SUFFIX}`,
      };
      machine.States[`${name}${STAND_IN_SUFFIX}`] = {
        ...map,
        ItemsPath: "$.standInItems",
        ItemProcessor: { ...map.ItemProcessor, ProcessorConfig: { Mode: "INLINE" } },
      };
    }
  };
  walk(copy);
  return copy;
}

/** How the backend runs the states that are not ECS tasks. */
export interface LocalExecutionOptions {
  /** S3 (on moto) for the `aws-sdk:s3:getObject` states of map steps and the Distributed Maps' stand-in readers. */
  s3?: S3Client;
  /** `reject` (the default): a Distributed Map fails, as aws-local-stepfunctions cannot run one; `stand-in`: see the file's header. */
  distributedMaps?: "reject" | "stand-in";
}

export class LocalExecutionBackend implements ExecutionBackend {
  readonly executions = new Map<string, LocalExecution>();

  /**
   * @param onEnd called when an execution is over (its status final, its tasks stopped), before `describe` says so.
   */
  constructor(
    private readonly sfnModule: Sfn,
    private readonly sfn: SFNClient,
    private readonly runTask: RunTaskHandler,
    private readonly onEnd?: (execution: LocalExecution) => void,
    private readonly options: LocalExecutionOptions = {},
  ) {}

  /** The stand-in readers that ran (Distributed Map state name and the items it read), in order. */
  readonly distributedReads: Array<{ stateName: string; key: string; items: number }> = [];

  private async getObject(parameters: { Bucket: string; Key: string }): Promise<string> {
    if (!this.options.s3) throw new Error("LocalExecutionBackend: pass options.s3 to run map steps");
    const object = await this.options.s3.send(new GetObjectCommand({ Bucket: parameters.Bucket, Key: parameters.Key }));
    return await object.Body!.transformToString("utf8");
  }

  async start(request: { stateMachineArn: string; name: string; input: string }): Promise<{ executionArn: string }> {
    // The definition Step Functions stored, not the one the orchestrator compiled.
    const stored = await this.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: request.stateMachineArn }));
    const definition = stored.definition!;
    const arn = `${request.stateMachineArn.replace(":stateMachine:", ":execution:")}:${request.name}`;
    const parsed = this.options.distributedMaps === "stand-in" ? standInDistributedMaps(JSON.parse(definition)) : JSON.parse(definition);
    const resources = taskStates(parsed);
    const tasks = new Set([...resources].filter(([, resource]) => resource === TASK).map(([name]) => name));
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
    const stopTasks = new AbortController();
    const running = new Set<Promise<unknown>>();
    for (const [name, resource] of resources) {
      if (resource === SDK_GET_OBJECT) handlers[name] = async (input) => ({ Body: await this.getObject(input), ContentType: "application/json" });
      if (resource === ITEM_READER) {
        handlers[name] = async (input) => {
          const items = JSON.parse(await this.getObject(input)) as unknown[];
          this.distributedReads.push({ stateName: name, key: input.Key, items: items.length });
          return items;
        };
      }
    }
    for (const name of tasks) {
      handlers[name] = async (input) => {
        const task = this.runTask(input, name, stopTasks.signal);
        running.add(task);
        void task.catch(() => undefined).finally(() => running.delete(task));
        try {
          const result = await task;
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
      abort: () => {
        stopTasks.abort();
        run.abort();
      },
      done: Promise.resolve(),
    };
    const failTask = (name: string) => {
      const failure = lastError.get(name) ?? { error: "States.TaskFailed", cause: "" };
      last.set(
        name,
        push({ type: "TaskFailed", previousEventId: last.get(name), taskFailedEventDetails: { resourceType: "ecs", resource: "runTask.sync", ...failure } }),
      );
    };
    // The end is published once every task is over: then no step container runs.
    let ending: { status: ExecutionStatus; error?: string; cause?: string; event: Omit<HistoryEvent, "id" | "timestamp"> } | undefined;
    execution.done = (async () => {
      try {
        for await (const event of run.eventLogs) {
          const e = event as any;
          const name: string | undefined = e.state?.name;
          const isTask = name !== undefined && tasks.has(name);
          if (e.type === "StateEntered" && isTask) {
            const entered = push({ type: "TaskStateEntered", stateEnteredEventDetails: { name, input: JSON.stringify(e.state.input) } });
            last.set(
              name,
              push({
                type: "TaskScheduled",
                previousEventId: entered,
                taskScheduledEventDetails: { resourceType: "ecs", resource: "runTask.sync", region: "us-east-1", parameters: "{}" },
              }),
            );
          } else if (e.type === "StateRetried" && isTask) {
            failTask(name);
            last.set(
              name,
              push({
                type: "TaskScheduled",
                previousEventId: last.get(name),
                taskScheduledEventDetails: { resourceType: "ecs", resource: "runTask.sync", region: "us-east-1", parameters: "{}" },
              }),
            );
          } else if ((e.type === "StateCaught" || e.type === "StateFailed") && isTask) {
            failTask(name);
          } else if (e.type === "StateExited" && isTask) {
            const succeeded = push({
              type: "TaskSucceeded",
              previousEventId: last.get(name),
              taskSucceededEventDetails: { resourceType: "ecs", resource: "runTask.sync", output: lastResult.get(name) ?? "{}" },
            });
            push({ type: "TaskStateExited", previousEventId: succeeded, stateExitedEventDetails: { name } });
          } else if (e.type === "ExecutionSucceeded") {
            ending = { status: "SUCCEEDED", event: { type: "ExecutionSucceeded", executionSucceededEventDetails: { output: JSON.stringify(e.output) } } };
          } else if (e.type === "ExecutionFailed") {
            const cause = typeof e.Cause === "string" ? e.Cause : JSON.stringify(e.Cause);
            ending = { status: "FAILED", error: e.Error, cause, event: { type: "ExecutionFailed", executionFailedEventDetails: { error: e.Error, cause } } };
          } else if (e.type === "ExecutionTerminated" || e.type === "ExecutionAborted") {
            ending = { status: "ABORTED", event: { type: "ExecutionAborted", executionAbortedEventDetails: {} } };
          }
        }
      } finally {
        await run.result.catch(() => undefined);
        // Tasks of branches the failure or the stop cut short are stopped, as Step Functions stops them.
        stopTasks.abort();
        await Promise.allSettled([...running]);
        ending ??= { status: "ABORTED", event: { type: "ExecutionAborted", executionAbortedEventDetails: {} } };
        push(ending.event);
        Object.assign(execution, { error: ending.error, cause: ending.cause });
        execution.status = ending.status;
        this.onEnd?.(execution);
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
    const started = e.events[0];
    const ended = e.status === "RUNNING" ? undefined : e.events.at(-1);
    return {
      status: e.status,
      stateMachineArn: e.stateMachineArn,
      error: e.error,
      cause: e.cause,
      input: started?.executionStartedEventDetails?.input,
      startDate: started?.timestamp?.toISOString(),
      stopDate: ended?.timestamp?.toISOString(),
    };
  }

  async list(stateMachineArn: string): Promise<{ executions: ExecutionListItem[] }> {
    const executions: ExecutionListItem[] = [];
    for (const e of this.executions.values()) {
      if (e.stateMachineArn !== stateMachineArn) continue;
      const d = await this.describe(e.arn);
      executions.push({
        executionArn: e.arn,
        name: e.arn.split(":").pop()!,
        status: e.status,
        startDate: d.startDate!,
        ...(d.stopDate ? { stopDate: d.stopDate } : {}),
      });
    }
    return { executions: executions.sort((a, b) => b.startDate.localeCompare(a.startDate)) };
  }

  async history(executionArn: string): Promise<{ events: HistoryEvent[] }> {
    return { events: [...this.get(executionArn).events] };
  }

  async definition(executionArn: string): Promise<string | undefined> {
    return this.get(executionArn).definition;
  }

  async stop(executionArn: string, reason: { error: string; cause: string }): Promise<void> {
    const execution = this.get(executionArn);
    if (execution.status !== "RUNNING") return;
    execution.stopReason = reason;
    execution.abort();
  }
}
