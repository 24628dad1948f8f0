import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("the flavor module stays light", () => {
  it("imports neither the AWS SDK nor the implementation, directly or through its own files", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(new URL(file, import.meta.url), "utf8");
      for (const m of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gm)) {
        const spec = m[1]!;
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^@aws-sdk\/|^@smithy\/|implementation/);
        if (spec.startsWith("./")) visit(new URL(spec.replace(/\.js$/, ".ts"), new URL(file, import.meta.url)).href);
      }
    };
    visit("../src/index.ts");
    expect(seen.size).toBeGreaterThanOrEqual(2);
  });
});
