/**
 * The AWS Step Functions compiler: a pipeline snapshot in, an Amazon States
 * Language definition out, one `ecs:runTask.sync` Task state per step.
 *
 * @packageDocumentation
 */
export {
  type CompiledStateMachine,
  type CompileOptions,
  type CompileStats,
  compileStateMachine,
  DEFAULT_DISTRIBUTED_MAP_THRESHOLD,
  ECS_RUN_TASK_SYNC,
  type InfrastructureRetry,
  MAP_FAILED_ERROR,
  type MapStateNames,
  parseStepFailure,
  S3_GET_OBJECT_SDK,
  S3_ITEM_READER,
  SHARED_KEY,
  STEP_FAILED_ERROR,
  type StepFailure,
} from "./compile.js";
export {
  buildStepDag,
  criticalPathLength,
  type PlanResult,
  planSchedule,
  reaches,
  type SchedulePlan,
  type StepDag,
  scheduleLength,
} from "./dag.js";
export { EXECUTION_NAME_PATH, intrinsicLiteral, statesArrayWithPaths } from "./intrinsics.js";
export { LIMITS, type LimitName, ServiceLimitError } from "./limits.js";
export { StateNamer, shortHash } from "./names.js";
export {
  FARGATE_CPU_MEMORY,
  type FargateMemoryMode,
  type LaunchType,
  resolveTaskResources,
  StepResourceError,
  type TaskResources,
} from "./resources.js";
