import { readFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Where a pipeline was defined: the file and line of its `pipeline(...)` call. */
export interface DefinitionSite {
  /** Absolute file path. */
  file: string;
  line: number;
}

const FRAME = /(?:\(|\s)((?:file:\/\/)?\/[^\s()]*?|[A-Za-z]:[\\/][^\s()]*?):(\d+):(\d+)\)?\s*$/;

/**
 * The first stack frame outside the folder of `ownFile`: the user's module that called
 * `pipeline()`. Works for plain ESM, tsx and vitest (which keep original
 * paths and lines in stacks).
 */
export function callerSite(ownFile: string): DefinitionSite | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  // Core's own frames: everything in the folder of this module (src/pipeline, or dist when bundled).
  const ownDir = dirname(normaliseFile(ownFile)) + sep;
  for (const line of stack.split("\n").slice(1)) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const file = normaliseFile(match[1]!);
    if (file.startsWith(ownDir) || file.includes(`${sep}node_modules${sep}vitest${sep}`) || file.includes("node:internal")) continue;
    return { file, line: Number(match[2]) };
  }
  return undefined;
}

function normaliseFile(location: string): string {
  const withoutQuery = location.replace(/[?#].*$/, "");
  return withoutQuery.startsWith("file://") ? fileURLToPath(withoutQuery) : resolve(withoutQuery);
}

/**
 * Guesses the export name from the source line of the definition
 * (`export const trainingPipeline = pipeline(`, possibly a few lines above
 * when the call is formatted over several lines). `resolvePipelineSource`
 * confirms it by importing the module.
 */
export function exportNameAt(site: DefinitionSite): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync(site.file, "utf8").split("\n");
  } catch {
    return undefined;
  }
  for (let index = site.line - 1; index >= Math.max(0, site.line - 4); index--) {
    const match = /export\s+(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*(?:pipeline\b|$)/.exec(lines[index] ?? "");
    if (match) return match[1];
  }
  return undefined;
}

/** `./relative/path.ts` of `file` under `sourceRoot`, with `/` separators. */
export function moduleSpecifierFor(file: string, sourceRoot: string): string {
  const rel = relative(resolve(sourceRoot), file).split(sep).join("/");
  if (isAbsolute(rel)) return pathToFileURL(file).href;
  return rel.startsWith("../") ? rel : `./${rel}`;
}
