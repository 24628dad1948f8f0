/**
 * The AWS Step Functions compiler: a pipeline snapshot in, an Amazon States
 * Language definition out, one `ecs:runTask.sync` Task state per step.
 *
 * @packageDocumentation
 */
export {
  compileStateMachine,
  parseStepFailure,
  ECS_RUN_TASK_SYNC,
  STEP_FAILED_ERROR,
  SHARED_KEY,
  type CompileOptions,
  type CompileStats,
  type CompiledStateMachine,
  type InfrastructureRetry,
  type StepFailure,
} from "./compile.js";
export {
  buildStepDag,
  planSchedule,
  scheduleLength,
  criticalPathLength,
  reaches,
  type StepDag,
  type SchedulePlan,
  type PlanResult,
} from "./dag.js";
export {
  resolveTaskResources,
  FARGATE_CPU_MEMORY,
  StepResourceError,
  type LaunchType,
  type FargateMemoryMode,
  type TaskResources,
} from "./resources.js";
export { LIMITS, ServiceLimitError, type LimitName } from "./limits.js";
export { StateNamer, shortHash } from "./names.js";
export { intrinsicLiteral, statesArrayWithPaths, EXECUTION_NAME_PATH } from "./intrinsics.js";
