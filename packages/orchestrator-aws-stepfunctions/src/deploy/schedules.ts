import type { CreateScheduleCommandInput, GetScheduleCommandOutput } from "@aws-sdk/client-scheduler";
import { ConfigError, type ScheduleInfo, type ScheduleRequest, type ScheduleSpec } from "@stackyard/core";
import { shortHash } from "../compiler/names.js";
import { executionInput, INPUT_KEY, parseExecutionInput, type StepFunctionsDeploymentDetails } from "./execution-input.js";

/**
 * Schedules as Amazon EventBridge Scheduler keeps them: a Stackyard schedule
 * becomes one EventBridge schedule named `<prefix><name>` whose target is the
 * deployment's state machine and whose input is a run's execution input
 * (`stackyard.schedule` set, no run name: each execution is named by
 * Step Functions). What EventBridge does not keep itself (the cron
 * expression as given, the deployment) is in the schedule's description.
 */

const quote = (value: string) => JSON.stringify(value);

/** EventBridge schedule names: 1-64 characters of letters, digits, `.`, `-` and `_`. */
const MAX_NAME = 64;

/** The EventBridge name of a schedule: `<prefix><name>`, unsafe characters as `-`, at most 64 characters. */
export function eventBridgeScheduleName(prefix: string, name: string): string {
  const full = `${prefix}${name}`.replace(/[^A-Za-z0-9_.-]/g, "-");
  return full.length <= MAX_NAME ? full : `${full.slice(0, MAX_NAME - 9)}-${shortHash(full)}`;
}

const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIELD_MIN = [0, 0, 1, 1, 0];
const FIELD_MAX = [59, 23, 31, 12, 7];

/** A field's value: a number, or a month or day name. */
function fieldValue(raw: string, index: number): number {
  if (/^\d+$/.test(raw)) return Number(raw);
  const upper = raw.toUpperCase();
  if (index === 4) return DAY_NAMES.indexOf(upper);
  return ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].indexOf(upper) + 1;
}

/** Every value a (checked) cron field selects. */
function expand(field: string, index: number): number[] {
  const values = new Set<number>();
  for (const part of field.split(",")) {
    const [range, stepText] = part.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let low: number;
    let high: number;
    if (range === "*") {
      low = FIELD_MIN[index]!;
      high = index === 4 ? 6 : FIELD_MAX[index]!;
    } else {
      const [from, to] = range.split("-") as [string, string | undefined];
      low = fieldValue(from, index);
      high = to === undefined ? (stepText === undefined ? low : FIELD_MAX[index]!) : fieldValue(to, index);
    }
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

/** Consecutive numbers as ranges: `2,3,4,6` -> `2-4,6`. */
function compress(values: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j]! + 1) j++;
    parts.push(j - i >= 2 ? `${values[i]}-${values[j]}` : values.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * A minute, hour, day-of-month or month field as EventBridge reads it:
 * `*` and plain values, ranges and lists stay; `*\/N` starts from the field's
 * first value (`0/15`); any other step becomes the list of values it selects.
 */
function plainField(field: string, index: number): string {
  if (!field.includes("/")) return field.toUpperCase();
  if (/^\*\/\d+$/.test(field)) return `${FIELD_MIN[index]}${field.slice(1)}`;
  return compress(expand(field, index));
}

/**
 * The day-of-week field as EventBridge reads it: days 1-7 from Sunday (cron's
 * 0-7 from Sunday, 7 being Sunday again), as the list of days it selects.
 */
function weekdayField(field: string): string {
  const days = [...new Set(expand(field, 4).map((d) => (d % 7) + 1))].sort((a, b) => a - b);
  return compress(days);
}

/**
 * The schedule expression EventBridge Scheduler keeps for a spec:
 * `cron(min hour day-of-month month day-of-week year)` with `?` in the day
 * field left open (EventBridge needs one of the two), or
 * `rate(N minutes|hours|days)`.
 *
 * @throws ConfigError when the cron expression restricts both day fields, which EventBridge cannot combine.
 */
export function eventBridgeExpression(spec: ScheduleSpec): string {
  if (spec.every) {
    const { value, unit } = spec.every;
    return `rate(${value} ${value === 1 ? unit.slice(0, -1) : unit})`;
  }
  if (!spec.cron) throw new ConfigError("A schedule needs a cron expression or an interval");
  const fields = spec.cron.trim().split(/\s+/);
  if (fields.length !== 5) throw new ConfigError(`Invalid cron expression ${quote(spec.cron)}: give five fields`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields as [string, string, string, string, string];
  const open = (field: string) => field === "*" || field === "?";
  if (!open(dayOfMonth) && !open(dayOfWeek)) {
    throw new ConfigError(
      `Cron expression ${quote(spec.cron)} restricts both the day of the month (${dayOfMonth}) and the day of the week (${dayOfWeek}), which EventBridge Scheduler cannot combine`,
      { hint: "Keep one of the two day fields '*', or make two schedules." },
    );
  }
  const days = open(dayOfMonth) ? (open(dayOfWeek) ? "*" : "?") : plainField(dayOfMonth, 2);
  const weekdays = open(dayOfWeek) ? "?" : weekdayField(dayOfWeek);
  return `cron(${plainField(minute, 0)} ${plainField(hour, 1)} ${days} ${plainField(month, 3)} ${weekdays} *)`;
}

/** EventBridge's flexible time window: off, or up to this many minutes (1-1440) after the set time. */
export function flexibleTimeWindow(minutes: number | undefined): { Mode: "OFF" } | { Mode: "FLEXIBLE"; MaximumWindowInMinutes: number } {
  if (!minutes) return { Mode: "OFF" };
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    throw new ConfigError(`Invalid flexible window ${minutes}: give a whole number of minutes from 1 to 1440 (or 0 for on time)`);
  }
  return { Mode: "FLEXIBLE", MaximumWindowInMinutes: minutes };
}

/** What a schedule's description keeps besides what EventBridge keeps itself. */
export interface ScheduleFacts {
  deployment: string;
  version: number;
  cron?: string;
  every?: ScheduleSpec["every"];
}

const MAX_DESCRIPTION = 512;

/** The description of a schedule: `{"stackyard": {...facts}}`, within EventBridge's 512 characters. */
export function scheduleDescription(facts: ScheduleFacts): string {
  const full = JSON.stringify({ [INPUT_KEY]: facts });
  if (full.length <= MAX_DESCRIPTION) return full;
  const { cron: _cron, ...rest } = facts;
  return JSON.stringify({ [INPUT_KEY]: rest });
}

/** The facts of a schedule's description, or undefined when Stackyard did not write it. */
export function parseScheduleDescription(text: string | undefined): Partial<ScheduleFacts> | undefined {
  if (!text) return undefined;
  try {
    const facts = (JSON.parse(text) as Record<string, unknown>)[INPUT_KEY] as Record<string, unknown> | undefined;
    if (!facts || typeof facts !== "object") return undefined;
    return {
      ...(typeof facts.deployment === "string" ? { deployment: facts.deployment } : {}),
      ...(typeof facts.version === "number" ? { version: facts.version } : {}),
      ...(typeof facts.cron === "string" ? { cron: facts.cron } : {}),
      ...(facts.every && typeof facts.every === "object" ? { every: facts.every as ScheduleSpec["every"] } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Where a schedule goes: the orchestrator's names, group and role. */
export interface ScheduleTarget {
  /** EventBridge name (`<prefix><name>`). */
  scheduleName: string;
  groupName: string;
  /** Role EventBridge Scheduler assumes to start executions. */
  roleArn: string;
  deployment: StepFunctionsDeploymentDetails;
}

/**
 * The CreateSchedule (and UpdateSchedule) request of a schedule: its
 * expression, time zone, window, state, start and end, and a target that
 * starts the deployment's state machine with a run's execution input.
 *
 * @throws ConfigError when the spec cannot be written for EventBridge.
 */
export function scheduleCommandInput(request: ScheduleRequest, target: ScheduleTarget): CreateScheduleCommandInput {
  const parameters = request.parameters ?? {};
  const input = executionInput(target.deployment.executionInput, {
    snapshot: request.snapshotUri,
    deployment: request.deployment.name,
    deployment_version: request.deployment.version,
    schedule: request.name,
    // Shown in the console and by `schedule describe`; the steps read them from the snapshot. Big ones stay out.
    ...(JSON.stringify(parameters).length <= 8192 ? { parameters } : {}),
  });
  const facts: ScheduleFacts = {
    deployment: request.deployment.name,
    version: request.deployment.version,
    ...(request.spec.cron !== undefined ? { cron: request.spec.cron } : {}),
    ...(request.spec.every !== undefined ? { every: request.spec.every } : {}),
  };
  return {
    Name: target.scheduleName,
    GroupName: target.groupName,
    Description: scheduleDescription(facts),
    ScheduleExpression: eventBridgeExpression(request.spec),
    ScheduleExpressionTimezone: request.spec.timezone,
    FlexibleTimeWindow: flexibleTimeWindow(request.flexibleWindowMinutes),
    State: request.enabled ? "ENABLED" : "DISABLED",
    ...(request.spec.start !== undefined ? { StartDate: new Date(request.spec.start) } : {}),
    ...(request.spec.end !== undefined ? { EndDate: new Date(request.spec.end) } : {}),
    Target: { Arn: target.deployment.stateMachineArn, RoleArn: target.roleArn, Input: JSON.stringify(input) },
  };
}

/** `rate(6 hours)` back as an interval. */
function parseRate(expression: string): ScheduleSpec["every"] | undefined {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  return match ? { value: Number(match[1]), unit: `${match[2]}s` as "minutes" | "hours" | "days" } : undefined;
}

const iso = (value: Date | string | number | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
};

/**
 * A Stackyard schedule read back from GetSchedule: its name, deployment,
 * snapshot and parameters from the target's input, the spec as given from
 * the description. Undefined for schedules Stackyard did not make.
 */
export function scheduleInfoFrom(schedule: GetScheduleCommandOutput | Omit<GetScheduleCommandOutput, "$metadata">): ScheduleInfo | undefined {
  const input = parseExecutionInput(schedule.Target?.Input);
  if (!input?.schedule) return undefined;
  const facts = parseScheduleDescription(schedule.Description) ?? {};
  const expression = schedule.ScheduleExpression ?? "";
  const every = facts.every ?? parseRate(expression);
  const start = iso(schedule.StartDate);
  const end = iso(schedule.EndDate);
  const spec: ScheduleSpec = {
    ...(facts.cron !== undefined ? { cron: facts.cron } : every ? { every } : {}),
    timezone: schedule.ScheduleExpressionTimezone ?? "UTC",
    ...(start ? { start } : {}),
    ...(end ? { end } : {}),
  };
  const window = schedule.FlexibleTimeWindow;
  const version = input.deployment_version ?? facts.version;
  const created = iso(schedule.CreationDate);
  const updated = iso(schedule.LastModificationDate);
  return {
    name: input.schedule,
    spec,
    deployment: { name: input.deployment ?? facts.deployment ?? "", version: version ?? 0 },
    snapshotUri: input.snapshot,
    parameters: input.parameters ?? {},
    ...(window?.Mode === "FLEXIBLE" && window.MaximumWindowInMinutes ? { flexibleWindowMinutes: window.MaximumWindowInMinutes } : {}),
    enabled: schedule.State !== "DISABLED",
    expression,
    ...(schedule.Target?.Arn ? { target: schedule.Target.Arn } : {}),
    ...(created ? { created } : {}),
    ...(updated ? { updated } : {}),
    details: {
      ...(schedule.Arn ? { arn: schedule.Arn } : {}),
      ...(schedule.Name ? { scheduleName: schedule.Name } : {}),
      ...(schedule.GroupName ? { group: schedule.GroupName } : {}),
      ...(schedule.Target?.RoleArn ? { roleArn: schedule.Target.RoleArn } : {}),
    },
  };
}
