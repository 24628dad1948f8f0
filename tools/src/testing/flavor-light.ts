import { readFileSync } from "node:fs";
import { expect } from "vitest";

/**
 * Walks the value imports of a flavor module and of the package files it
 * imports (`./...`), and fails on any import matching `forbidden` (an SDK, the
 * implementation). Type-only imports are ignored: they vanish in the build.
 * Returns the files visited.
 */
export function expectLightFlavorModule(entry: URL, forbidden: RegExp): Set<string> {
  const seen = new Set<string>();
  const visit = (file: URL): void => {
    if (seen.has(file.href)) return;
    seen.add(file.href);
    const source = readFileSync(file, "utf8");
    for (const m of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gm)) {
      const spec = m[1]!;
      expect(spec, `${file.pathname} imports ${spec}`).not.toMatch(forbidden);
      if (spec.startsWith("./")) visit(new URL(spec.replace(/\.js$/, ".ts"), file));
    }
  };
  visit(entry);
  return seen;
}
