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

/** What {@link nextFireTimes} is asked. */
export interface NextFireOptions {
  /** Fire times strictly after this instant (usually now). */
  after: Date;
  /** How many fire times at most (default 1). */
  count?: number | undefined;
  /**
   * When the schedule was created (an ISO 8601 string or a Date): the first
   * fire of an interval schedule that has no `start`. Without it such a
   * schedule's fire times are not known and none are returned.
   */
  created?: Date | string | undefined;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const INTERVAL_MS = { minutes: MINUTE, hours: HOUR, days: DAY } as const;

/** A checked cron expression as tables of the values each field selects. */
interface CronTables {
  minutes: number[];
  hours: number[];
  daysOfMonth: boolean[];
  months: boolean[];
  daysOfWeek: boolean[];
  /** The day field is `*` or `?`: it selects every day. */
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

/**
 * The values a checked cron field selects: `N/step` runs from N to the
 * field's end, `*` in the day of week is 0-6, and 7 is Sunday (0) again.
 */
function fieldValues(text: string, index: number): boolean[] {
  const field = FIELDS[index]!;
  const names: readonly string[] = "names" in field ? field.names : [];
  const value = (raw: string) => (/^\d+$/.test(raw) ? Number(raw) : names.indexOf(raw.toUpperCase()) + field.min);
  const selected = new Array<boolean>(field.max + 1).fill(false);
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/") as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    let low: number;
    let high: number;
    if (range === "*" || range === "?") {
      low = field.min;
      high = index === 4 ? 6 : field.max;
    } else {
      const [from, to] = range.split("-") as [string, string | undefined];
      low = value(from);
      high = to !== undefined ? value(to) : stepText !== undefined ? field.max : low;
    }
    for (let v = low; v <= high; v += step) selected[v] = true;
  }
  if (index === 4 && selected[7]) selected[0] = true;
  return selected;
}

function cronTables(expression: string): CronTables {
  const fields = checkCron(expression).split(" ");
  const list = (selected: boolean[]) => selected.flatMap((on, v) => (on ? [v] : []));
  const open = (text: string) => text === "*" || text === "?";
  return {
    minutes: list(fieldValues(fields[0]!, 0)),
    hours: list(fieldValues(fields[1]!, 1)),
    daysOfMonth: fieldValues(fields[2]!, 2),
    months: fieldValues(fields[3]!, 3),
    daysOfWeek: fieldValues(fields[4]!, 4),
    anyDayOfMonth: open(fields[2]!),
    anyDayOfWeek: open(fields[4]!),
  };
}

/** Whether a date is one of the cron's days: both day fields open, the one restricted, or (both restricted) either. */
function dayMatches(cron: CronTables, year: number, month: number, day: number): boolean {
  if (cron.anyDayOfMonth && cron.anyDayOfWeek) return true;
  const ofWeek = cron.daysOfWeek[new Date(Date.UTC(year, month - 1, day)).getUTCDay()] === true;
  if (cron.anyDayOfMonth) return ofWeek;
  const ofMonth = cron.daysOfMonth[day] === true;
  return cron.anyDayOfWeek ? ofMonth : ofMonth || ofWeek;
}

/**
 * The first wall-clock minute at or after `from` (wall-clock times are held
 * as if they were UTC instants) that the cron selects, stepping by month,
 * day, hour and minute; undefined when none comes before `limit`.
 */
function nextMatch(cron: CronTables, from: number, limit: number): number | undefined {
  let t = from;
  while (t <= limit) {
    const d = new Date(t);
    const [year, month, day, hour, minute] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
    if (!cron.months[month]) {
      t = Date.UTC(year, month, 1);
    } else if (!dayMatches(cron, year, month, day)) {
      t = Date.UTC(year, month - 1, day + 1);
    } else if (!cron.hours.includes(hour)) {
      const next = cron.hours.find((h) => h > hour);
      t = next === undefined ? Date.UTC(year, month - 1, day + 1) : Date.UTC(year, month - 1, day, next);
    } else if (!cron.minutes.includes(minute)) {
      const next = cron.minutes.find((m) => m > minute);
      t = next === undefined ? Date.UTC(year, month - 1, day, hour + 1) : Date.UTC(year, month - 1, day, hour, next);
    } else {
      return t;
    }
  }
  return undefined;
}

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock time in a zone at an instant (to the second), held as if it were a UTC instant. */
function wallClock(instant: number, timeZone: string): number {
  let format = wallClockFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    wallClockFormats.set(timeZone, format);
  }
  const part: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(instant)) part[type] = Number(value);
  return Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!);
}

/**
 * The instant a zone's clock shows a wall-clock time: the earlier one when
 * the clock shows it twice (the hour repeated when it goes back), undefined
 * when it never does (the hour skipped when it goes forward).
 */
function instantOf(wall: number, timeZone: string): number | undefined {
  let earliest: number | undefined;
  // The zone's offsets a day either side cover both sides of a change of offset.
  for (const probe of [wall - DAY, wall, wall + DAY]) {
    const instant = wall - (wallClock(probe, timeZone) - Math.floor(probe / 1000) * 1000);
    if (wallClock(instant, timeZone) === wall && (earliest === undefined || instant < earliest)) earliest = instant;
  }
  return earliest;
}

/** How far ahead to look for a cron's next match: leap days can be eight years apart (2096, 2104). */
const CRON_HORIZON = 11 * 366 * DAY;

/**
 * The next times a schedule fires after a given instant, as EventBridge
 * Scheduler fires them: at most `count`, none before the spec's `start` and
 * none at or after its `end` (an empty list once the end has passed).
 *
 * A cron expression is read in the spec's IANA time zone, with the cron
 * rules {@link checkCron} accepts: `*`, values, month and day names, ranges,
 * lists and steps (`N/step` runs from N to the field's end), days of the week
 * 0-7 from Sunday (7 is Sunday again); when both day fields are restricted a
 * day matching either fires (EventBridge itself refuses such an expression).
 * Daylight saving time is handled as EventBridge Scheduler documents it: a
 * time the clock skips when it goes forward does not fire that day (`30 2 * * *`
 * in Europe/Berlin does not fire on the day 02:00 becomes 03:00), and a time
 * the clock shows twice when it goes back fires once (EventBridge says only
 * that it does not repeat; the first occurrence is taken here). Wall-clock
 * times are turned into instants with `Intl.DateTimeFormat` alone.
 *
 * An interval (`every`) fires at `start`, then every interval after it, in
 * elapsed time (a day is 24 hours, whatever the clock does). Without a
 * `start`, EventBridge starts counting when the schedule is created: pass
 * `options.created`; without either the times are not known and the list is
 * empty.
 *
 * The search steps by month, day, hour and minute, so a yearly cron costs
 * about as little as an hourly one.
 *
 * @example
 * ```ts
 * const spec = parseScheduleSpec({ cron: "0 3 * * *", timezone: "Europe/Berlin" });
 * nextFireTimes(spec, { after: new Date("2027-03-27T12:00:00Z"), count: 2 });
 * // [2027-03-28T01:00:00.000Z (03:00 CEST), 2027-03-29T01:00:00.000Z]
 * ```
 *
 * @see https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html (daylight saving time, rate-based schedules)
 * @throws ConfigError for a cron expression or time zone {@link parseScheduleSpec} would refuse.
 */
export function nextFireTimes(spec: ScheduleSpec, options: NextFireOptions): Date[] {
  const count = options.count ?? 1;
  const start = spec.start !== undefined ? Date.parse(spec.start) : undefined;
  const end = spec.end !== undefined ? Date.parse(spec.end) : undefined;
  // The earliest instant a fire time may have: after `after`, not before `start`.
  const from = Math.max(options.after.getTime() + 1, start ?? Number.NEGATIVE_INFINITY);
  const fires: Date[] = [];
  const push = (instant: number) => {
    if (end !== undefined && instant >= end) return false;
    fires.push(new Date(instant));
    return fires.length < count;
  };
  if (count < 1 || Number.isNaN(from) || (end !== undefined && from >= end)) return fires;
  if (spec.every) {
    const created = options.created === undefined ? undefined : new Date(options.created).getTime();
    const anchor = start ?? created;
    if (anchor === undefined || Number.isNaN(anchor)) return fires;
    const interval = spec.every.value * INTERVAL_MS[spec.every.unit];
    for (let k = from <= anchor ? 0 : Math.ceil((from - anchor) / interval); push(anchor + k * interval); k++);
    return fires;
  }
  if (spec.cron === undefined) throw new ConfigError("A schedule needs a cron expression or an interval");
  const cron = cronTables(spec.cron);
  const timeZone = checkTimezone(spec.timezone ?? "UTC");
  const lastWall = end !== undefined ? wallClock(end, timeZone) + DAY : Number.POSITIVE_INFINITY;
  // Wall-clock minutes only grow with their instants (a repeated time counts once, at its first
  // instant), so the search starts at the wall-clock time of `from` and skips what is still before it.
  let wall = Math.floor(wallClock(from, timeZone) / MINUTE) * MINUTE;
  for (;;) {
    const match = nextMatch(cron, wall, Math.min(wall + CRON_HORIZON, lastWall));
    if (match === undefined) return fires;
    const instant = instantOf(match, timeZone);
    if (instant !== undefined && instant >= from && !push(instant)) return fires;
    wall = match + MINUTE;
  }
}
