import { ConfigError } from "../errors/errors.js";

/**
 * When a schedule fires, checked and normalised: a five-field cron
 * expression or a fixed interval, in an IANA time zone, between optional
 * start and end instants. What `stackyard schedule create` checks before any
 * call to an orchestrator, and what a schedulable orchestrator receives.
 */
export interface ScheduleSpec {
  /** Five-field cron (`minute hour day-of-month month day-of-week`), as given. */
  cron?: string;
  /** A fixed interval: every `value` `unit`s. */
  every?: { value: number; unit: "minutes" | "hours" | "days" };
  /** IANA time zone the cron expression is read in (default `UTC`). */
  timezone: string;
  /** ISO 8601 instants the schedule is active between. */
  start?: string;
  end?: string;
}

/** What `schedule create` is given, before checking. */
export interface ScheduleInput {
  cron?: string | undefined;
  every?: string | undefined;
  timezone?: string | undefined;
  start?: string | undefined;
  end?: string | undefined;
}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day of week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
] as const;

const quote = (value: string) => JSON.stringify(value);

/** One cron field checked: `*`, `?` (days only), values, names, ranges, lists and `/steps`. */
function checkField(text: string, index: number, expression: string): void {
  const field = FIELDS[index]!;
  const where = `the ${field.name} field ${quote(text)} of cron expression ${quote(expression)}`;
  const value = (raw: string): number => {
    const names: readonly string[] = "names" in field ? field.names : [];
    const named = names.indexOf(raw.toUpperCase());
    if (named >= 0) return named + field.min;
    if (!/^\d+$/.test(raw)) throw new ConfigError(`Invalid ${where}: '${raw}' is not a number${names.length ? ` or a name (${names.join(", ")})` : ""}`);
    const n = Number(raw);
    if (n < field.min || n > field.max) throw new ConfigError(`Invalid ${where}: ${n} is outside ${field.min}-${field.max}`);
    return n;
  };
  if (text === "?" && (index === 2 || index === 4)) return;
  for (const part of text.split(",")) {
    const [range, step, extra] = part.split("/");
    if (extra !== undefined || range === undefined || range === "") throw new ConfigError(`Invalid ${where}: '${part}' is not a value, range or step`);
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) < 1))
      throw new ConfigError(`Invalid ${where}: the step '/${step}' must be a whole number from 1`);
    if (range === "*") continue;
    const [from, to, more] = range.split("-");
    if (more !== undefined) throw new ConfigError(`Invalid ${where}: '${range}' is not a range`);
    const low = value(from!);
    if (to !== undefined && value(to) < low) throw new ConfigError(`Invalid ${where}: the range '${range}' runs backwards`);
  }
}

/**
 * Checks a five-field cron expression (`0 3 * * *`: 03:00 every day).
 *
 * @throws ConfigError naming the field and the value that is wrong.
 */
export function checkCron(expression: string): string {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw new ConfigError(
      `Invalid cron expression ${quote(expression)}: it has ${fields.length} field${fields.length === 1 ? "" : "s"}; give five: minute hour day-of-month month day-of-week (e.g. "0 3 * * *" for 03:00 every day)`,
    );
  }
  for (const [i, field] of fields.entries()) checkField(field, i, expression);
  return fields.join(" ");
}

/**
 * Checks an IANA time zone name (`Europe/Berlin`, `UTC`).
 *
 * @throws ConfigError naming it.
 */
export function checkTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat("en", { timeZone: timezone });
  } catch {
    throw new ConfigError(`Unknown time zone ${quote(timezone)}: give an IANA name such as Europe/Berlin, America/New_York or UTC`);
  }
  return timezone;
}

const UNITS: Record<string, "minutes" | "hours" | "days"> = {
  m: "minutes",
  min: "minutes",
  minute: "minutes",
  minutes: "minutes",
  h: "hours",
  hour: "hours",
  hours: "hours",
  d: "days",
  day: "days",
  days: "days",
};

/**
 * Checks an interval: `15m`, `2h`, `1d`, `30 minutes`.
 *
 * @throws ConfigError quoting it.
 */
export function parseEvery(text: string): { value: number; unit: "minutes" | "hours" | "days" } {
  const match = /^\s*(\d+)\s*([a-z]+)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || !unit || Number(match[1]) < 1) {
    throw new ConfigError(`Invalid interval ${quote(text)}: give a whole number from 1 and a unit, e.g. 15m, 2h, 1d or "30 minutes"`);
  }
  return { value: Number(match[1]), unit };
}

function checkInstant(text: string, flag: string): string {
  const time = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time)) {
    throw new ConfigError(`Invalid ${flag} ${quote(text)}: give an ISO 8601 date and time, e.g. 2027-01-01T03:00:00Z`);
  }
  return new Date(time).toISOString();
}

/**
 * Checks what a schedule is given: exactly one of cron and every, a time
 * zone, start before end. Nothing is called before this passes.
 *
 * @throws ConfigError naming what is wrong.
 */
export function parseScheduleSpec(input: ScheduleInput): ScheduleSpec {
  if ((input.cron === undefined) === (input.every === undefined)) {
    throw new ConfigError("A schedule needs exactly one of --cron EXPR and --every DURATION", {
      hint: 'For example --cron "0 3 * * *" --timezone Europe/Berlin (03:00 Berlin time, daily), or --every 6h.',
    });
  }
  const spec: ScheduleSpec = { timezone: checkTimezone(input.timezone ?? "UTC") };
  if (input.cron !== undefined) spec.cron = checkCron(input.cron);
  if (input.every !== undefined) spec.every = parseEvery(input.every);
  if (input.start !== undefined) spec.start = checkInstant(input.start, "--start");
  if (input.end !== undefined) spec.end = checkInstant(input.end, "--end");
  if (spec.start && spec.end && spec.start >= spec.end) throw new ConfigError(`--start ${input.start} is not before --end ${input.end}`);
  return spec;
}
