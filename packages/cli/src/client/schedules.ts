import {
  applyRunParameters,
  asScheduling,
  type BaseOrchestrator,
  isPipeline,
  nextFireTimes,
  type PipelineSnapshot,
  parseScheduleSpec,
  type RunEvents,
  type ScheduleContext,
  type ScheduleInfo,
  type ScheduleInput,
  type ScheduleRequest,
  type ScheduleSpec,
  type SchedulingOrchestrator,
  type Stack,
  storeSnapshot,
} from "@stackyard/core";
import { ConfigError, ConflictError, NotFoundError } from "@stackyard/core/errors";
import { loadSource } from "../source/load-source.js";
import { checkStoreWritable } from "../store/lock-wait.js";
import type { Project } from "../store/open-project.js";
import { SqliteRunStore } from "../store/sqlite-run-store.js";
import { type DeploymentRecord, deploymentRef, getDeployment, listDeployments } from "./deployments.js";
import { loadStack } from "./load-stack.js";
import { readSnapshot } from "./remote-step.js";

/** Schedule names: letters, digits, `_`, `-` and `.`, starting with a letter or `_`, at most 64 characters. */
const SCHEDULE_NAME = /^[A-Za-z_][\w.-]{0,63}$/;

/** What `schedule create` and `schedule update` are given (update: only what changes). */
export interface ScheduleOptions extends ScheduleInput {
  /** The deployment (its newest version) the schedule runs. */
  deployment?: string | undefined;
  /** Pipeline parameters of the runs it starts (update: over the schedule's). */
  parameters?: Record<string, unknown> | undefined;
  /** Fire within this many minutes after the set time; 0: on time. */
  flexibleWindowMinutes?: number | undefined;
  enabled?: boolean | undefined;
}

/** A schedule with the stack whose orchestrator keeps it. */
export interface ScheduleRecord extends ScheduleInfo {
  stack: string;
  orchestrator: string;
  /** The next time it fires (ISO 8601) when it was read; null when it is paused, has ended or the time is not known. */
  nextFire: string | null;
}

/**
 * When a schedule fires next, after `now`: up to `count` instants, or why
 * there are none. An interval schedule without a start counts from its
 * creation (EventBridge starts such a schedule when it is created).
 */
export function scheduleFireTimes(info: ScheduleInfo, now: Date, count = 1): Date[] | "paused" | "ended" | "never" | "not known" {
  if (!info.enabled) return "paused";
  let fires: Date[];
  try {
    fires = nextFireTimes(info.spec, { after: now, count, created: info.created });
  } catch {
    // A spec the orchestrator gave back without its cron expression or interval.
    return "not known";
  }
  if (fires.length) return fires;
  if (info.spec.every && info.spec.start === undefined && info.created === undefined) return "not known";
  return info.spec.end !== undefined ? "ended" : "never";
}

/** A schedule as the client returns it: with its stack, orchestrator and next fire time. */
function scheduleRecord(info: ScheduleInfo, stack: string, orchestrator: string): ScheduleRecord {
  const next = scheduleFireTimes(info, new Date());
  return { ...info, stack, orchestrator, nextFire: Array.isArray(next) ? next[0]!.toISOString() : null };
}

/** One orchestrator that keeps schedules, with the stack it was reached through. */
interface ScheduleSite {
  stackName: string;
  scheduling: BaseOrchestrator<unknown> & SchedulingOrchestrator;
  context: ScheduleContext;
}

function stderrEvents(): RunEvents {
  const line = (text: string) => process.stderr.write(`${text}\n`);
  return { stepStatus: () => {}, stepLog: () => {}, info: line, warn: (text) => line(`Warning: ${text}`) };
}

/** Flavors shipped with Stackyard whose orchestrators keep schedules, with the package that declares each. */
const SCHEDULING_FLAVORS = "aws_step_functions (@stackyard/orchestrator-aws-stepfunctions)";

/** Says why a deployment's orchestrator cannot keep schedules, naming it and what to do instead. */
function notSchedulable(orchestrator: BaseOrchestrator<unknown>, deployment: DeploymentRecord): ConfigError {
  return new ConfigError(
    `Orchestrator '${orchestrator.name}' (flavor ${orchestrator.flavor}) of stack '${deployment.stack}' cannot keep schedules: a schedule fires with no client running, so its orchestrator must start the runs itself (capabilities.schedulable)`,
    {
      hint: `Flavors shipped with Stackyard that keep schedules: ${SCHEDULING_FLAVORS}. Deploy '${deployment.name}' on a stack with one of them, or trigger it from your own scheduler (cron, CI) with \`stackyard deployment trigger ${deployment.name}\`; \`stackyard orchestrator flavor describe FLAVOR\` says whether a flavor's runs can be scheduled.`,
    },
  );
}

/**
 * The orchestrators that keep schedules among the active stack and the
 * stacks of the project's deployments (each orchestrator once): a teammate
 * whose stack shares the orchestrator sees its schedules without having
 * deployed anything.
 */
async function scheduleSites(project: Project, events: RunEvents): Promise<ScheduleSite[]> {
  const sites: ScheduleSite[] = [];
  const seen = new Set<string>();
  const deploymentStacks = new Set(listDeployments(project).map((d) => d.stack));
  for (const stackName of new Set([project.config.activeStackName(), ...deploymentStacks])) {
    let stack: Stack;
    try {
      ({ stack } = await loadStack(project, stackName));
    } catch (error) {
      // The active stack is only looked at in passing: a deployment's stack that cannot load is worth a word.
      if (deploymentStacks.has(stackName)) events.warn(`Skipping stack '${stackName}': ${(error as Error).message}`);
      continue;
    }
    const scheduling = asScheduling(stack.orchestrator);
    if (!scheduling || seen.has(stack.orchestrator.name)) continue;
    seen.add(stack.orchestrator.name);
    sites.push({ stackName, scheduling, context: { stack, events } });
  }
  return sites;
}

/** Every schedule the orchestrators of the project's deployments keep, by name. */
export async function listSchedulesInProject(project: Project, events: RunEvents = stderrEvents()): Promise<ScheduleRecord[]> {
  const out: ScheduleRecord[] = [];
  for (const site of await scheduleSites(project, events)) {
    for (const info of await site.scheduling.listSchedules(site.context)) {
      out.push(scheduleRecord(info, site.stackName, site.scheduling.name));
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A schedule by name, with the orchestrator that keeps it.
 *
 * @throws NotFoundError naming it (exit code 2).
 */
async function findSchedule(project: Project, name: string, events: RunEvents): Promise<{ info: ScheduleInfo; site: ScheduleSite }> {
  const sites = await scheduleSites(project, events);
  for (const site of sites) {
    const info = await site.scheduling.getSchedule(name, site.context);
    if (info) return { info, site };
  }
  throw new NotFoundError(`No schedule '${name}'`, {
    hint: sites.length
      ? "See the schedules there are: stackyard schedule list"
      : "Neither the active stack nor a deployment of this project is on a stack whose orchestrator keeps schedules: stackyard schedule create NAME --deployment D --cron EXPR",
  });
}

/** A schedule by name, with the stack whose orchestrator keeps it. */
export async function getScheduleInProject(project: Project, name: string, events: RunEvents = stderrEvents()): Promise<ScheduleRecord> {
  const { info, site } = await findSchedule(project, name, events);
  return scheduleRecord(info, site.stackName, site.scheduling.name);
}

/**
 * The deployment's snapshot with the schedule's parameters applied (checked
 * against the pipeline's schema); undefined when there are none, so the
 * deployment's own snapshot is used.
 */
async function snapshotWithParameters(
  project: Project,
  deployment: DeploymentRecord,
  parameters: Record<string, unknown>,
  stack?: Stack,
): Promise<PipelineSnapshot | undefined> {
  if (!Object.keys(parameters).length) return undefined;
  let stored = await new SqliteRunStore(project.db).getSnapshot(deployment.snapshotId);
  if (!stored && stack) {
    // A teammate's deployment: its snapshot is read from the artifact store the stacks share.
    try {
      stored = await readSnapshot(stack.artifactStore, deployment.snapshotUri);
    } catch (error) {
      throw new NotFoundError(
        `Deployment '${deployment.name}' version ${deployment.version}: its snapshot ${deployment.snapshotUri} is neither in this store nor readable from the artifact store of stack '${stack.name}': ${(error as Error).message}`,
      );
    }
  }
  if (!stored) throw new NotFoundError(`Deployment '${deployment.name}' version ${deployment.version} has no snapshot ${deployment.snapshotId} in this store`);
  const pipeline = await loadSource(stored.pipeline.source, project.paths.sourceRoot);
  if (!isPipeline(pipeline)) throw new ConfigError(`'${stored.pipeline.source}' is no longer a pipeline: deployment '${deployment.name}' cannot be scheduled`);
  return applyRunParameters(stored, pipeline, parameters, "the schedule's --param");
}

/** What a schedule asks of its orchestrator, but the snapshot URI {@link prepareRequest} adds. */
function scheduleRequest(
  name: string,
  spec: ScheduleSpec,
  deployment: DeploymentRecord,
  parameters: Record<string, unknown>,
  flexibleWindowMinutes: number | undefined,
  enabled: boolean,
): Omit<ScheduleRequest, "snapshotUri"> {
  return { name, spec, deployment: deploymentRef(deployment), parameters, ...(flexibleWindowMinutes ? { flexibleWindowMinutes } : {}), enabled };
}

/** Checks a request with the orchestrator, then stores the snapshot with the parameters applied (its URI, or the deployment's). */
async function prepareRequest(
  project: Project,
  scheduling: BaseOrchestrator<unknown> & SchedulingOrchestrator,
  stack: Stack,
  deployment: DeploymentRecord,
  request: Omit<ScheduleRequest, "snapshotUri">,
  current?: { snapshotUri: string; parameters: Record<string, unknown>; version: number },
  beforeWrite?: () => Promise<void>,
): Promise<ScheduleRequest> {
  const unchanged = current && current.version === deployment.version && JSON.stringify(current.parameters) === JSON.stringify(request.parameters);
  const snapshot = unchanged ? undefined : await snapshotWithParameters(project, deployment, request.parameters, stack);
  // Everything the orchestrator can check without a call, before anything is written.
  scheduling.checkSchedule?.(request);
  await beforeWrite?.();
  if (unchanged) return { ...request, snapshotUri: current.snapshotUri };
  if (!snapshot) return { ...request, snapshotUri: deployment.snapshotUri };
  checkStoreWritable(project.db);
  return { ...request, snapshotUri: await storeSnapshot(snapshot, new SqliteRunStore(project.db), stack.artifactStore) };
}

/** The flexible window option, checked: whole minutes from 0 to 1440. */
export function parseFlexibleWindow(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) > 1440) {
    throw new ConfigError(`Invalid --flexible-window ${JSON.stringify(text)}: give whole minutes from 0 (on time) to 1440`);
  }
  return Number(text);
}

/**
 * Creates a schedule of a deployment's newest version on the deployment's
 * stack. Every input (name, cron or interval, time zone, dates, window,
 * parameters) and the orchestrator's own requirements are checked before
 * anything is written; a snapshot with the parameters applied is stored
 * like a trigger's, and each run the schedule fires runs it.
 */
export async function createScheduleInProject(
  project: Project,
  name: string,
  options: ScheduleOptions & { deployment: string },
  events: RunEvents = stderrEvents(),
): Promise<ScheduleRecord> {
  if (!SCHEDULE_NAME.test(name)) {
    throw new ConfigError(`Invalid schedule name ${JSON.stringify(name)}: use letters, digits, '_', '-' or '.', starting with a letter or '_' (at most 64)`);
  }
  const spec = parseScheduleSpec(options);
  const deployment = getDeployment(project, options.deployment);
  const { stack } = await loadStack(project, deployment.stack);
  const scheduling = asScheduling(stack.orchestrator);
  if (!scheduling) {
    // Bad parameters are named first, whatever the stack.
    await snapshotWithParameters(project, deployment, options.parameters ?? {});
    throw notSchedulable(stack.orchestrator, deployment);
  }
  const context = { stack, events };
  const request = await prepareRequest(
    project,
    scheduling,
    stack,
    deployment,
    scheduleRequest(name, spec, deployment, options.parameters ?? {}, options.flexibleWindowMinutes, options.enabled ?? true),
    undefined,
    async () => {
      if (await scheduling.getSchedule(name, context)) {
        throw new ConflictError(`Schedule '${name}' already exists`, {
          hint: `Change it with \`stackyard schedule update ${name}\`, or delete it first: stackyard schedule delete ${name}`,
        });
      }
    },
  );
  const info = await scheduling.createSchedule(request, context);
  return scheduleRecord(info, deployment.stack, scheduling.name);
}

/**
 * The deployment version a schedule runs: from this project's store, or,
 * for a schedule a teammate made, from the record its deploy wrote into the
 * artifact store the stacks share (`deployments/<name>/<version>.json`),
 * placed on this project's stack that keeps the schedule.
 *
 * @throws NotFoundError when neither holds it.
 */
async function scheduledDeployment(project: Project, info: ScheduleInfo, site: ScheduleSite): Promise<DeploymentRecord> {
  const { name, version } = info.deployment;
  try {
    return getDeployment(project, name, version);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  const key = `deployments/${name}/${version}.json`;
  const { artifactStore } = site.context.stack;
  const shared = (await artifactStore.exists(key)) ? (JSON.parse((await artifactStore.readFile(key)).toString("utf8")) as DeploymentRecord) : undefined;
  if (!shared || shared.name !== name || shared.version !== version) {
    throw new NotFoundError(
      `Schedule '${info.name}' runs version ${version} of deployment '${name}', which neither this project's store nor the artifact store of stack '${site.stackName}' (${key}) holds`,
      { hint: `Deploy it again from this project (stackyard pipeline deploy ... --name ${name}), or change the schedule where it was deployed.` },
    );
  }
  return { ...shared, stack: site.stackName };
}

/** The spec a schedule was given, as `schedule create` options. */
function specInput(info: ScheduleInfo): ScheduleInput {
  return {
    ...(info.spec.cron !== undefined ? { cron: info.spec.cron } : {}),
    ...(info.spec.every !== undefined ? { every: `${info.spec.every.value} ${info.spec.every.unit}` } : {}),
    timezone: info.spec.timezone,
    ...(info.spec.start !== undefined ? { start: info.spec.start } : {}),
    ...(info.spec.end !== undefined ? { end: info.spec.end } : {}),
  };
}

/**
 * Changes what is given of a schedule and keeps the rest: `--cron` or
 * `--every` replace its timing, `-p` sets parameters over its own (a new
 * snapshot is stored), `--deployment` moves it to that deployment's newest
 * version; `enabled` pauses or resumes it.
 */
export async function updateScheduleInProject(
  project: Project,
  name: string,
  changes: ScheduleOptions,
  events: RunEvents = stderrEvents(),
): Promise<ScheduleRecord> {
  const { info, site } = await findSchedule(project, name, events);
  const timing = changes.cron !== undefined || changes.every !== undefined;
  const given = specInput(info);
  const spec = parseScheduleSpec({
    cron: timing ? changes.cron : given.cron,
    every: timing ? changes.every : given.every,
    timezone: changes.timezone ?? given.timezone,
    start: changes.start ?? given.start,
    end: changes.end ?? given.end,
  });
  const deployment = changes.deployment ? getDeployment(project, changes.deployment) : await scheduledDeployment(project, info, site);
  const { stack } = await loadStack(project, deployment.stack);
  const scheduling = asScheduling(stack.orchestrator);
  if (!scheduling) throw notSchedulable(stack.orchestrator, deployment);
  if (scheduling.name !== site.scheduling.name) {
    throw new ConfigError(
      `Schedule '${name}' is kept by orchestrator '${site.scheduling.name}', but deployment '${deployment.name}' is on stack '${deployment.stack}' with orchestrator '${scheduling.name}'`,
      { hint: `Delete the schedule and create it again: stackyard schedule delete ${name} --yes` },
    );
  }
  const request = await prepareRequest(
    project,
    scheduling,
    stack,
    deployment,
    scheduleRequest(
      name,
      spec,
      deployment,
      { ...info.parameters, ...(changes.parameters ?? {}) },
      changes.flexibleWindowMinutes ?? info.flexibleWindowMinutes,
      changes.enabled ?? info.enabled,
    ),
    { snapshotUri: info.snapshotUri, parameters: info.parameters, version: info.deployment.version },
  );
  const updated = await scheduling.updateSchedule(request, { stack, events });
  return scheduleRecord(updated, deployment.stack, scheduling.name);
}

/**
 * Moves the schedules of a deployment to a version just deployed: its
 * orchestrator updated the deployment's state machine in place, so a schedule
 * left on an older version's snapshot would run it on the new definition.
 * Each keeps its timing, state and parameters (applied to the new snapshot);
 * one whose parameters no longer fit is left as it was, with a warning.
 * Resolves with the names of the schedules moved.
 */
export async function moveSchedulesToVersion(project: Project, record: DeploymentRecord, stack: Stack, events: RunEvents = stderrEvents()): Promise<string[]> {
  const scheduling = asScheduling(stack.orchestrator);
  if (!scheduling) return [];
  const context = { stack, events };
  let schedules: ScheduleInfo[];
  try {
    schedules = await scheduling.listSchedules(context);
  } catch (error) {
    events.warn(`Could not look for schedules of deployment '${record.name}': ${(error as Error).message}`);
    return [];
  }
  const moved: string[] = [];
  for (const info of schedules) {
    if (info.deployment.name !== record.name || info.deployment.version >= record.version) continue;
    try {
      const request = await prepareRequest(
        project,
        scheduling,
        stack,
        record,
        scheduleRequest(info.name, info.spec, record, info.parameters, info.flexibleWindowMinutes, info.enabled),
      );
      await scheduling.updateSchedule(request, context);
      events.info(`Schedule '${info.name}' now runs version ${record.version} of deployment '${record.name}'.`);
      moved.push(info.name);
    } catch (error) {
      events.warn(
        `Schedule '${info.name}' still runs version ${info.deployment.version} of deployment '${record.name}': ${(error as Error).message}. Fix it with \`stackyard schedule update ${info.name} --deployment ${record.name} [-p name=value ...]\`.`,
      );
    }
  }
  return moved;
}

/** Deletes a schedule from the orchestrator that keeps it. */
export async function deleteScheduleInProject(project: Project, name: string, events: RunEvents = stderrEvents()): Promise<void> {
  const { site } = await findSchedule(project, name, events);
  await site.scheduling.deleteSchedule(name, site.context);
}
