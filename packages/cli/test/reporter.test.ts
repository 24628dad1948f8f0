import { describe, expect, it } from "vitest";
import { RunReporter } from "../src/client/reporter.js";

function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const write = (chunk: string): boolean => {
    text += chunk;
    return true;
  };
  const stream = { isTTY: false, write } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

describe("the run reporter with map steps", () => {
  it("shows a big map as progress lines, every tenth of its items, and a line for each failed item", () => {
    const out = capture();
    const reporter = new RunReporter("r", ["make", "square"], { stream: out.stream });
    reporter.stepStatus("square", "running", "100 items");
    for (let i = 0; i < 100; i++) {
      reporter.stepStatus(`square[${i}]`, "running");
      reporter.stepStatus(`square[${i}]`, i === 42 ? "failed" : "completed", i === 42 ? "boom" : undefined);
    }
    reporter.stepStatus("square", "completed", "100 items: 99 completed, 1 failed (tolerated)");
    const lines = out.text().trimEnd().split("\n");
    expect(lines).toContain("[r] square[42]: failed (boom)");
    expect(lines.filter((l) => l.startsWith("[r] square: ") && l.includes("items done"))).toHaveLength(10);
    expect(lines).toContain("[r] square: 100/100 items done, 1 failed");
    expect(lines.some((l) => l.startsWith("[r] square[7]"))).toBe(false);
    expect(lines.at(-1)).toBe("[r] square: completed (100 items: 99 completed, 1 failed (tolerated))");
  });

  it("shows each item of a small map on its own line", () => {
    const out = capture();
    const reporter = new RunReporter("r", ["square"], { stream: out.stream });
    reporter.stepStatus("square", "running", "3 items");
    for (let i = 0; i < 3; i++) reporter.stepStatus(`square[${i}]`, "completed");
    expect(out.text()).toContain("[r] square[2]: completed\n");
  });
});
