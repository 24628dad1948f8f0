import { describe, expect, it } from "vitest";
import { ConfigError, checkCron, parseScheduleSpec } from "../src/index.js";

describe("schedule specs", () => {
  it("accepts five-field cron expressions and intervals, in UTC unless a time zone is given", () => {
    expect(parseScheduleSpec({ cron: "0 3 * * *", timezone: "Europe/Berlin" })).toEqual({ cron: "0 3 * * *", timezone: "Europe/Berlin" });
    expect(parseScheduleSpec({ cron: "*/15 8-18 * * 1-5" }).cron).toBe("*/15 8-18 * * 1-5");
    expect(parseScheduleSpec({ cron: "30 2 1 JAN,JUL *" }).cron).toBe("30 2 1 JAN,JUL *");
    expect(parseScheduleSpec({ every: "6h" }).every).toEqual({ value: 6, unit: "hours" });
    expect(parseScheduleSpec({ every: "1 day" }).every).toEqual({ value: 1, unit: "days" });
    expect(parseScheduleSpec({ cron: "0 3 * * *" }).timezone).toBe("UTC");
  });

  it("refuses bad expressions, time zones, intervals and dates, naming them", () => {
    const cases: Array<[Parameters<typeof parseScheduleSpec>[0], RegExp]> = [
      [{ cron: "0 3 * *" }, /cron expression "0 3 \* \*": it has 4 fields; give five/],
      [{ cron: "61 3 * * *" }, /the minute field "61".*61 is outside 0-59/],
      [{ cron: "0 3 * FOO *" }, /the month field "FOO".*'FOO' is not a number or a name \(JAN/],
      [{ cron: "0 5-3 * * *" }, /the hour field "5-3".*runs backwards/],
      [{ cron: "*/0 * * * *" }, /the step '\/0' must be a whole number from 1/],
      [{ cron: "0 3 * * *", timezone: "Mars/Olympus" }, /Unknown time zone "Mars\/Olympus"/],
      [{ every: "soon" }, /Invalid interval "soon"/],
      [{ every: "0m" }, /Invalid interval "0m"/],
      [{}, /exactly one of --cron EXPR and --every DURATION/],
      [{ cron: "0 3 * * *", every: "1h" }, /exactly one of/],
      [{ cron: "0 3 * * *", start: "tomorrow" }, /Invalid --start "tomorrow"/],
      [{ cron: "0 3 * * *", start: "2027-02-01T00:00:00Z", end: "2027-01-01T00:00:00Z" }, /is not before --end/],
    ];
    for (const [input, message] of cases) {
      expect(() => parseScheduleSpec(input), JSON.stringify(input)).toThrow(ConfigError);
      expect(() => parseScheduleSpec(input), JSON.stringify(input)).toThrow(message);
    }
    expect(checkCron(" 0  3 * * * ")).toBe("0 3 * * *");
  });
});
