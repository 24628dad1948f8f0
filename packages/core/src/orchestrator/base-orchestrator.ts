import { StackComponent } from "../component/stack-component.js";
import type { MapRuntime } from "../execution/map-items.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import type { Stack } from "../stack/stack.js";
import type { RunRecord, RunStatus, RunStore } from "../store/run-store.js";
import type {
  DeployableOrchestrator,
  DeployContext,
  DeploymentRef,
  RemoteRun,
  RemoteRunLister,
  RemoteRunQuery,
  RunOrigin,
  ScheduleContext,
  ScheduleInfo,
  ScheduleRequest,
  SchedulingOrchestrator,
} from "./production.js";

/** What an orchestrator can do; shown by `flavor describe` and used by the engine. */
export interface OrchestratorCapabilities {
  /** Steps run away from this machine. */
  remote: boolean;
  /** `submit` returns once the run is over (the local orchestrator) rather than after deployment. */
  synchronous: boolean;
  /**
   * Runs of deployments can be scheduled: the orchestrator fires them with
   * no client running. It must implement {@link SchedulingOrchestrator}'s
   * methods (`createSchedule`, ...); the conformance kit checks that it does.
   */
  schedulable: boolean;
  /**
   * `deploy` creates what runs of a deployment need where they run (on Step
   * Functions: task definitions and a state machine), so that triggers and
   * schedules start them with no client. Without it, a deployment is its
   * stored snapshot and its runs are driven from the machine that triggers them.
   */
  deployable?: boolean;
  /** `resources` (cpu, gpu, memory) are enforced. When false, the engine warns once per run. */
  honoursResources: boolean;
  /** Independent steps run at the same time. */
  parallel: boolean;
  /**
   * Runs map steps (`step.map()`): one step run per item. A snapshot with
   * map steps is refused, before anything is stored, by an orchestrator
   * without it. An orchestrator built on `executeDag` gets it by passing
   * `context.maps`.
   */
  mapSteps?: boolean;
}

/** Result of one step as an orchestrator sees it. */
export interface StepOutcome {
  stepId: string;
  status: RunStatus;
  error?: string | undefined;
}

/** Live events an orchestrator reports while a run goes on. */
export interface RunEvents {
  /** A step changed status. */
  stepStatus(stepId: string, status: RunStatus, detail?: string): void;
  /** One line of a step's output. */
  stepLog(stepId: string, line: string, stream: "stdout" | "stderr"): void;
  /** A message about the whole run (a warning, a build step). */
  info(message: string): void;
  /** Something the user should act on (shown even in quiet mode). */
  warn(message: string): void;
}

/**
 * Everything `submit` gets besides the snapshot. The engine has already
 * stored the snapshot (store and artifact store) and created the run.
 */
export interface SubmitContext {
  runId: string;
  runName: string;
  /** URI of the snapshot in the artifact store. */
  snapshotUri: string;
  /** The active stack, with implementations loaded. */
  stack: Stack;
  sourceRoot: string;
  store: RunStore;
  events: RunEvents;
  /** Aborted on Ctrl-C or `stop`: stop starting steps and clean up. */
  signal: AbortSignal;
  /**
   * Runs one step in this process: loads its inputs, runs it (with retries),
   * saves its outputs and records the step run. In-process orchestrators call this.
   */
  runStepInProcess(stepId: string, options?: { signal?: AbortSignal }): Promise<StepOutcome>;
  /**
   * The command that runs one step in a fresh process or container
   * (`stackyard step run --snapshot URI --step ID --run RUN`), built by the
   * flavor's entrypoint configuration (`stack.entrypoint`), with `extra`
   * giving the values of the options it declares (`{ queue: "gpu" }`).
   *
   * @throws ConfigError for an option the entrypoint does not declare, or a required one missing.
   */
  stepCommand(stepId: string, extra?: Record<string, string>): string[];
  /** Environment variables a step process needs (never secrets). */
  stepEnvironment(stepId: string): Record<string, string>;
  /** Records a step as skipped (an upstream step failed) or stopped. */
  markStep(stepId: string, status: RunStatus, error?: string): Promise<void>;
  /**
   * Expands and records the map steps of the run; pass it to `executeDag`
   * (`maps: context.maps`), which then runs each item as `runOne("score[3]")`.
   */
  maps?: MapRuntime;
  /**
   * Set when the run is a run of a deployment on a deployable orchestrator:
   * start it with what `deploy` created (`details`) instead of deploying again.
   */
  deployment?: DeploymentRef;
  /** Where the run comes from (deployment, version, schedule), for orchestrators that carry it with the run. */
  origin?: RunOrigin;
}

/** What `submit` returns. */
export interface RunHandle {
  /** Orchestrator-specific id (an execution ARN), stored on the run. */
  orchestratorRunId?: string | undefined;
  /** Resolves when the run is over, with each step's outcome. Remote runs may resolve at once (asynchronous mode). */
  wait(): Promise<StepOutcome[]>;
}

/** A status read back from where the run executes. */
export interface RunStatusUpdate {
  status: RunStatus;
  steps?: StepOutcome[];
  error?: string | undefined;
}

/**
 * Base class of orchestrators. Seed documents call `submit`
 * `prepare_or_run_pipeline`: it runs the pipeline outright, or deploys it
 * and returns a handle to follow it.
 */
export abstract class BaseOrchestrator<C = Record<string, unknown>> extends StackComponent<C> {
  readonly type = "orchestrator" as const;

  abstract readonly capabilities: OrchestratorCapabilities;

  /** Runs or deploys the snapshot. */
  abstract submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle>;

  /** Reads a run's status from where it executes (remote orchestrators). */
  fetchStatus?(run: RunRecord, context: { store: RunStore; stack: Stack }): Promise<RunStatusUpdate>;

  /** Stops a running run. */
  stop?(run: RunRecord, context: { store: RunStore; stack: Stack }): Promise<void>;

  /**
   * A step's output from where it ran (CloudWatch for ECS tasks), for
   * `stackyard runs logs`; undefined to fall back to the log the step wrote
   * to the artifact store.
   */
  fetchLogs?(run: RunRecord, stepId: string): Promise<string | undefined>;

  /** See {@link DeployableOrchestrator.deploy}; implemented when `capabilities.deployable`. */
  deploy?(snapshot: PipelineSnapshot, context: DeployContext): Promise<Record<string, unknown>>;
  /** See {@link DeployableOrchestrator.undeploy}. */
  undeploy?(versions: readonly DeploymentRef[], context: ScheduleContext): Promise<void>;

  /** See {@link SchedulingOrchestrator.createSchedule}; implemented when `capabilities.schedulable`. */
  createSchedule?(request: ScheduleRequest, context: ScheduleContext): Promise<ScheduleInfo>;
  /** See {@link SchedulingOrchestrator.updateSchedule}. */
  updateSchedule?(request: ScheduleRequest, context: ScheduleContext): Promise<ScheduleInfo>;
  /** See {@link SchedulingOrchestrator.getSchedule}. */
  getSchedule?(name: string, context: ScheduleContext): Promise<ScheduleInfo | undefined>;
  /** See {@link SchedulingOrchestrator.listSchedules}. */
  listSchedules?(context: ScheduleContext): Promise<ScheduleInfo[]>;
  /** See {@link SchedulingOrchestrator.deleteSchedule}. */
  deleteSchedule?(name: string, context: ScheduleContext): Promise<void>;
  /** See {@link SchedulingOrchestrator.checkSchedule}. */
  checkSchedule?(request: Omit<ScheduleRequest, "snapshotUri">): void;

  /** See {@link RemoteRunLister}: runs other machines started, for `stackyard runs list`. */
  listRuns?(query: RemoteRunQuery, context: { stack: Stack; store: RunStore }): Promise<RemoteRun[]>;
  /** See {@link RemoteRunLister.describeRuns}: the details of runs `listRuns` returned from the listing alone. */
  describeRuns?(orchestratorRunIds: readonly string[], context: { stack: Stack; signal?: AbortSignal }): Promise<Map<string, RemoteRun | null>>;
}

/** The orchestrator, when it keeps deployments (`capabilities.deployable` and `deploy`/`undeploy`); otherwise undefined. */
export function asDeployable(orchestrator: BaseOrchestrator<unknown>): (BaseOrchestrator<unknown> & DeployableOrchestrator) | undefined {
  return orchestrator.capabilities.deployable && orchestrator.deploy && orchestrator.undeploy
    ? (orchestrator as BaseOrchestrator<unknown> & DeployableOrchestrator)
    : undefined;
}

/** The orchestrator, when it fires schedules (`capabilities.schedulable` and every schedule method); otherwise undefined. */
export function asScheduling(orchestrator: BaseOrchestrator<unknown>): (BaseOrchestrator<unknown> & SchedulingOrchestrator) | undefined {
  const o = orchestrator;
  return o.capabilities.schedulable && o.createSchedule && o.updateSchedule && o.getSchedule && o.listSchedules && o.deleteSchedule
    ? (o as BaseOrchestrator<unknown> & SchedulingOrchestrator)
    : undefined;
}

/** The orchestrator, when other machines can list its runs (`listRuns`); otherwise undefined. */
export function asRemoteRunLister(orchestrator: BaseOrchestrator<unknown>): (BaseOrchestrator<unknown> & RemoteRunLister) | undefined {
  return orchestrator.listRuns ? (orchestrator as BaseOrchestrator<unknown> & RemoteRunLister) : undefined;
}
