import type { RunRecord } from "@stackyard/core";
import type { DashboardSource, LogSlice } from "../source.js";
import { LOG_LIMIT } from "./previews.js";

/** Where the last complete UTF-8 character of `bytes` ends: a character cut off at the end waits for the next read. */
export function completeEnd(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 4); i--) {
    const c = bytes[i]!;
    if ((c & 0xc0) === 0x80) continue;
    const length = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return i + length <= bytes.length ? bytes.length : i;
  }
  return bytes.length;
}

/** What the live tail answers: the log's text from byte `offset` to `next`, and what it left out before it. */
export interface LogChunk {
  /** The byte offset `text` starts at. */
  offset: number;
  /** The offset to ask from next time. */
  next: number;
  /** The log's size in bytes so far. */
  size: number;
  text: string;
  /** Bytes after the asked offset left out (more than {@link LOG_LIMIT} were new). */
  skipped: number;
  /** The log was rewritten shorter than the asked offset: `text` starts again from its start. */
  reset: boolean;
}

/**
 * The part of a step's log from byte `from` on (at most {@link LOG_LIMIT}
 * bytes, its newest), cut at whole UTF-8 characters. Reads through the
 * source's byte-offset read when it has one, else slices the whole log.
 */
export async function logChunk(source: DashboardSource, run: RunRecord, stepId: string, from: number): Promise<LogChunk> {
  const read = async (offset: number): Promise<LogSlice | undefined> => {
    if (source.readStepLogFrom) return source.readStepLogFrom(run, stepId, offset, LOG_LIMIT);
    const all = Buffer.from(await source.readStepLogs(run, stepId), "utf8");
    return { bytes: all.subarray(Math.min(all.length, Math.max(offset, all.length - LOG_LIMIT))), size: all.length };
  };
  let slice = await read(from);
  let reset = false;
  if (slice && slice.size < from) {
    reset = true;
    slice = await read(0);
  }
  const asked = reset ? 0 : from;
  if (!slice) return { offset: asked, next: asked, size: 0, text: "", skipped: 0, reset };
  const start = slice.size - slice.bytes.length;
  let begin = 0;
  // Text that starts after the asked offset may start inside a character.
  if (start > asked) while (begin < slice.bytes.length && (slice.bytes[begin]! & 0xc0) === 0x80) begin++;
  const body = slice.bytes.subarray(begin);
  const end = completeEnd(body);
  return {
    offset: start + begin,
    next: start + begin + end,
    size: slice.size,
    text: Buffer.from(body.subarray(0, end)).toString("utf8"),
    skipped: start + begin - asked,
    reset,
  };
}
