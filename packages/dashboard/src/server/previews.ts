/** Most of a step's log the API sends: the end of it, where a running step's newest lines are. */
export const LOG_LIMIT = 64 * 1024;
/** Most of an output's bytes the API reads for its preview. */
export const PREVIEW_LIMIT = 16 * 1024;

/** The end of a log, at most `limit` bytes, cut at a line start when one is near. */
export function logTail(text: string, limit = LOG_LIMIT): { logs: string; truncated: boolean; size: number } {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= limit) return { logs: text, truncated: false, size: bytes.length };
  let tail = bytes.subarray(bytes.length - limit);
  // Skip a partial UTF-8 character and the partial first line.
  let start = 0;
  while (start < tail.length && (tail[start]! & 0xc0) === 0x80) start++;
  const newline = tail.indexOf(10, start);
  if (newline !== -1 && newline < 1024) start = newline + 1;
  tail = tail.subarray(start);
  return { logs: tail.toString("utf8"), truncated: true, size: bytes.length };
}

/** What the step panel shows of one output. */
export interface OutputPreview {
  kind: "json" | "text" | "binary" | "unavailable";
  /** Pretty JSON, text, or a hex dump of the first bytes. */
  text: string;
  /** The preview shows only the start of the output. */
  truncated: boolean;
}

function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < Math.min(bytes.length, 256); i += 16) {
    const row = [...bytes.subarray(i, i + 16)];
    lines.push(
      `${i.toString(16).padStart(8, "0")}  ${row.map((b) => b.toString(16).padStart(2, "0")).join(" ")}`.padEnd(58) +
        row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join(""),
    );
  }
  return lines.join("\n");
}

/**
 * A preview of the first bytes of an output's file: JSON pretty-printed when
 * the whole file was read and parses, UTF-8 text, or else a hex dump.
 */
export function previewOf(file: string, bytes: Uint8Array, size: number): OutputPreview {
  const truncated = size > bytes.length;
  let text: string;
  try {
    // A cut file may end inside a character: `stream` leaves that incomplete tail out.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: truncated });
  } catch {
    return { kind: "binary", text: hexDump(bytes), truncated: size > 256 };
  }
  if (/[\0-\x08\x0e-\x1f]/.test(text)) return { kind: "binary", text: hexDump(bytes), truncated: size > 256 };
  if (!truncated && file.endsWith(".json")) {
    try {
      return { kind: "json", text: JSON.stringify(JSON.parse(text), null, 2), truncated: false };
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { kind: "text", text, truncated };
}
