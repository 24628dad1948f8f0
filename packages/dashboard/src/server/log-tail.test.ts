import type { RunRecord } from "@stackyard/core";
import { describe, expect, it } from "vitest";
import type { DashboardSource } from "../source.js";
import { completeEnd, logChunk } from "./log-tail.js";
import { LOG_LIMIT } from "./previews.js";

/** A source whose only log is `text` (a source without the byte-offset read: the tail slices the whole log). */
const withLog = (text: string) => ({ readStepLogs: async () => text }) as unknown as DashboardSource;
const run = { id: "r" } as RunRecord;

describe("the live log tail", () => {
  it("keeps a character cut off at the end for the next read", () => {
    const bytes = Buffer.from("aé€😀", "utf8");
    expect(completeEnd(bytes)).toBe(bytes.length);
    expect(completeEnd(bytes.subarray(0, bytes.length - 1))).toBe(bytes.length - 4);
    expect(completeEnd(bytes.subarray(0, 2))).toBe(1);
    expect(completeEnd(new Uint8Array())).toBe(0);
  });

  it("sends what follows the offset, and where to ask from next", async () => {
    const log = "héllo\nwörld\n";
    const first = await logChunk(withLog(log), run, "s", 0);
    expect(first).toEqual({ offset: 0, next: Buffer.byteLength(log), size: Buffer.byteLength(log), text: log, skipped: 0, reset: false });
    expect((await logChunk(withLog(log), run, "s", 7)).text).toBe("wörld\n");
    expect(await logChunk(withLog(log), run, "s", first.next)).toMatchObject({ text: "", next: first.next });
  });

  it("starts again from the start when the log got shorter than the offset", async () => {
    expect(await logChunk(withLog("new\n"), run, "s", 100)).toMatchObject({ reset: true, offset: 0, text: "new\n", next: 4 });
  });

  it("sends only the newest bytes when more are new, starting at a whole character, and says how many it left out", async () => {
    const log = "é".repeat(LOG_LIMIT);
    const chunk = await logChunk(withLog(log), run, "s", 0);
    expect(chunk.skipped).toBe(LOG_LIMIT);
    expect(chunk.text).toBe("é".repeat(LOG_LIMIT / 2));
    expect(chunk.next).toBe(2 * LOG_LIMIT);
  });
});
