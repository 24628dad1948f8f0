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
  ECS_RUN_TASK_SYNC,
  type InfrastructureRetry,
  parseStepFailure,
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
