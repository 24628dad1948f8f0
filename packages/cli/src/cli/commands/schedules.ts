import { createInterface } from "node:readline/promises";
import type { ScheduleInfo } from "@stackyard/core";
import { ConfigError } from "@stackyard/core/errors";
import type { ScheduleOptions, ScheduleRecord } from "../../client/schedules.js";
import { info, printDetails, printJson, printTable } from "../output.js";
import { parseParamPairs } from "../params.js";
import { withProject } from "../with-project.js";

/** What `schedule create` and `schedule update` take on the command line. */
interface ScheduleFlags {
  deployment?: string;
  cron?: string;
  every?: string;
  timezone?: string;
  start?: string;
  end?: string;
  param?: string[];
  flexibleWindow?: string;
}

/** The flags as client options, checked with no call made (the window, the parameters' syntax). */
async function scheduleOptions(flags: ScheduleFlags): Promise<ScheduleOptions> {
  const { parseFlexibleWindow } = await import("../../client/schedules.js");
  const parameters = parseParamPairs(flags.param);
  const window = parseFlexibleWindow(flags.flexibleWindow);
  return {
    ...(flags.deployment !== undefined ? { deployment: flags.deployment } : {}),
    ...(flags.cron !== undefined ? { cron: flags.cron } : {}),
    ...(flags.every !== undefined ? { every: flags.every } : {}),
    ...(flags.timezone !== undefined ? { timezone: flags.timezone } : {}),
    ...(flags.start !== undefined ? { start: flags.start } : {}),
    ...(flags.end !== undefined ? { end: flags.end } : {}),
    ...(Object.keys(parameters).length ? { parameters } : {}),
    ...(window !== undefined ? { flexibleWindowMinutes: window } : {}),
  };
}

/** When a schedule fires, in a few words: `cron 0 3 * * *`, `every 6 hours`. */
function timing(schedule: ScheduleInfo): string {
  if (schedule.spec.cron !== undefined) return `cron ${schedule.spec.cron}`;
  if (schedule.spec.every) return `every ${schedule.spec.every.value} ${schedule.spec.every.unit}`;
  return schedule.expression;
}

const state = (schedule: ScheduleInfo) => (schedule.enabled ? "enabled" : "paused");

/** A fire time as the schedule's time zone's clock shows it: `2027-03-29 03:00`. */
function wallTime(time: Date, timeZone: string): string {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
  const part = Object.fromEntries(format.formatToParts(time).map(({ type, value }) => [type, value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
}

/** How long until a time, in round minutes, hours or days: `in 5 h`. */
function fromNow(time: Date, now: Date): string {
  const ms = time.getTime() - now.getTime();
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `in ${Math.max(1, minutes)} min`;
  const hours = Math.round(ms / 3_600_000);
  return hours < 48 ? `in ${hours} h` : `in ${Math.round(ms / 86_400_000)} d`;
}

/**
 * When a schedule fires next, in its time zone: `2027-03-29 03:00 (in 5 h)`,
 * then the other times given; or why it does not (`paused`, `ended`, `never`,
 * `not known`).
 */
function fireText(fires: Date[] | string, timeZone: string, now: Date): string {
  if (!Array.isArray(fires)) return fires;
  const [first, ...rest] = fires.map((time) => wallTime(time, timeZone));
  return [`${first} (${fromNow(fires[0]!, now)})`, ...rest].join(", ");
}

/** An interval schedule without a start: its times are counted from its creation, which an update may have restarted. */
const fromCreation = (schedule: ScheduleInfo) => schedule.spec.every !== undefined && schedule.spec.start === undefined;

/**
 * `stackyard schedule create NAME --deployment D (--cron EXPR | --every DURATION)
 * [--timezone TZ] [--start ISO] [--end ISO] [--flexible-window MINUTES] [-p key=value ...]`:
 * every input is checked (cron, time zone, interval, dates, window, the
 * deployment and its parameters, the orchestrator's own settings) before
 * anything is written; an orchestrator that cannot keep schedules is named.
 */
export async function createScheduleCommand(name: string, flags: ScheduleFlags & { deployment: string }): Promise<void> {
  const { parseScheduleSpec } = await import("@stackyard/core");
  parseScheduleSpec(flags);
  const options = await scheduleOptions(flags);
  await withProject(async (project) => {
    const { createScheduleInProject } = await import("../../client/schedules.js");
    const created = await createScheduleInProject(project, name, { ...options, deployment: flags.deployment });
    info(
      `Created schedule '${created.name}': deployment '${created.deployment.name}' version ${created.deployment.version}, ${timing(created)} (${created.expression}, ${created.spec.timezone}) on stack '${created.stack}'.`,
    );
  });
}

export async function listSchedulesCommand(opts: { json?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const { listSchedulesInProject } = await import("../../client/schedules.js");
    const schedules = await listSchedulesInProject(project);
    if (opts.json) {
      printJson(schedules);
      return;
    }
    const { scheduleFireTimes } = await import("../../client/schedules.js");
    const now = new Date();
    printTable(
      schedules.map((s) => {
        const fires = scheduleFireTimes(s, now);
        // `~`: counted from the schedule's creation.
        const approximate = Array.isArray(fires) && fromCreation(s) ? "~" : "";
        return {
          name: s.name,
          deployment: `${s.deployment.name}@${s.deployment.version}`,
          expression: s.expression,
          timezone: s.spec.timezone,
          state: state(s),
          next: approximate + fireText(fires, s.spec.timezone, now),
        };
      }),
      ["name", "deployment", "expression", "timezone", "state", "next"],
      "No schedules yet: stackyard schedule create NAME --deployment D --cron EXPR",
    );
  });
}

/** How many fire times `schedule describe` shows. */
const DESCRIBED_FIRES = 3;

async function printSchedule(schedule: ScheduleRecord): Promise<void> {
  const { scheduleFireTimes } = await import("../../client/schedules.js");
  const now = new Date();
  const fires = scheduleFireTimes(schedule, now, DESCRIBED_FIRES);
  const note = Array.isArray(fires) && fromCreation(schedule) ? " (counted from its creation; give --start for exact times)" : "";
  printDetails({
    name: schedule.name,
    deployment: schedule.deployment.name,
    version: schedule.deployment.version,
    stack: schedule.stack,
    orchestrator: schedule.orchestrator,
    when: timing(schedule),
    expression: schedule.expression,
    timezone: schedule.spec.timezone,
    ...(schedule.spec.start ? { start: schedule.spec.start } : {}),
    ...(schedule.spec.end ? { end: schedule.spec.end } : {}),
    "flexible window": schedule.flexibleWindowMinutes ? `${schedule.flexibleWindowMinutes} minutes` : "off",
    state: state(schedule),
    "next fire": fireText(fires, schedule.spec.timezone, now) + note,
    parameters: JSON.stringify(schedule.parameters),
    snapshot: schedule.snapshotUri,
    ...(schedule.target ? { target: schedule.target } : {}),
    ...(schedule.created ? { created: schedule.created } : {}),
    ...(schedule.updated ? { updated: schedule.updated } : {}),
  });
}

export async function describeScheduleCommand(name: string, opts: { json?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const { getScheduleInProject } = await import("../../client/schedules.js");
    const schedule = await getScheduleInProject(project, name);
    if (opts.json) printJson(schedule);
    else await printSchedule(schedule);
  });
}

/** `stackyard schedule update NAME [create's options]`: only what is given changes. */
export async function updateScheduleCommand(name: string, flags: ScheduleFlags): Promise<void> {
  if (flags.cron !== undefined && flags.every !== undefined)
    throw new ConfigError("A schedule needs exactly one of --cron EXPR and --every DURATION, not both");
  const options = await scheduleOptions(flags);
  if (!Object.keys(options).length) {
    throw new ConfigError(`Nothing to change for schedule '${name}'`, {
      hint: "Give what changes: --cron, --every, --timezone, --start, --end, --flexible-window, --deployment or -p name=value.",
    });
  }
  await withProject(async (project) => {
    const { updateScheduleInProject } = await import("../../client/schedules.js");
    const updated = await updateScheduleInProject(project, name, options);
    info(`Updated schedule '${updated.name}': ${timing(updated)} (${updated.expression}, ${updated.spec.timezone}), ${state(updated)}.`);
  });
}

/** `stackyard schedule pause|resume NAME`. */
export async function setScheduleEnabledCommand(name: string, enabled: boolean): Promise<void> {
  await withProject(async (project) => {
    const { updateScheduleInProject } = await import("../../client/schedules.js");
    await updateScheduleInProject(project, name, { enabled });
    info(enabled ? `Resumed schedule '${name}'.` : `Paused schedule '${name}': it fires nothing until \`stackyard schedule resume ${name}\`.`);
  });
}

/** `stackyard schedule delete NAME [--yes]`: asks first on a terminal; elsewhere needs --yes. */
export async function deleteScheduleCommand(name: string, opts: { yes?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const { deleteScheduleInProject, getScheduleInProject } = await import("../../client/schedules.js");
    const schedule = await getScheduleInProject(project, name);
    if (!opts.yes) {
      if (!process.stdin.isTTY) {
        throw new ConfigError(`Deleting schedule '${name}' needs confirmation`, {
          hint: `Run it on a terminal to be asked, or add --yes: stackyard schedule delete ${name} --yes`,
        });
      }
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await prompt.question(
        `Delete schedule '${name}' (deployment '${schedule.deployment.name}', ${timing(schedule)})? Runs it started are kept. [y/N] `,
      );
      prompt.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        info("Nothing deleted.");
        return;
      }
    }
    await deleteScheduleInProject(project, name);
    info(`Deleted schedule '${name}'.`);
  });
}
