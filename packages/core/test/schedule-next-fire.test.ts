import { describe, expect, it } from "vitest";
import { ConfigError, nextFireTimes, parseScheduleSpec, type ScheduleInput } from "../src/index.js";

/** The next fire times of a schedule as ISO instants. */
function next(input: ScheduleInput, after: string, count = 1, created?: string): string[] {
  return nextFireTimes(parseScheduleSpec(input), { after: new Date(after), count, created }).map((d) => d.toISOString());
}

describe("next fire times of a cron schedule", () => {
  it("fires at 03:00 Berlin time across both changes of the clock in 2027 (UTC+1, then UTC+2 from 28 March, UTC+1 again from 31 October)", () => {
    const berlin = { cron: "0 3 * * *", timezone: "Europe/Berlin" };
    expect(next(berlin, "2027-03-26T12:00:00Z", 3)).toEqual(["2027-03-27T02:00:00.000Z", "2027-03-28T01:00:00.000Z", "2027-03-29T01:00:00.000Z"]);
    expect(next(berlin, "2027-10-29T12:00:00Z", 3)).toEqual(["2027-10-30T01:00:00.000Z", "2027-10-31T02:00:00.000Z", "2027-11-01T02:00:00.000Z"]);
  });

  it("skips a time the clock jumps over and fires a time it shows twice once, at its first occurrence, as EventBridge Scheduler does", () => {
    const berlin = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
    // 28 March 2027: 02:00 becomes 03:00, there is no 02:30.
    expect(next(berlin, "2027-03-27T00:00:00Z", 2)).toEqual(["2027-03-27T01:30:00.000Z", "2027-03-29T00:30:00.000Z"]);
    // 31 October 2027: 03:00 becomes 02:00, 02:30 comes twice (00:30Z and 01:30Z): it fires at the first.
    expect(next(berlin, "2027-10-30T12:00:00Z", 2)).toEqual(["2027-10-31T00:30:00.000Z", "2027-11-01T01:30:00.000Z"]);
    expect(next({ cron: "*/30 2 * * *", timezone: "Europe/Berlin" }, "2027-10-30T12:00:00Z", 3)).toEqual([
      "2027-10-31T00:00:00.000Z",
      "2027-10-31T00:30:00.000Z",
      "2027-11-01T01:00:00.000Z",
    ]);
    // Asked from inside the repeated hour's second pass (01:40Z is 02:40 again): 02:45 has fired already.
    expect(next({ cron: "45 2 * * *", timezone: "Europe/Berlin" }, "2027-10-31T01:40:00Z")).toEqual(["2027-11-01T01:45:00.000Z"]);
  });

  it("fires every quarter hour from 09:00 to 17:45 on weekdays in New York, over a weekend and the change to daylight saving time", () => {
    const office = { cron: "*/15 9-17 * * 1-5", timezone: "America/New_York" };
    // Friday 12 March 2027, 17:40 EST; clocks go forward on Sunday 14 March.
    expect(next(office, "2027-03-12T22:40:00Z", 3)).toEqual(["2027-03-12T22:45:00.000Z", "2027-03-15T13:00:00.000Z", "2027-03-15T13:15:00.000Z"]);
    expect(next(office, "2027-03-15T13:00:00Z")).toEqual(["2027-03-15T13:15:00.000Z"]);
  });

  it("finds a leap day years ahead, and nothing for a day that never comes", () => {
    expect(next({ cron: "0 0 29 2 *" }, "2027-01-01T00:00:00Z", 2)).toEqual(["2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"]);
    // 2100 is no leap year.
    expect(next({ cron: "0 0 29 2 *" }, "2096-03-01T00:00:00Z")).toEqual(["2104-02-29T00:00:00.000Z"]);
    expect(next({ cron: "0 0 31 2 *" }, "2027-01-01T00:00:00Z")).toEqual([]);
  });

  it("reads names, ranges, lists, steps and day 7 as cron does", () => {
    const after = "2027-01-01T00:00:00Z"; // a Friday
    expect(next({ cron: "0 12 * * SUN" }, after)).toEqual(["2027-01-03T12:00:00.000Z"]);
    expect(next({ cron: "0 12 * * 7" }, after)).toEqual(["2027-01-03T12:00:00.000Z"]);
    expect(next({ cron: "5/20 6 1 JAN,JUL *" }, after, 4)).toEqual([
      "2027-01-01T06:05:00.000Z",
      "2027-01-01T06:25:00.000Z",
      "2027-01-01T06:45:00.000Z",
      "2027-07-01T06:05:00.000Z",
    ]);
    // Both day fields restricted: a day matching either fires (the 13th, or a Friday).
    expect(next({ cron: "0 0 13 * 5" }, after, 3)).toEqual(["2027-01-08T00:00:00.000Z", "2027-01-13T00:00:00.000Z", "2027-01-15T00:00:00.000Z"]);
  });

  it("fires nothing before the start and nothing at or after the end", () => {
    expect(next({ cron: "0 3 * * *", start: "2027-06-15T12:00:00Z" }, "2027-01-01T00:00:00Z")).toEqual(["2027-06-16T03:00:00.000Z"]);
    expect(next({ cron: "0 3 * * *", start: "2027-06-15T03:00:00Z" }, "2027-01-01T00:00:00Z")).toEqual(["2027-06-15T03:00:00.000Z"]);
    expect(next({ cron: "0 3 * * *", end: "2026-01-01T00:00:00Z" }, "2027-01-01T00:00:00Z")).toEqual([]);
    expect(next({ cron: "0 3 * * *", end: "2027-01-03T03:00:00Z" }, "2027-01-01T00:00:00Z", 5)).toEqual([
      "2027-01-01T03:00:00.000Z",
      "2027-01-02T03:00:00.000Z",
    ]);
  });

  it("steps by field: ten leap days, 37 years ahead, take well under a second", () => {
    const began = performance.now();
    const fires = next({ cron: "0 0 29 2 *", timezone: "Europe/Berlin" }, "2027-01-01T00:00:00Z", 10);
    expect(fires).toHaveLength(10);
    expect(fires[9]).toBe("2064-02-28T23:00:00.000Z");
    expect(performance.now() - began).toBeLessThan(1000);
  });

  it("refuses an expression parseScheduleSpec would refuse", () => {
    expect(() => nextFireTimes({ cron: "0 25 * * *", timezone: "UTC" }, { after: new Date() })).toThrow(ConfigError);
    expect(() => nextFireTimes({ cron: "0 3 * * *", timezone: "Mars/Olympus" }, { after: new Date() })).toThrow(/Unknown time zone/);
  });
});

describe("next fire times of an interval schedule", () => {
  it("fires at the start, then every interval after it", () => {
    const sixHours = { every: "6h", start: "2027-01-01T00:00:00Z" };
    expect(next(sixHours, "2026-12-01T00:00:00Z")).toEqual(["2027-01-01T00:00:00.000Z"]);
    expect(next(sixHours, "2027-01-01T13:00:00Z", 3)).toEqual(["2027-01-01T18:00:00.000Z", "2027-01-02T00:00:00.000Z", "2027-01-02T06:00:00.000Z"]);
    expect(next(sixHours, "2027-01-01T18:00:00Z")).toEqual(["2027-01-02T00:00:00.000Z"]);
    expect(next({ ...sixHours, end: "2027-01-01T12:00:00Z" }, "2027-01-01T01:00:00Z", 5)).toEqual(["2027-01-01T06:00:00.000Z"]);
  });

  it("counts a day as 24 hours, whatever the clock of its time zone does", () => {
    // 03:00 Berlin time on 27 March 2027; a day later the clocks show 04:00.
    expect(next({ every: "1d", timezone: "Europe/Berlin", start: "2027-03-27T02:00:00Z" }, "2027-03-27T12:00:00Z")).toEqual(["2027-03-28T02:00:00.000Z"]);
  });

  it("counts from its creation without a start, and knows nothing without either", () => {
    expect(next({ every: "15m" }, "2027-01-01T10:20:00Z", 2, "2027-01-01T10:00:00Z")).toEqual(["2027-01-01T10:30:00.000Z", "2027-01-01T10:45:00.000Z"]);
    expect(next({ every: "15m" }, "2027-01-01T10:20:00Z")).toEqual([]);
  });
});
