import { describe, expect, it } from "vitest";
import { logTail, previewOf } from "./previews.js";

describe("log tails", () => {
  it("send a short log whole", () => {
    expect(logTail("a\nb\n")).toEqual({ logs: "a\nb\n", truncated: false, size: 4 });
  });
  it("send the end of a long log, from a line start, and say how long it was", () => {
    const log = Array.from({ length: 2000 }, (_, i) => `line ${i} é\n`).join("");
    const tail = logTail(log, 1000);
    expect(tail.truncated).toBe(true);
    expect(tail.size).toBe(Buffer.byteLength(log));
    expect(tail.logs.endsWith("line 1999 é\n")).toBe(true);
    expect(tail.logs).toMatch(/^line \d+ é\n/);
    expect(Buffer.byteLength(tail.logs)).toBeLessThanOrEqual(1000);
  });
});

describe("output previews", () => {
  it("pretty-print a whole JSON file", () => {
    expect(previewOf("data.json", Buffer.from('{"accuracy":0.97}'), 17)).toEqual({ kind: "json", text: '{\n  "accuracy": 0.97\n}', truncated: false });
  });
  it("show the start of a cut JSON or text file as text, leaving out a cut character", () => {
    const bytes = Buffer.from('["é"]');
    expect(previewOf("data.json", bytes.subarray(0, 3), 100)).toEqual({ kind: "text", text: '["', truncated: true });
    expect(previewOf("data.txt", Buffer.from("hello"), 5)).toEqual({ kind: "text", text: "hello", truncated: false });
  });
  it("dump binary bytes in hex", () => {
    const preview = previewOf("data.bin", Uint8Array.from([0, 1, 2, 0xff, 65]), 5);
    expect(preview.kind).toBe("binary");
    expect(preview.text).toBe(`00000000  00 01 02 ff 41`.padEnd(58) + "....A");
  });
});
