import { readFileSync } from "node:fs";
import { checkPackage, createPackageFromTarballData } from "@arethetypeswrong/core";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

/** Resolution modes an ESM-only package does not support (attw's `--profile esm-only`). */
const ESM_ONLY_IGNORED = ["node10", "node16-cjs"];

/** publint's warnings and errors for a packed package (suggestions are left out). */
export async function publintProblems(tarball: string): Promise<string[]> {
  const data = readFileSync(tarball);
  // The tarball's own root is the package folder: what npm would publish, not the workspace folder.
  const { messages, pkg: manifest } = await publint({
    level: "warning",
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer },
  });
  return messages.map((m) => `${m.type}: ${formatMessage(m, manifest, { color: false }) ?? m.code}`);
}

/** Are-the-types-wrong problems of a packed package, as `attw --profile esm-only` counts them. */
export async function attwProblems(tarball: string): Promise<string[]> {
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(tarball))));
  if (!analysis.types) return ["no types: the package ships no .d.ts files"];
  return analysis.problems
    .filter((problem) => !("resolutionKind" in problem && ESM_ONLY_IGNORED.includes(problem.resolutionKind as string)))
    .map((problem) => {
      const where = "entrypoint" in problem ? ` (${problem.entrypoint}${"resolutionKind" in problem ? `, ${problem.resolutionKind}` : ""})` : "";
      return `${problem.kind}${where}`;
    });
}

/**
 * Third-party modules bundled into a package's build: esbuild marks each
 * inlined module with a `// ../../node_modules/<name>/...` comment. A flavor
 * package that bundles zod ships its own copy (hundreds of KB to parse on
 * every flavor import) instead of sharing the one @stackyard/core uses.
 */
export function bundledModules(distFiles: Array<{ path: string; content: string }>): string[] {
  const found = new Set<string>();
  for (const { content } of distFiles) {
    for (const match of content.matchAll(/^\/\/ (?:\.\.\/)+node_modules\/((?:@[^/\n]+\/)?[^/\n]+)\//gm)) found.add(match[1]!);
  }
  return [...found].sort();
}
