import { ConfigError, EntrypointConfiguration, type EntrypointOptions, type MapSpec, type PipelineSnapshot, type SnapshotStep } from "@stackyard/core";
import { buildStepDag, criticalPathLength, planSchedule, type SchedulePlan, scheduleLength } from "./dag.js";
import { EXECUTION_NAME_PATH, intrinsicLiteral, statesArrayWithPaths } from "./intrinsics.js";
import { LIMITS, ServiceLimitError, utf8Bytes } from "./limits.js";
import { StateNamer } from "./names.js";
import { type FargateMemoryMode, type LaunchType, resolveTaskResources, type TaskResources } from "./resources.js";

/** The Step Functions service integration every step's Task state uses. */
export const ECS_RUN_TASK_SYNC = "arn:aws:states:::ecs:runTask.sync";

/** The Step Functions AWS SDK integration that reads a map's item count and (inline) manifest from S3. */
export const S3_GET_OBJECT_SDK = "arn:aws:states:::aws-sdk:s3:getObject";

/** The item reader of a Distributed Map over a JSON manifest in S3. */
export const S3_ITEM_READER = "arn:aws:states:::s3:getObject";

/** `Error` of a map whose inline Map had more failed items than its policy tolerates. */
export const MAP_FAILED_ERROR = "Stackyard.MapFailed";

/**
 * Default item count above which a map step runs as a Distributed Map: an
 * inline Map puts about 10 events per item (more with retries) into the
 * execution's history, which holds 25,000 in all.
 */
export const DEFAULT_DISTRIBUTED_MAP_THRESHOLD = 1000;

/**
 * `Error` of the execution when a step fails; its `Cause` is
 * `Step failed: {"<state name>": {"Error": ..., "Cause": ...}}` (read it with {@link parseStepFailure}).
 */
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
  /**
   * URI of the snapshot in the artifact store, passed to every step as
   * `--snapshot` (with `snapshotPath`: a representative one, for size checks).
   */
  snapshotUri: string;
  /**
   * Where steps read the snapshot URI at run time instead, as a JSONPath
   * (`$$.Execution.Input.stackyard.snapshot`): the definition then runs
   * whichever snapshot each execution is started with, as a deployment's
   * state machine does for its triggers and schedules.
   */
  snapshotPath?: string;
  /**
   * Environment of the step container. Written into the definition in clear
   * text: never put secrets here (use the task definition's `secrets`).
   */
  environment?: Readonly<Record<string, string>>;
  /**
   * Fields of your own for the execution input (a JSON object). The compiled
   * `executionInput` includes them; start executions with that.
   */
  executionInput?: Record<string, unknown>;
  /**
   * Where the parameters every step shares (cluster, launch type, network,
   * container name, environment, snapshot URI, task definition) go:
   * `inline` repeats them in every Task state (a self-contained definition);
   * `input` puts them once into the execution input under `$.ecs` and
   * has the states refer to them (about 40% smaller, for big pipelines);
   * `auto` (the default) is `inline` unless that exceeds 1 MB.
   */
  sharedParameters?: "auto" | "inline" | "input";
  /** How Fargate memory between two valid sizes is handled. Default `round-up`. */
  fargateMemory?: FargateMemoryMode;
  /** `TimeoutSeconds` of each step's Task state. Default: none (Step Functions' own maximum). */
  stepTimeoutSeconds?: number;
  /** `TimeoutSeconds` of the whole execution. Default: none. */
  executionTimeoutSeconds?: number;
  /** Retry of ECS API errors, or `false` for none. */
  infrastructureRetry?: InfrastructureRetry | false;
  /**
   * Builds a step's command line; defaults to core's {@link EntrypointConfiguration}
   * (the orchestrator passes its flavor's, `stack.entrypoint`, when it names one).
   * For a step with retries it is given `attempt: "next"` and must pass it on:
   * the state machine retries the step, one attempt per ECS task.
   */
  entrypoint?: { commandFor(options: EntrypointOptions): string[] };
  /**
   * Root of the S3 artifact store (`s3://bucket/prefix`), where a map step's
   * expand task writes its item manifest (`runs/<run>/<map>/items.json`) and
   * count (`map.json`) for the state machine to read. Required when the
   * snapshot has map steps.
   */
  artifactStoreUri?: string;
  /**
   * Item count above which a map step runs as a Distributed Map (each item a
   * child execution with its own history) instead of an inline Map. The
   * count is known at run time only: the definition holds both and a Choice
   * state picks one. Default {@link DEFAULT_DISTRIBUTED_MAP_THRESHOLD}.
   */
  distributedMapThreshold?: number;
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
  /** Where the shared ECS parameters went (see {@link CompileOptions.sharedParameters}). */
  sharedParameters: "inline" | "input";
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
  /**
   * The input to start every execution with (`StartExecution` `input`, as
   * JSON), together with `name` = the run id. Holds the shared ECS parameters
   * when they are not inline.
   */
  executionInput: Record<string, unknown>;
  /** Measurements. */
  stats: CompileStats;
  /** State name of each step's Task state (step id to state name); for a map step, the Parallel state that holds its expand task and Map states. */
  stateNames: Record<string, string>;
  /** For each map step, the state names of its expand task and of its items' Task states (inline and distributed). */
  mapStates: Record<string, MapStateNames>;
  /** ECS task sizes chosen for steps that ask for resources. */
  resources: Record<string, TaskResources>;
  /** The series/parallel plan the definition follows. */
  plan: SchedulePlan;
}

/** State names of one map step's states (see {@link CompiledStateMachine.mapStates}). */
export interface MapStateNames {
  /** The Parallel state the map is (its Catch is the map's). */
  map: string;
  /** The ECS task that expands the map (writes its manifest). */
  expand: string;
  /** The Task state of an item in the inline Map. */
  inlineItem: string;
  /** The Task state of an item in the Distributed Map's child executions. */
  distributedItem: string;
  /** The Distributed Map state. */
  distributed: string;
  /** The inline Map state. */
  inline: string;
}

const RUN_PLACEHOLDER = "\u0001stackyard-run-id\u0001";
const INDEX_PLACEHOLDER = "\u0001stackyard-item\u0001";
const SNAPSHOT_PLACEHOLDER = "\u0001stackyard-snapshot\u0001";
/** Key of the execution input under which shared ECS parameters go in `input` mode. */
export const SHARED_KEY = "ecs";
const SECRET_NAME = /(^|_)(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY)(_|$)/i;

/** Where a step's Catch puts its error: `$.error.<state name>` (bracket notation when needed). */
function errorPath(stateName: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(stateName) ? `$.error.${stateName}` : `$.error['${stateName}']`;
}

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
 * `name = runId`. A step with retries is retried by its Task state's `Retry`,
 * each attempt a new ECS task whose command ends in `--attempt next`: the
 * container runs that one attempt, numbered from the step's record.
 *
 * A map step becomes one Parallel state: its expand task, a read of its item
 * count from the S3 artifact store (`artifactStoreUri`), and an inline or a
 * Distributed Map (above `distributedMapThreshold` items) running one ECS
 * task per item (see docs/compiler.md#map-steps).
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

  const namer = new StateNamer();
  const stateNames: Record<string, string> = {};
  for (const step of snapshot.steps) stateNames[step.id] = namer.allocate(step.id, step.id);
  // A map step's own states, named after it (`score.expand`, `score.item`, ...).
  const mapStates: Record<string, MapStateNames> = {};
  const mapAux = new Map<string, Record<(typeof MAP_AUX_STATES)[number], string>>();
  for (const step of snapshot.steps) {
    if (!step.map) continue;
    const name = (suffix: string) => namer.allocate(`${step.id}.${suffix}`, step.id);
    mapStates[step.id] = {
      map: stateNames[step.id]!,
      expand: name("expand"),
      inline: name("inline"),
      inlineItem: name("item"),
      distributed: name("distributed"),
      distributedItem: name("distributed-item"),
    };
    mapAux.set(step.id, Object.fromEntries(MAP_AUX_STATES.map((suffix) => [suffix, name(suffix)])) as Record<(typeof MAP_AUX_STATES)[number], string>);
  }

  const userInput = options.executionInput ?? {};
  if (typeof userInput !== "object" || userInput === null || Array.isArray(userInput)) {
    throw new ConfigError("executionInput must be a JSON object");
  }
  for (const key of [SHARED_KEY, "error"]) {
    if (Object.hasOwn(userInput, key)) throw new ConfigError(`executionInput must not have a '${key}' key: the compiler uses it`);
  }
  const environment = Object.entries(options.environment ?? {}).map(([Name, Value]) => ({ Name, Value }));
  const longestRunId = "r".repeat(LIMITS.stateMachineNameLength);
  const infra = options.infrastructureRetry === false ? undefined : (options.infrastructureRetry ?? {});
  const resources: Record<string, TaskResources> = {};
  const network = options.subnets?.length
    ? {
        AwsvpcConfiguration: {
          Subnets: [...options.subnets],
          ...(options.securityGroups?.length ? { SecurityGroups: [...options.securityGroups] } : {}),
          ...(options.assignPublicIp ? { AssignPublicIp: "ENABLED" } : {}),
        },
      }
    : undefined;
  const platformVersion = options.platformVersion && launchType === "FARGATE" ? options.platformVersion : undefined;
  const shared: Record<string, unknown> = {
    cluster: options.clusterArn,
    launchType,
    ...(platformVersion ? { platformVersion } : {}),
    ...(network ? { network } : {}),
    container: options.containerName,
    ...(environment.length ? { environment } : {}),
    snapshot: options.snapshotUri,
    ...(options.taskDefinitionFor ? {} : { taskDefinition: options.taskDefinitionArn }),
  };
  // Everything the input may hold, in the biggest mode (shared parameters in the input).
  const inputBytes = utf8Bytes(JSON.stringify({ ...userInput, [SHARED_KEY]: shared }));
  if (inputBytes > LIMITS.payloadBytes) {
    throw new ServiceLimitError(
      "payload size",
      inputBytes,
      LIMITS.payloadBytes,
      `The execution input has ${inputBytes} bytes; Step Functions allows ${LIMITS.payloadBytes}`,
    );
  }
  let maxOverrides = 0;
  let maxPayload = inputBytes;

  interface StepPart {
    command: string[];
    size: TaskResources;
    taskDefinition: string;
    retry: Record<string, unknown>[];
    /** Where the run id comes from: the execution's name, or `$.run` in a map item (a Distributed Map's child executions have names of their own). */
    item: boolean;
  }
  const parts = new Map<string, StepPart>();
  const maps = snapshot.steps.filter((step) => step.map);
  const manifests = maps.length ? manifestLocation(options.artifactStoreUri, maps[0]!.id) : undefined;
  const threshold = options.distributedMapThreshold ?? DEFAULT_DISTRIBUTED_MAP_THRESHOLD;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new ConfigError(`distributedMapThreshold must be a whole number from 0, got ${String(threshold)}`);
  }
  // A static step is one ECS task; a map step two kinds: its expand (`--step score`) and its items (`--step score[<index>]`).
  const tasks: Array<{ key: string; step: SnapshotStep; entryStep: string; retried: boolean; item: boolean }> = [];
  for (const step of snapshot.steps) {
    const retried = step.retry.max_retries > 0;
    if (!step.map) tasks.push({ key: step.id, step, entryStep: step.id, retried, item: false });
    else {
      // The expand is not retried: it fails only when a mapped output is not a list.
      tasks.push({ key: step.id, step, entryStep: step.id, retried: false, item: false });
      tasks.push({ key: itemKey(step.id), step, entryStep: `${step.id}[${INDEX_PLACEHOLDER}]`, retried, item: true });
    }
  }
  for (const { key, step, entryStep, retried, item } of tasks) {
    const entry: EntrypointOptions = { snapshot: SNAPSHOT_PLACEHOLDER, step: entryStep, run: RUN_PLACEHOLDER };
    // A step with retries runs one attempt per ECS task: the Task state's Retry retries it (see docs/compiler.md).
    const command = entrypoint.commandFor(retried ? { ...entry, attempt: "next" } : entry);
    if (item && !command.some((arg) => arg.includes(INDEX_PLACEHOLDER))) {
      throw new ConfigError(`The entrypoint's command for the items of map step '${step.id}' does not include the item's step id`);
    }
    if (!command.some((arg) => arg.includes(RUN_PLACEHOLDER))) {
      throw new ConfigError(`The entrypoint's command for step '${step.id}' does not include the run id`);
    }
    if (retried && JSON.stringify(command) === JSON.stringify(entrypoint.commandFor(entry))) {
      throw new ConfigError(
        `The entrypoint's command for step '${step.id}' ignores the attempt: the step would be retried inside its container as well as by the state machine`,
        {
          hint: "Pass EntrypointOptions.attempt on (core's EntrypointConfiguration adds `--attempt next`)",
        },
      );
    }
    const size = resolveTaskResources(step.id, step.resources, launchType, options.fargateMemory);
    if (size.cpu !== undefined || size.memoryMiB !== undefined || size.gpus !== undefined) resources[step.id] = size;
    // What ECS receives, in its own JSON shape, with the longest possible run id.
    const ecsOverrides = JSON.stringify({
      containerOverrides: [
        {
          name: options.containerName,
          command: command.map((arg) =>
            arg.split(RUN_PLACEHOLDER).join(longestRunId).split(SNAPSHOT_PLACEHOLDER).join(options.snapshotUri).split(INDEX_PLACEHOLDER).join("9999999999"),
          ),
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
    const taskDefinition = options.taskDefinitionFor ? options.taskDefinitionFor(step) : options.taskDefinitionArn!;
    // The resolved ECS request this state sends.
    const payload = utf8Bytes(JSON.stringify({ ...shared, taskDefinition })) + utf8Bytes(ecsOverrides);
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
    if (retried) {
      retry.push({
        ErrorEquals: ["States.TaskFailed"],
        MaxAttempts: step.retry.max_retries,
        IntervalSeconds: Math.max(1, Math.round(step.retry.delay)),
        BackoffRate: step.retry.backoff,
        JitterStrategy: "FULL",
      });
    }
    parts.set(key, { command, size, taskDefinition, retry, item });
  }

  const taskState = (key: string, mode: "inline" | "input"): Record<string, unknown> => {
    const { command, size, taskDefinition, retry, item } = parts.get(key)!;
    const inline = mode === "inline";
    const ref = (field: string) => `$.${SHARED_KEY}.${field}`;
    const runPaths: Record<string, string> = item ? { [RUN_PLACEHOLDER]: "$.run", [INDEX_PLACEHOLDER]: "$.index" } : { [RUN_PLACEHOLDER]: EXECUTION_NAME_PATH };
    const commandExpr = options.snapshotPath
      ? statesArrayWithPaths(command, { ...runPaths, [SNAPSHOT_PLACEHOLDER]: options.snapshotPath })
      : statesArrayWithPaths(
          inline ? command.map((arg) => arg.split(SNAPSHOT_PLACEHOLDER).join(options.snapshotUri)) : command,
          inline ? runPaths : { ...runPaths, [SNAPSHOT_PLACEHOLDER]: ref("snapshot") },
        );
    const container: Record<string, unknown> = {
      ...(inline ? { Name: options.containerName } : { "Name.$": ref("container") }),
      "Command.$": commandExpr,
      ...(environment.length ? (inline ? { Environment: environment } : { "Environment.$": ref("environment") }) : {}),
      ...(size.cpu !== undefined ? { Cpu: size.cpu } : {}),
      ...(size.memoryMiB !== undefined ? { Memory: size.memoryMiB } : {}),
      ...(size.gpus ? { ResourceRequirements: [{ Type: "GPU", Value: String(size.gpus) }] } : {}),
    };
    const parameters: Record<string, unknown> = {
      ...(inline ? { Cluster: options.clusterArn } : { "Cluster.$": ref("cluster") }),
      ...(inline || options.taskDefinitionFor ? { TaskDefinition: taskDefinition } : { "TaskDefinition.$": ref("taskDefinition") }),
      ...(inline ? { LaunchType: launchType } : { "LaunchType.$": ref("launchType") }),
      ...(platformVersion ? (inline ? { PlatformVersion: platformVersion } : { "PlatformVersion.$": ref("platformVersion") }) : {}),
      ...(network ? (inline ? { NetworkConfiguration: network } : { "NetworkConfiguration.$": ref("network") }) : {}),
      Overrides: {
        ...(size.cpu !== undefined ? { Cpu: String(size.cpu) } : {}),
        ...(size.memoryMiB !== undefined ? { Memory: String(size.memoryMiB) } : {}),
        ContainerOverrides: [container],
      },
    };
    return {
      Type: "Task",
      Resource: ECS_RUN_TASK_SYNC,
      Parameters: parameters,
      ResultPath: null,
      ...(options.stepTimeoutSeconds ? { TimeoutSeconds: options.stepTimeoutSeconds } : {}),
      ...(retry.length ? { Retry: retry } : {}),
    };
  };

  // Fail fast on pipelines that cannot fit whatever the plan: the Task states
  // alone, in their smallest form, already exceed the limit.
  let lowerBound = 0;
  for (const key of parts.keys()) lowerBound += utf8Bytes(JSON.stringify(taskState(key, "input")));
  if (lowerBound > LIMITS.definitionBytes) {
    throw new ServiceLimitError(
      "definition size",
      lowerBound,
      LIMITS.definitionBytes,
      `The state machine for pipeline '${snapshot.pipeline.name}' (${snapshot.steps.length} steps) would be at least ${lowerBound} bytes; ` +
        `Step Functions allows ${LIMITS.definitionBytes} (1 MB)`,
      { hint: "Split the pipeline, shorten step ids, or turn off infrastructureRetry" },
    );
  }
  const planned = planSchedule(dag);
  const stepById = new Map(snapshot.steps.map((step) => [step.id, step]));

  /**
   * A map step: one Parallel state (one branch; its Catch is the map's, its
   * result discarded) that runs the expand task, reads the item count, and
   * picks the inline or the Distributed Map over the manifest (see docs/compiler.md).
   */
  const mapState = (step: SnapshotStep, mode: "inline" | "input"): Record<string, unknown> => {
    const spec = step.map!;
    const n = mapStates[step.id]!;
    const aux = mapAux.get(step.id)!;
    const { bucket, keyOf } = manifests!;
    const literal = (text: string) => intrinsicLiteral(text).slice(1, -1);
    const s3Key = (file: string) => {
      const [before, after] = keyOf(step.id, file);
      return `States.Format('${literal(before)}{}${literal(after)}', ${EXECUTION_NAME_PATH})`;
    };
    const itemSelector = {
      "index.$": "$$.Map.Item.Value",
      "run.$": EXECUTION_NAME_PATH,
      ...(mode === "input" ? { [`${SHARED_KEY}.$`]: `$.${SHARED_KEY}` } : {}),
    };
    const concurrency = spec.concurrency ?? 0;
    const tolerant = spec.tolerate !== undefined && ("count" in spec.tolerate ? spec.tolerate.count > 0 : spec.tolerate.percent > 0);
    const item = taskState(itemKey(step.id), mode);
    // The task's result, reduced to -1, becomes the item's output (ResultPath left at its default, `$`).
    const { ResultPath: _discarded, ...itemResultAsOutput } = item;
    // Inline: with a tolerance, a failed item is caught and gives its index, a completed one -1; the tally after the Map counts them.
    const inlineItems: Record<string, unknown> = tolerant
      ? {
          [n.inlineItem]: {
            ...itemResultAsOutput,
            ResultSelector: { item: -1 },
            OutputPath: "$.item",
            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: aux["item-failed"] }],
            End: true,
          },
          [aux["item-failed"]]: { Type: "Pass", OutputPath: "$.index", End: true },
        }
      : { [n.inlineItem]: { ...item, End: true } };
    const states: Record<string, unknown> = {
      [n.expand]: { ...taskState(step.id, mode), Next: aux.count },
      [aux.count]: {
        Type: "Task",
        Resource: S3_GET_OBJECT_SDK,
        Parameters: { Bucket: bucket, "Key.$": s3Key("map.json") },
        ResultSelector: { "value.$": "States.StringToJson($.Body)" },
        ResultPath: "$.map",
        Next: aux.route,
      },
      [aux.route]: {
        Type: "Choice",
        Choices: [{ Variable: "$.map.value.items", NumericGreaterThan: threshold, Next: n.distributed }],
        Default: aux.manifest,
      },
      [aux.manifest]: {
        Type: "Task",
        Resource: S3_GET_OBJECT_SDK,
        Parameters: { Bucket: bucket, "Key.$": s3Key("items.json") },
        ResultSelector: { "items.$": "States.StringToJson($.Body)" },
        ResultPath: "$.manifest",
        Next: n.inline,
      },
      [n.inline]: {
        Type: "Map",
        ItemsPath: "$.manifest.items",
        ItemSelector: itemSelector,
        MaxConcurrency: concurrency,
        ItemProcessor: { ProcessorConfig: { Mode: "INLINE" }, StartAt: n.inlineItem, States: inlineItems },
        ...(tolerant ? { ResultPath: "$.results", Next: aux.tally } : { ResultPath: null, End: true }),
      },
      ...(tolerant
        ? {
            [aux.tally]: {
              Type: "Pass",
              Parameters: {
                "distinct.$": "States.ArrayLength(States.ArrayUnique($.results))",
                "anyCompleted.$": "States.ArrayContains($.results, -1)",
                "tolerated.$": "$.map.value.tolerated",
                "toleratedPlusOne.$": "States.MathAdd($.map.value.tolerated, 1)",
              },
              ResultPath: "$.tally",
              Next: aux.check,
            },
            // Distinct values: the failed items' indices, plus -1 when any item completed.
            [aux.check]: {
              Type: "Choice",
              Choices: [
                {
                  And: [
                    { Variable: "$.tally.anyCompleted", BooleanEquals: true },
                    { Variable: "$.tally.distinct", NumericGreaterThanPath: "$.tally.toleratedPlusOne" },
                  ],
                  Next: aux["too-many"],
                },
                {
                  And: [
                    { Variable: "$.tally.anyCompleted", BooleanEquals: false },
                    { Variable: "$.tally.distinct", NumericGreaterThanPath: "$.tally.tolerated" },
                  ],
                  Next: aux["too-many"],
                },
              ],
              Default: aux.done,
            },
            [aux.done]: { Type: "Succeed" },
            [aux["too-many"]]: { Type: "Fail", Error: MAP_FAILED_ERROR, Cause: `More items of map step '${step.id}' failed than it tolerates` },
          }
        : {}),
      [n.distributed]: {
        Type: "Map",
        ItemReader: { Resource: S3_ITEM_READER, ReaderConfig: { InputType: "JSON" }, Parameters: { Bucket: bucket, "Key.$": s3Key("items.json") } },
        ItemSelector: itemSelector,
        MaxConcurrency: concurrency,
        ItemProcessor: {
          ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
          StartAt: n.distributedItem,
          States: { [n.distributedItem]: { ...item, End: true } },
        },
        ...toleratedFailures(spec),
        ResultPath: null,
        End: true,
      },
    };
    return {
      Type: "Parallel",
      Comment: `Map step '${step.id}'`,
      Branches: [{ StartAt: n.expand, States: states }],
      ResultPath: null,
    };
  };

  const build = (mode: "inline" | "input") => {
    // Emit the plan: a series becomes a chain of states, a parallel a Parallel state.
    const names = namer.fork();
    let parallelCount = 0;
    let branchCount = 0;
    let stateCount = 0;
    let maxDepth = 0;
    const parallelNames = new Map<SchedulePlan, string>();
    const nameOf = (item: SchedulePlan): string => {
      if (item.kind === "step") return stateNames[item.id]!;
      let name = parallelNames.get(item);
      if (!name) parallelNames.set(item, (name = names.allocate(`parallel-${++parallelCount}`)));
      return name;
    };
    const emit = (plan: SchedulePlan, depth: number, top: boolean): { StartAt: string; States: Record<string, unknown> } => {
      maxDepth = Math.max(maxDepth, depth);
      const states: Record<string, unknown> = {};
      let failure: { pass: string; fail: string } | undefined;
      const onFailure = (): string => {
        if (!failure) {
          const k = top ? "" : `-${++branchCount}`;
          failure = { pass: names.allocate(`failure${k}`), fail: names.allocate(`failed${k}`) };
        }
        return failure.pass;
      };
      const items = plan.kind === "series" ? plan.children : [plan];
      items.forEach((item, i) => {
        const name = nameOf(item);
        const next = i + 1 < items.length ? { Next: nameOf(items[i + 1]!) } : { End: true };
        if (item.kind === "step") {
          // The error goes to $.error.<state name>: the shared failure Pass reads the step from the key.
          const catcher = { ErrorEquals: ["States.ALL"], ResultPath: errorPath(name), Next: onFailure() };
          const step = stepById.get(item.id)!;
          if (step.map) {
            states[name] = { ...mapState(step, mode), Catch: [catcher], ...next };
            stateCount += countStates(states[name] as AslState);
          } else {
            states[name] = { ...taskState(item.id, mode), Catch: [catcher], ...next };
            stateCount += 1;
          }
        } else {
          const branches = item.children.map((child) => emit(child, depth + 1, false));
          states[name] = { Type: "Parallel", Branches: branches, ResultPath: null, ...next };
          stateCount += 1;
        }
      });
      if (failure) {
        states[failure.pass] = {
          Type: "Pass",
          Parameters: { Error: STEP_FAILED_ERROR, "Cause.$": "States.Format('Step failed: {}', States.JsonToString($.error))" },
          Next: failure.fail,
        };
        states[failure.fail] = { Type: "Fail", ErrorPath: "$.Error", CausePath: "$.Cause" };
        stateCount += 2;
      }
      return { StartAt: nameOf(items[0]!), States: states };
    };
    const body = emit(planned.plan, 0, true);
    const definition: Record<string, unknown> = {
      Comment:
        `Stackyard pipeline '${snapshot.pipeline.name}' (snapshot ${snapshot.id}), ${snapshot.steps.length} step(s)` +
        (options.image ? `, image ${options.image}` : "") +
        (mode === "input" ? `; start executions with the compiled input (ECS settings under $.${SHARED_KEY})` : ""),
      ...body,
      ...(options.executionTimeoutSeconds ? { TimeoutSeconds: options.executionTimeoutSeconds } : {}),
    };
    const json = JSON.stringify(definition);
    return { definition, json, bytes: utf8Bytes(json), stateCount, parallelCount, maxDepth, mode };
  };

  const wanted = options.sharedParameters ?? "auto";
  let built = build(wanted === "input" ? "input" : "inline");
  if (wanted === "auto" && built.bytes > LIMITS.definitionBytes) built = build("input");
  if (built.bytes > LIMITS.definitionBytes) {
    throw new ServiceLimitError(
      "definition size",
      built.bytes,
      LIMITS.definitionBytes,
      `The state machine for pipeline '${snapshot.pipeline.name}' (${snapshot.steps.length} steps) is ${built.bytes} bytes; ` +
        `Step Functions allows ${LIMITS.definitionBytes} (1 MB)`,
      {
        hint:
          (built.mode === "inline" ? "Use sharedParameters 'auto' or 'input', s" : "S") +
          "plit the pipeline, shorten step ids, or turn off infrastructureRetry",
      },
    );
  }
  const executionInput = built.mode === "input" ? { ...userInput, [SHARED_KEY]: shared } : { ...userInput };
  const criticalPath = criticalPathLength(dag);
  const length = scheduleLength(planned.plan);
  return {
    definition: built.definition,
    json: built.json,
    executionInput,
    stateNames,
    mapStates,
    resources,
    plan: planned.plan,
    stats: {
      steps: snapshot.steps.length,
      states: built.stateCount,
      parallelStates: built.parallelCount,
      maxParallelDepth: built.maxDepth,
      definitionBytes: built.bytes,
      sharedParameters: built.mode,
      criticalPath,
      scheduleLength: length,
      parallelismRatio: length / criticalPath,
      seriesParallel: planned.seriesParallel,
      concurrentPairs: planned.concurrentPairs,
      addedOrderings: planned.addedOrderings,
      concurrencyKept: planned.concurrentPairs === 0 ? 1 : 1 - planned.addedOrderings / planned.concurrentPairs,
      maxContainerOverridesChars: maxOverrides,
      maxPayloadBytes: Math.max(maxPayload, utf8Bytes(JSON.stringify(executionInput))),
      compileMs: performance.now() - started,
    },
  };
}

interface AslState {
  Branches?: { States: Record<string, AslState> }[];
  ItemProcessor?: { States: Record<string, AslState> };
}

/** A state and the states nested in it. */
function countStates(state: AslState): number {
  let count = 1;
  for (const branch of state.Branches ?? []) for (const inner of Object.values(branch.States)) count += countStates(inner);
  for (const inner of Object.values(state.ItemProcessor?.States ?? {})) count += countStates(inner);
  return count;
}

/** Internal states of a map step besides those in {@link MapStateNames}. */
const MAP_AUX_STATES = ["count", "route", "manifest", "item-failed", "tally", "check", "done", "too-many"] as const;

/** Key of a map step's item task among the compiled task parts. */
const itemKey = (mapStepId: string) => `${mapStepId}\u0000item`;

/** `ToleratedFailureCount`/`ToleratedFailurePercentage` of a Distributed Map from the map's policy. */
function toleratedFailures(spec: MapSpec): Record<string, number> {
  if (!spec.tolerate) return {};
  return "count" in spec.tolerate ? { ToleratedFailureCount: spec.tolerate.count } : { ToleratedFailurePercentage: spec.tolerate.percent };
}

/** Bucket and key of a map's files (`runs/<run>/<map>/<file>`, run as `{}`) under the S3 artifact store's root. */
function manifestLocation(
  artifactStoreUri: string | undefined,
  mapStepId: string,
): { bucket: string; keyOf: (mapStepId: string, file: string) => [before: string, after: string] } {
  const match = artifactStoreUri ? /^s3:\/\/([^/]+)\/*(.*?)\/*$/.exec(artifactStoreUri) : null;
  if (!match) {
    throw new ConfigError(
      `Map step '${mapStepId}' needs an S3 artifact store (its item manifest is read from S3 by the state machine)` +
        (artifactStoreUri ? `, and the artifact store is ${artifactStoreUri}` : ", and no artifactStoreUri was given"),
      { hint: "Use a stack with an s3 artifact store, or set artifactStoreUri to its s3://bucket/prefix" },
    );
  }
  const [, bucket, prefix] = match;
  return { bucket: bucket!, keyOf: (id, file) => [`${prefix ? `${prefix}/` : ""}runs/`, `/${id}/${file}`] };
}

/** The failed step and its error, read back from a failed execution's `Error` and `Cause`. */
export interface StepFailure {
  /** The step id (the state name when no `stateNames` were given to map it back). */
  stepId: string;
  /** The Task state that failed. */
  stateName: string;
  /** The step's error as its Catch recorded it. */
  error: { Error?: string; Cause?: string };
}

/**
 * Reads the failed step back from an execution that failed in one of the
 * compiled Fail states. Pass the compiled `stateNames` to map the state name
 * back to the step id (they only differ for ids that are not valid state
 * names). Returns undefined for other failures (timeouts, aborts, errors
 * outside a step).
 */
export function parseStepFailure(error: string | undefined, cause: string | undefined, stateNames?: Readonly<Record<string, string>>): StepFailure | undefined {
  if (error !== STEP_FAILED_ERROR || !cause?.startsWith("Step failed: ")) return undefined;
  const text = cause.slice("Step failed: ".length);
  let recorded: unknown;
  try {
    recorded = JSON.parse(text);
  } catch {
    // Not JSON: Step Functions truncates long causes (32,768 characters), and
    // aws-local-stepfunctions does not escape quotes inside JsonToString. The
    // state name still leads it; the rest is kept as the step's cause.
    const match = /^\{"((?:[^"\\]|\\.)+)":\{"Error":"((?:[^"\\]|\\.)*)"(?:,"Cause":"?)?([\s\S]*)$/.exec(text);
    if (!match) return undefined;
    recorded = { [match[1]!]: { Error: match[2], Cause: match[3]!.replace(/"?\}\}$/, "") } };
  }
  if (typeof recorded !== "object" || recorded === null) return undefined;
  const [entry] = Object.entries(recorded as Record<string, unknown>);
  if (!entry) return undefined;
  const [stateName, stepError] = entry;
  const stepId = stateNames ? (Object.entries(stateNames).find(([, name]) => name === stateName)?.[0] ?? stateName) : stateName;
  return { stepId, stateName, error: (typeof stepError === "object" && stepError !== null ? stepError : {}) as StepFailure["error"] };
}
