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
 * Reads the export name from the source line of the definition:
 * `export const trainingPipeline = pipeline(`, or `export const x =` on
 * the line above a line starting with `pipeline(`. Anything else (an
 * `export { x }` list, a pipeline inside an object) is left to
 * {@link resolvePipelineSource}, which imports the module to find it.
 */
export function exportNameAt(site: DefinitionSite): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync(site.file, "utf8").split("\n");
  } catch {
    return undefined;
  }
  const line = lines[site.line - 1] ?? "";
  const sameLine = /^\s*export\s+(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*pipeline\s*[(<]/.exec(line);
  if (sameLine) return sameLine[1];
  if (/^\s*pipeline\s*[(<]/.test(line)) {
    const above = /^\s*export\s+(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*$/.exec(lines[site.line - 2] ?? "");
    if (above) return above[1];
  }
  return undefined;
}

/** `./relative/path.ts` of `file` under `sourceRoot`, with `/` separators. */
export function moduleSpecifierFor(file: string, sourceRoot: string): string {
  const rel = relative(resolve(sourceRoot), file).split(sep).join("/");
  if (isAbsolute(rel)) return pathToFileURL(file).href;
  return rel.startsWith("../") ? rel : `./${rel}`;
}
