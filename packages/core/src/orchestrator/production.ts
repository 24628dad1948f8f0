import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import type { Stack } from "../stack/stack.js";
import type { RunStatus, RunStore } from "../store/run-store.js";
import type { RunEvents } from "./base-orchestrator.js";
import type { ScheduleSpec } from "./schedule-spec.js";

/**
 * Contracts of the production half: deployments an orchestrator keeps
 * (`capabilities.deployable`), schedules it fires (`capabilities.schedulable`)
 * and runs it lists for every teammate (`listRuns`). All optional: an
 * orchestrator without them runs deployments from this machine and refuses
 * schedules, naming the flavors that can.
 */

/** One version of a deployment, as an orchestrator is given it. */
export interface DeploymentRef {
  name: string;
  version: number;
  /** What the orchestrator's `deploy` returned for this version (JSON). */
  details?: Record<string, unknown> | undefined;
}

/** What {@link DeployableOrchestrator.deploy} gets besides the snapshot. */
export interface DeployContext {
  /** The deployment and the version being made. */
  deployment: { name: string; version: number };
  /** URI of the stored snapshot in the artifact store. */
  snapshotUri: string;
  stack: Stack;
  sourceRoot: string;
  events: RunEvents;
}

/** Where a run comes from, recorded on it and, for remote runs, carried by the orchestrator. */
export interface RunOrigin {
  deployment?: string | undefined;
  deploymentVersion?: number | undefined;
  schedule?: string | undefined;
}

/** A schedule as `stackyard schedule create|update` hands it to an orchestrator. */
export interface ScheduleRequest {
  /** Unique per orchestrator. */
  name: string;
  spec: ScheduleSpec;
  deployment: DeploymentRef;
  /** The snapshot each run it fires runs: the deployment's, with the schedule's parameters applied. */
  snapshotUri: string;
  /** The schedule's parameters (already applied to `snapshotUri`'s snapshot); kept for display. */
  parameters: Record<string, unknown>;
  /** Fire within this many minutes of the set time (EventBridge's flexible window); 0 or absent: on time. */
  flexibleWindowMinutes?: number | undefined;
  /** Paused schedules keep their settings and fire nothing. */
  enabled: boolean;
}

/** A schedule as its orchestrator keeps it. */
export interface ScheduleInfo extends ScheduleRequest {
  /** The expression the orchestrator stores (`cron(0 3 * * ? *)`, `rate(6 hours)`). */
  expression: string;
  /** What the schedule starts (a state machine ARN). */
  target?: string | undefined;
  created?: string | undefined;
  updated?: string | undefined;
  /** Orchestrator-specific details (the schedule's ARN, its role). */
  details?: Record<string, unknown> | undefined;
}

/** Where schedule calls run. */
export interface ScheduleContext {
  stack: Stack;
  events: RunEvents;
}

/** A run as the orchestrator knows it, for `runs list` on any machine whose stack shares the orchestrator and artifact store. */
export interface RemoteRun extends RunOrigin {
  /** The run id (on Step Functions, the execution name). */
  runId: string;
  /** The orchestrator's id (an execution ARN). */
  orchestratorRunId: string;
  status: RunStatus;
  /** ISO 8601. */
  started: string;
  ended?: string | undefined;
  /** The snapshot it runs, in the artifact store. Absent for runs that carry none (not started by Stackyard). */
  snapshotUri?: string | undefined;
  runName?: string | undefined;
  /** The pipeline's name, when the orchestrator knows it without reading the snapshot. */
  pipeline?: string | undefined;
  /**
   * The orchestrator's listing alone gave this run (id, status, times, and
   * the pipeline or deployment its state machine is named for): the
   * snapshot, run name and origin are still to be read with
   * {@link RemoteRunLister.describeRuns}, which may also find that
   * Stackyard did not start it.
   */
  detailsPending?: boolean | undefined;
}

/** What {@link RemoteRunLister.listRuns} is asked. */
export interface RemoteRunQuery {
  /**
   * The status this machine last recorded for a run (by orchestrator id), or
   * undefined for a run it has never seen. The orchestrator returns only
   * runs that are new or whose status changed, and stops looking once a
   * whole page of its listing holds nothing new.
   */
  known(orchestratorRunId: string): RunStatus | undefined;
  /** Aborted when the look-up runs out of time. */
  signal?: AbortSignal;
}

/** An orchestrator that keeps deployments: `deploy` creates what runs of a deployment need, so they need no client. */
export interface DeployableOrchestrator {
  /**
   * Creates or updates what runs of this deployment version need (on Step
   * Functions: the image, task definitions and a state machine). Resolves
   * with details (JSON) that are stored with the version and handed back in
   * `SubmitContext.deployment`, schedule requests and `undeploy`.
   */
  deploy(snapshot: PipelineSnapshot, context: DeployContext): Promise<Record<string, unknown>>;
  /** Removes what `deploy` created for a deployment (every version given). */
  undeploy(versions: readonly DeploymentRef[], context: ScheduleContext): Promise<void>;
}

/** An orchestrator that fires runs of deployments at set times with no client running. */
export interface SchedulingOrchestrator {
  /** Creates a schedule that starts runs of `request.deployment`; a schedule of that name already there is an error. */
  createSchedule(request: ScheduleRequest, context: ScheduleContext): Promise<ScheduleInfo>;
  /** Replaces a schedule's settings (pause and resume set `enabled`). */
  updateSchedule(request: ScheduleRequest, context: ScheduleContext): Promise<ScheduleInfo>;
  /** Undefined when there is no such schedule. */
  getSchedule(name: string, context: ScheduleContext): Promise<ScheduleInfo | undefined>;
  /** Every schedule this orchestrator keeps for Stackyard (not other schedules of the account). */
  listSchedules(context: ScheduleContext): Promise<ScheduleInfo[]>;
  /** Deletes a schedule; deleting one that is not there is not an error. */
  deleteSchedule(name: string, context: ScheduleContext): Promise<void>;
  /**
   * Optional: throws a ConfigError for a request this orchestrator cannot
   * keep (no role to fire it with, an expression it cannot write), with no
   * call made. The CLI calls it before it writes anything (the schedule's
   * snapshot with its parameters applied).
   */
  checkSchedule?(request: Omit<ScheduleRequest, "snapshotUri">): void;
}

/**
 * An orchestrator whose runs other machines can list. `runs list` makes only
 * the orchestrator before it asks: `context.stack`'s artifact store may not
 * be loaded yet (reading it throws), so both methods read the orchestrator
 * alone.
 */
export interface RemoteRunLister {
  /** Runs this orchestrator started that are new to this machine or changed since it last looked (see {@link RemoteRunQuery}). */
  listRuns(query: RemoteRunQuery, context: { stack: Stack; store: RunStore }): Promise<RemoteRun[]>;
  /**
   * Optional, and needed when `listRuns` returns runs with
   * `detailsPending`: reads those runs' details. Resolves with an entry per
   * orchestrator id it could read in time: the whole run, or `null` for a
   * run Stackyard did not start (it is not to be shown). Ids missing from
   * the result (out of time once `signal` is aborted) are still pending.
   */
  describeRuns?(orchestratorRunIds: readonly string[], context: { stack: Stack; signal?: AbortSignal }): Promise<Map<string, RemoteRun | null>>;
}
