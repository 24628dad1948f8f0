import {
  ConfigError,
  EntrypointConfiguration,
  type EntrypointOptions,
  type PipelineSnapshot,
  type SnapshotStep,
} from "@stackyard/core";
import { buildStepDag, criticalPathLength, planSchedule, scheduleLength, type SchedulePlan } from "./dag.js";
import { EXECUTION_NAME_PATH, intrinsicLiteral, statesArrayWithPath } from "./intrinsics.js";
import { LIMITS, ServiceLimitError, utf8Bytes } from "./limits.js";
import { StateNamer } from "./names.js";
import { resolveTaskResources, type FargateMemoryMode, type LaunchType, type TaskResources } from "./resources.js";

/** The Step Functions service integration every step's Task state uses. */
export const ECS_RUN_TASK_SYNC = "arn:aws:states:::ecs:runTask.sync";

/** `Error` of the execution when a step fails; its `Cause` is `Step "<id>" failed: <error JSON>`. */
export const STEP_FAILED_ERROR = "Stackyard.StepFailed";

/** Retry policy applied to ECS API errors (capacity, throttling), before the step's own retries. */
export interface InfrastructureRetry {
  /** Error names to retry. Default: `["ECS.AmazonECSException"]`. */
  errorEquals?: string[];
  /** Default 3. */
  maxAttempts?: number;
  /** Default 5. */
  intervalSeconds?: number;
  /** Default 2. */
  backoffRate?: number;
}

/** Options of {@link compileStateMachine}: where and how each step's ECS task runs. */
export interface CompileOptions {
  /** Name the state machine will be created with (1-80 characters of `A-Za-z0-9_-`). */
  stateMachineName: string;
  /** ARN of the ECS cluster the tasks run in. */
  clusterArn: string;
  /** Task definition (ARN or `family:revision`) for every step, unless `taskDefinitionFor` is given. */
  taskDefinitionArn?: string;
  /** Task definition per step (e.g. one per resource shape); wins over `taskDefinitionArn`. */
  taskDefinitionFor?: (step: SnapshotStep) => string;
  /** Name of the container in the task definition that runs the step. */
  containerName: string;
  /** Default `FARGATE`. */
  launchType?: LaunchType;
  /** Subnets of the tasks' network interface (required for Fargate). */
  subnets?: readonly string[];
  /** Security groups of the tasks' network interface. */
  securityGroups?: readonly string[];
  /** Give tasks a public IP (needed in public subnets without a NAT gateway to pull from ECR). Default false. */
  assignPublicIp?: boolean;
  /** Fargate platform version (e.g. `LATEST`, `1.4.0`). Omitted by default. */
  platformVersion?: string;
  /**
   * Image the task definition runs. ECS cannot override a container's image,
   * so it only goes into the definition's `Comment`; the task definition must use it.
   */
  image?: string;
  /** URI of the snapshot in the artifact store, passed to every step as `--snapshot`. */
  snapshotUri: string;
  /**
   * Environment of the step container. Written into the definition in clear
   * text: never put secrets here (use the task definition's `secrets`).
   */
  environment?: Readonly<Record<string, string>>;
  /** Input the executions are started with (for the payload-size check). Default `{}`. */
  executionInput?: unknown;
  /** How Fargate memory between two valid sizes is handled. Default `round-up`. */
  fargateMemory?: FargateMemoryMode;
  /** `TimeoutSeconds` of each step's Task state. Default: none (Step Functions' own maximum). */
  stepTimeoutSeconds?: number;
  /** `TimeoutSeconds` of the whole execution. Default: none. */
  executionTimeoutSeconds?: number;
  /** Retry of ECS API errors, or `false` for none. */
  infrastructureRetry?: InfrastructureRetry | false;
  /** Builds a step's command line; defaults to core's {@link EntrypointConfiguration}. */
  entrypoint?: { commandFor(options: EntrypointOptions): string[] };
}

/** Measurements of a compiled state machine. */
export interface CompileStats {
  /** Steps (= Task states). */
  steps: number;
  /** All states, nested ones included. */
  states: number;
  /** Parallel states. */
  parallelStates: number;
  /** Deepest nesting of Parallel states (0 for a chain). */
  maxParallelDepth: number;
  /** Size of `json` in bytes. */
  definitionBytes: number;
  /** The DAG's critical path, in steps. */
  criticalPath: number;
  /** The compiled machine's critical path, in steps (every step taking the same time). */
  scheduleLength: number;
  /** `scheduleLength / criticalPath`: 1 means no parallelism lost on the critical path. */
  parallelismRatio: number;
  /** True when the DAG is series-parallel (compiled exactly, nothing serialised that need not be). */
  seriesParallel: boolean;
  /** Step pairs the DAG lets run concurrently. */
  concurrentPairs: number;
  /** Of those, pairs the compiled machine orders anyway. */
  addedOrderings: number;
  /** Share of concurrent pairs that stay concurrent (1 when nothing was serialised). */
  concurrencyKept: number;
  /** Largest ECS `overrides` JSON of a step, in characters, with a run id of the longest allowed length. */
  maxContainerOverridesChars: number;
  /** Largest state input/output estimated, in bytes. */
  maxPayloadBytes: number;
  /** Time spent compiling, in milliseconds. */
  compileMs: number;
}

/** A compiled state machine. */
export interface CompiledStateMachine {
  /** The Amazon States Language definition. */
  definition: Record<string, unknown>;
  /** `definition` as compact JSON, ready for `CreateStateMachine`. */
  json: string;
  /** Measurements. */
  stats: CompileStats;
  /** State name of each step's Task state (step id to state name). */
  stateNames: Record<string, string>;
  /** ECS task sizes chosen for steps that ask for resources. */
  resources: Record<string, TaskResources>;
  /** The series/parallel plan the definition follows. */
  plan: SchedulePlan;
}

const RUN_PLACEHOLDER = "\u0001stackyard-run-id\u0001";
const SECRET_NAME = /(^|_)(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY)(_|$)/i;

function checkOptions(options: CompileOptions): void {
  const name = options.stateMachineName;
  if (name.length > LIMITS.stateMachineNameLength) {
    throw new ServiceLimitError(
      "state machine name",
      name.length,
      LIMITS.stateMachineNameLength,
      `State machine name '${name}' has ${name.length} characters; Step Functions allows ${LIMITS.stateMachineNameLength}`,
    );
  }
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new ConfigError(`State machine name '${name}' must be 1-80 characters of letters, digits, '-' and '_'`);
  }
  if (!options.taskDefinitionFor && !options.taskDefinitionArn) {
    throw new ConfigError("No task definition: set taskDefinitionArn or taskDefinitionFor");
  }
  if (!options.clusterArn) throw new ConfigError("No ECS cluster: set clusterArn");
  if (!options.containerName) throw new ConfigError("No container name: set containerName");
  if (!options.snapshotUri) throw new ConfigError("No snapshot URI: set snapshotUri");
  if ((options.launchType ?? "FARGATE") === "FARGATE" && !options.subnets?.length) {
    throw new ConfigError("Fargate tasks need subnets (awsvpc network mode): set subnets");
  }
  for (const key of Object.keys(options.environment ?? {})) {
    if (SECRET_NAME.test(key) || key === "AWS_SESSION_TOKEN") {
      throw new ConfigError(`Environment variable '${key}' looks like a secret; the state machine definition is stored in clear text`, {
        hint: "Give the task definition a `secrets` entry (Secrets Manager or SSM Parameter Store) or use the task role instead",
      });
    }
  }
}

/**
 * Compiles a pipeline snapshot into an AWS Step Functions state machine that
 * runs each step as one ECS task (`ecs:runTask.sync`), with the DAG mapped to
 * nested Parallel states (see docs/compiler.md).
 *
 * The run id is the execution's name: each step's command is
 * `States.Array(..., '--run', $$.Execution.Name)`, so start executions with
 * `name = runId`.
 *
 * @throws PipelineDefinitionError for a bad DAG, {@link ServiceLimitError}
 *   when a Step Functions or ECS limit is exceeded, ConfigError (or
 *   `StepResourceError`) for options or step resources ECS cannot take.
 */
export function compileStateMachine(snapshot: PipelineSnapshot, options: CompileOptions): CompiledStateMachine {
  const started = performance.now();
  checkOptions(options);
  const launchType = options.launchType ?? "FARGATE";
  const entrypoint = options.entrypoint ?? EntrypointConfiguration;
  const dag = buildStepDag(snapshot.steps);
  const planned = planSchedule(dag);

  const namer = new StateNamer();
  const stateNames: Record<string, string> = {};
  for (const step of snapshot.steps) stateNames[step.id] = namer.allocate(step.id, step.id);
  const failureNames: Record<string, string> = {};
  for (const step of snapshot.steps) failureNames[step.id] = namer.allocate(`${stateNames[step.id]}.failed`, step.id);

  const inputBytes = utf8Bytes(JSON.stringify(options.executionInput ?? {}));
  if (inputBytes > LIMITS.payloadBytes) {
    throw new ServiceLimitError("payload size", inputBytes, LIMITS.payloadBytes, `The execution input has ${inputBytes} bytes; Step Functions allows ${LIMITS.payloadBytes}`);
  }
  const environment = Object.entries(options.environment ?? {}).map(([Name, Value]) => ({ Name, Value }));
  const longestRunId = "r".repeat(LIMITS.stateMachineNameLength);
  const infra = options.infrastructureRetry === false ? undefined : (options.infrastructureRetry ?? {});
  const resources: Record<string, TaskResources> = {};
  const tasks = new Map<string, Record<string, unknown>>();
  let maxOverrides = 0;
  let maxPayload = inputBytes;

  for (const step of snapshot.steps) {
    const command = entrypoint.commandFor({ snapshot: options.snapshotUri, step: step.id, run: RUN_PLACEHOLDER });
    if (!command.some((arg) => arg.includes(RUN_PLACEHOLDER))) {
      throw new ConfigError(`The entrypoint's command for step '${step.id}' does not include the run id`);
    }
    const size = resolveTaskResources(step.id, step.resources, launchType, options.fargateMemory);
    if (size.cpu !== undefined || size.memoryMiB !== undefined || size.gpus !== undefined) resources[step.id] = size;
    const containerOverride: Record<string, unknown> = {
      Name: options.containerName,
      "Command.$": statesArrayWithPath(command, RUN_PLACEHOLDER, EXECUTION_NAME_PATH),
      ...(environment.length ? { Environment: environment } : {}),
      ...(size.cpu !== undefined ? { Cpu: size.cpu } : {}),
      ...(size.memoryMiB !== undefined ? { Memory: size.memoryMiB } : {}),
      ...(size.gpus ? { ResourceRequirements: [{ Type: "GPU", Value: String(size.gpus) }] } : {}),
    };
    const overrides: Record<string, unknown> = {
      ...(size.cpu !== undefined ? { Cpu: String(size.cpu) } : {}),
      ...(size.memoryMiB !== undefined ? { Memory: String(size.memoryMiB) } : {}),
      ContainerOverrides: [containerOverride],
    };
    // What ECS receives, in its own JSON shape, with the longest possible run id.
    const ecsOverrides = JSON.stringify({
      containerOverrides: [
        {
          name: options.containerName,
          command: command.map((arg) => arg.split(RUN_PLACEHOLDER).join(longestRunId)),
          ...(environment.length ? { environment: environment.map((e) => ({ name: e.Name, value: e.Value })) } : {}),
          ...(size.cpu !== undefined ? { cpu: size.cpu } : {}),
          ...(size.memoryMiB !== undefined ? { memory: size.memoryMiB } : {}),
          ...(size.gpus ? { resourceRequirements: [{ type: "GPU", value: String(size.gpus) }] } : {}),
        },
      ],
      ...(size.cpu !== undefined ? { cpu: String(size.cpu) } : {}),
      ...(size.memoryMiB !== undefined ? { memory: String(size.memoryMiB) } : {}),
    });
    if (ecsOverrides.length > LIMITS.containerOverridesChars) {
      throw new ServiceLimitError(
        "container overrides size",
        ecsOverrides.length,
        LIMITS.containerOverridesChars,
        `Step '${step.id}': its ECS container overrides (command and environment) take ${ecsOverrides.length} characters; ECS allows ${LIMITS.containerOverridesChars}`,
        { stepId: step.id, hint: "Move environment variables into the task definition, or shorten the snapshot URI" },
      );
    }
    maxOverrides = Math.max(maxOverrides, ecsOverrides.length);
    const parameters: Record<string, unknown> = {
      Cluster: options.clusterArn,
      TaskDefinition: options.taskDefinitionFor ? options.taskDefinitionFor(step) : options.taskDefinitionArn,
      LaunchType: launchType,
      ...(options.platformVersion && launchType === "FARGATE" ? { PlatformVersion: options.platformVersion } : {}),
      ...(options.subnets?.length
        ? {
            NetworkConfiguration: {
              AwsvpcConfiguration: {
                Subnets: [...options.subnets],
                ...(options.securityGroups?.length ? { SecurityGroups: [...options.securityGroups] } : {}),
                AssignPublicIp: options.assignPublicIp ? "ENABLED" : "DISABLED",
              },
            },
          }
        : {}),
      Overrides: overrides,
    };
    const payload = utf8Bytes(JSON.stringify(parameters)) + utf8Bytes(ecsOverrides);
    if (payload > LIMITS.payloadBytes) {
      throw new ServiceLimitError(
        "payload size",
        payload,
        LIMITS.payloadBytes,
        `Step '${step.id}': its ECS request is about ${payload} bytes; Step Functions allows ${LIMITS.payloadBytes} per state`,
        { stepId: step.id },
      );
    }
    maxPayload = Math.max(maxPayload, payload);
    const retry: Record<string, unknown>[] = [];
    if (infra) {
      retry.push({
        ErrorEquals: infra.errorEquals ?? ["ECS.AmazonECSException"],
        MaxAttempts: infra.maxAttempts ?? 3,
        IntervalSeconds: Math.max(1, Math.round(infra.intervalSeconds ?? 5)),
        BackoffRate: infra.backoffRate ?? 2,
        JitterStrategy: "FULL",
      });
    }
    if (step.retry.max_retries > 0) {
      retry.push({
        ErrorEquals: ["States.TaskFailed"],
        MaxAttempts: step.retry.max_retries,
        IntervalSeconds: Math.max(1, Math.round(step.retry.delay)),
        BackoffRate: step.retry.backoff,
        JitterStrategy: "FULL",
      });
    }
    tasks.set(step.id, {
      Type: "Task",
      Comment: `Step '${step.id}' (${step.name})`,
      Resource: ECS_RUN_TASK_SYNC,
      Parameters: parameters,
      ResultPath: null,
      ...(options.stepTimeoutSeconds ? { TimeoutSeconds: options.stepTimeoutSeconds } : {}),
      ...(retry.length ? { Retry: retry } : {}),
    });
  }

  // Emit the plan: a series becomes a chain of states, a parallel a Parallel state.
  let parallelCount = 0;
  let branchCount = 0;
  let stateCount = 0;
  let maxDepth = 0;
  const parallelNames = new Map<SchedulePlan, string>();
  const nameOf = (item: SchedulePlan): string => {
    if (item.kind === "step") return stateNames[item.id]!;
    let name = parallelNames.get(item);
    if (!name) parallelNames.set(item, (name = namer.allocate(`parallel-${++parallelCount}`)));
    return name;
  };
  const emit = (plan: SchedulePlan, depth: number, top: boolean): { StartAt: string; States: Record<string, unknown> } => {
    maxDepth = Math.max(maxDepth, depth);
    const states: Record<string, unknown> = {};
    let failName: string | undefined;
    const fail = (): string => (failName ??= namer.allocate(top ? "failed" : `failed-${++branchCount}`));
    const items = plan.kind === "series" ? plan.children : [plan];
    items.forEach((item, i) => {
      const name = nameOf(item);
      const next = i + 1 < items.length ? { Next: nameOf(items[i + 1]!) } : { End: true };
      if (item.kind === "step") {
        const failure = failureNames[item.id]!;
        states[name] = { ...tasks.get(item.id), Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: failure }], ...next };
        states[failure] = {
          Type: "Pass",
          Comment: `Records the failure of step '${item.id}'`,
          Parameters: {
            Error: STEP_FAILED_ERROR,
            "Cause.$": `States.Format('Step {} failed: {}', ${intrinsicLiteral(JSON.stringify(item.id))}, States.JsonToString($.error))`,
            step: item.id,
            "error.$": "$.error",
          },
          Next: fail(),
        };
        stateCount += 2;
      } else {
        const branches = item.children.map((child) => emit(child, depth + 1, false));
        states[name] = { Type: "Parallel", Branches: branches, ResultPath: null, ...next };
        stateCount += 1;
      }
    });
    if (failName) {
      states[failName] = { Type: "Fail", Comment: "A step failed", ErrorPath: "$.Error", CausePath: "$.Cause" };
      stateCount += 1;
    }
    return { StartAt: nameOf(items[0]!), States: states };
  };
  const body = emit(planned.plan, 0, true);
  const definition: Record<string, unknown> = {
    Comment:
      `Stackyard pipeline '${snapshot.pipeline.name}' (snapshot ${snapshot.id}), ${snapshot.steps.length} step(s)` +
      (options.image ? `, image ${options.image}` : ""),
    ...body,
    ...(options.executionTimeoutSeconds ? { TimeoutSeconds: options.executionTimeoutSeconds } : {}),
  };
  const json = JSON.stringify(definition);
  const definitionBytes = utf8Bytes(json);
  if (definitionBytes > LIMITS.definitionBytes) {
    throw new ServiceLimitError(
      "definition size",
      definitionBytes,
      LIMITS.definitionBytes,
      `The state machine for pipeline '${snapshot.pipeline.name}' (${snapshot.steps.length} steps) is ${definitionBytes} bytes; ` +
        `Step Functions allows ${LIMITS.definitionBytes} (1 MB)`,
      { hint: "Split the pipeline, shorten step ids, or move environment variables into the task definition" },
    );
  }
  const criticalPath = criticalPathLength(dag);
  const length = scheduleLength(planned.plan);
  return {
    definition,
    json,
    stateNames,
    resources,
    plan: planned.plan,
    stats: {
      steps: snapshot.steps.length,
      states: stateCount,
      parallelStates: parallelCount,
      maxParallelDepth: maxDepth,
      definitionBytes,
      criticalPath,
      scheduleLength: length,
      parallelismRatio: length / criticalPath,
      seriesParallel: planned.seriesParallel,
      concurrentPairs: planned.concurrentPairs,
      addedOrderings: planned.addedOrderings,
      concurrencyKept: planned.concurrentPairs === 0 ? 1 : 1 - planned.addedOrderings / planned.concurrentPairs,
      maxContainerOverridesChars: maxOverrides,
      maxPayloadBytes: maxPayload,
      compileMs: performance.now() - started,
    },
  };
}

/** The failed step and its error, read back from a failed execution's `Error` and `Cause`. */
export interface StepFailure {
  stepId: string;
  /** The step's error as the Catch recorded it (`Error`, `Cause`), when it parses. */
  error?: { Error?: string; Cause?: string };
}

/**
 * Reads the failed step back from an execution that failed in one of the
 * compiled Fail states. Returns undefined for other failures (timeouts,
 * aborts, errors outside a step).
 */
export function parseStepFailure(error: string | undefined, cause: string | undefined): StepFailure | undefined {
  if (error !== STEP_FAILED_ERROR || !cause) return undefined;
  const match = /^Step ("(?:[^"\\]|\\.)*") failed: ([\s\S]*)$/.exec(cause);
  if (!match) return undefined;
  let stepId: string;
  try {
    stepId = JSON.parse(match[1]!) as string;
  } catch {
    return undefined;
  }
  try {
    return { stepId, error: JSON.parse(match[2]!) as StepFailure["error"] & object };
  } catch {
    return { stepId };
  }
}
