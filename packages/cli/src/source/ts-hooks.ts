/**
 * Module hooks that let Node import a project's TypeScript files (pipelines,
 * steps, flavors, materializers) without a build step. Registered once per
 * process by `registerTypeScript` (load-source.ts): with `module.register`
 * on Node 20 (they run on Node's loader thread, so this module imports
 * nothing but Node built-ins until a file has to be compiled), with
 * `module.registerHooks` (the `*Sync` hooks, on the importing thread) where
 * Node has it (22.15 and later).
 *
 * - `load` compiles `.ts`, `.tsx`, `.mts` and `.cts` files to ES modules with
 *   esbuild (types stripped, inline source maps so stack traces name the
 *   `.ts` lines), using the nearest `tsconfig.json`'s compiler options.
 *   Compiled files are cached by content hash in the OS temporary folder, so a
 *   file is compiled once until it changes.
 * - `resolve` accepts what TypeScript accepts and Node does not: `./x.js`
 *   naming `./x.ts`, extensionless relative imports, and folder imports of an
 *   `index.ts`; `load` also takes JSON imports without `with { type: "json" }`.
 *
 * Everything else goes to Node's own resolution and loading unchanged.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir, userInfo } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface ResolveContext {
  parentURL?: string | undefined;
  conditions?: readonly string[];
  importAttributes?: Record<string, string>;
}
interface ResolveResult {
  url: string;
  format?: string | null | undefined;
  shortCircuit?: boolean;
}
interface LoadContext {
  format?: string | null | undefined;
  conditions?: readonly string[];
  importAttributes?: Record<string, string>;
}
interface LoadResult {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>;
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>;

/** Bumped when the compiled output would change for the same input. */
const COMPILE_VERSION = "1";
const TYPESCRIPT_FILE = /\.([cm]?ts|tsx)$/;
const JS_EXTENSION = /\.([cm]?js|jsx)$/;
const TS_FOR_JS: Record<string, string[]> = { ".js": [".ts", ".tsx"], ".jsx": [".tsx"], ".mjs": [".mts"], ".cjs": [".cts"] };
const BARE_CANDIDATES = [".ts", ".tsx", ".mts", "/index.ts", "/index.tsx", "/index.mts"];

const cacheDir = join(tmpdir(), `stackyard-ts-${process.getuid?.() ?? safeUserName()}`);
/**
 * The environment variable naming a folder of files compiled ahead of time
 * (core's `STEP_ENV.precompiled`; this module imports nothing of ours).
 */
export const PRECOMPILED_ENV = "STACKYARD_TS_PRECOMPILED";
const precompiledDir = process.env[PRECOMPILED_ENV] || undefined;
const tsconfigByDir = new Map<string, string | undefined>();
let esbuild: Promise<typeof import("esbuild")> | undefined;

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return "user";
  }
}

const isPathLike = (specifier: string): boolean =>
  specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/") || specifier.startsWith("file:");

/**
 * The TypeScript spellings to try for a relative specifier Node could not
 * find (`./x.js` → `./x.ts`, `./x` → `./x.ts`, `./dir` → `./dir/index.ts`),
 * or none when the error is not one of those.
 */
function typescriptSpellings(specifier: string, context: ResolveContext, error: unknown): string[] {
  const code = (error as { code?: string }).code;
  if ((code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_UNSUPPORTED_DIR_IMPORT") || !isPathLike(specifier) || !context.parentURL?.startsWith("file:"))
    return [];
  const [path, query = ""] = splitQuery(specifier);
  const js = JS_EXTENSION.exec(path);
  const paths = js
    ? (TS_FOR_JS[js[0]] ?? []).map((ext) => path.slice(0, -js[0].length) + ext)
    : BARE_CANDIDATES.map((suffix) => path.replace(/\/$/, "") + suffix);
  return paths.map((candidate) => candidate + query);
}

/** Node's resolution first; on "not found", the TypeScript spellings of the same path. */
export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    for (const candidate of typescriptSpellings(specifier, context, error)) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // Try the next spelling.
      }
    }
    throw error;
  }
}

/** {@link resolve} for `module.registerHooks` (Node 22.15+: hooks on the importing thread). */
export function resolveSync(
  specifier: string,
  context: ResolveContext,
  nextResolve: (specifier: string, context?: ResolveContext) => ResolveResult,
): ResolveResult {
  try {
    return nextResolve(specifier, context);
  } catch (error) {
    for (const candidate of typescriptSpellings(specifier, context, error)) {
      try {
        return nextResolve(candidate, context);
      } catch {
        // Try the next spelling.
      }
    }
    throw error;
  }
}

/** A TypeScript file to compile: its source, esbuild's options, and where the result is cached. */
export interface Compile {
  cacheFile: string;
  source: string;
  options: import("esbuild").TransformOptions;
}

const moduleSource = (source: string): LoadResult => ({ format: "module", source, shortCircuit: true });

/**
 * What loading `url` takes, the same for both kinds of hooks: nothing of
 * ours (undefined: Node loads it), a result already (a JSON import without
 * `with { type: "json" }`, a cached compile), or a compile.
 */
function plan(url: string, context: LoadContext): LoadResult | Compile | undefined {
  if (!url.startsWith("file:")) return undefined;
  const [fileUrl] = splitQuery(url);
  if (fileUrl.endsWith(".json")) {
    // As TypeScript lets projects write it: the file's value as the default export.
    if (context.importAttributes?.type === "json") return undefined;
    // `require()` of JSON (a CommonJS package reading its data) passes through the
    // same hooks on Node 22+; Node loads that itself.
    if (context.conditions?.includes("require")) return undefined;
    return moduleSource(`export default JSON.parse(${JSON.stringify(readFileSync(fileURLToPath(fileUrl), "utf8"))});\n`);
  }
  if (!TYPESCRIPT_FILE.test(fileUrl)) return undefined;
  const next = compilePlan(fileURLToPath(fileUrl), cacheDir);
  if (precompiledDir && precompiledIsTrusted()) {
    try {
      return moduleSource(readFileSync(join(precompiledDir, basename(next.cacheFile)), "utf8"));
    } catch {
      // Not compiled when the image was built (or changed since).
    }
  }
  if (cacheIsTrusted()) {
    try {
      return moduleSource(readFileSync(next.cacheFile, "utf8"));
    } catch {
      // Not compiled yet.
    }
  }
  return next;
}

/**
 * How `file` (a TypeScript file) compiles, and the file in `folder` its result
 * is kept in: named by a hash of everything that changes the result (the
 * source, the nearest tsconfig.json, the file's path, esbuild's and Node's
 * versions), so a file compiled ahead of time is found only where it would
 * compile the same.
 */
export function compilePlan(file: string, folder: string): Compile {
  const match = TYPESCRIPT_FILE.exec(file)!;
  const source = readFileSync(file, "utf8");
  const tsconfig = nearestTsconfig(dirname(file));
  const key = createHash("sha256")
    .update(`${COMPILE_VERSION}\0${compilerVersion()}\0${process.version}\0${file}\0${tsconfig ?? ""}\0`)
    .update(source)
    .digest("hex");
  const cacheFile = join(folder, `${key}.mjs`);
  const options: import("esbuild").TransformOptions = {
    loader: match[1] === "tsx" ? "tsx" : "ts",
    format: "esm",
    // tsx's options, so that a step's code (and with it its cache key) is
    // the same whether the pipeline ran under `npx tsx` or `stackyard run`.
    target: `node${process.versions.node}`,
    minifyWhitespace: true,
    keepNames: true,
    sourcemap: "inline",
    sourcefile: file,
    ...(tsconfig !== undefined ? { tsconfigRaw: tsconfig } : {}),
  };
  return { cacheFile, source, options };
}

/** esbuild's message spans lines; name the first problem's place in one. */
function compileError(error: unknown, compile: Compile): unknown {
  const first = (error as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> }).errors?.[0];
  if (!first) return error;
  return new SyntaxError(`${compile.options.sourcefile}${first.location ? `:${first.location.line}:${first.location.column + 1}` : ""}: ${first.text}`);
}

function cached(compile: Compile, code: string): LoadResult {
  writeCache(compile.cacheFile, code);
  return moduleSource(code);
}

/** Compiles TypeScript files; hands everything else to Node. */
export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  const next = plan(url, context);
  if (!next) return nextLoad(url, context);
  if ("format" in next) return next;
  const { transform } = await (esbuild ??= import("esbuild"));
  let code: string;
  try {
    code = (await transform(next.source, next.options)).code;
  } catch (error) {
    throw compileError(error, next);
  }
  return cached(next, code);
}

/** {@link load} for `module.registerHooks` (Node 22.15+). */
export function loadSync(url: string, context: LoadContext, nextLoad: (url: string, context?: LoadContext) => LoadResult): LoadResult {
  const next = plan(url, context);
  if (!next) return nextLoad(url, context);
  if ("format" in next) return next;
  const { transformSync } = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  let code: string;
  try {
    code = transformSync(next.source, next.options).code;
  } catch (error) {
    throw compileError(error, next);
  }
  return cached(next, code);
}

let esbuildVersion: string | undefined;
/** esbuild's version, without loading esbuild: a new compiler compiles afresh. */
function compilerVersion(): string {
  return (esbuildVersion ??= (JSON.parse(readFileSync(createRequire(import.meta.url).resolve("esbuild/package.json"), "utf8")) as { version: string }).version);
}

function splitQuery(specifier: string): [string, string?] {
  const at = specifier.search(/[?#]/);
  return at < 0 ? [specifier] : [specifier.slice(0, at), specifier.slice(at)];
}

/** The text of the nearest tsconfig.json above `dir` (esbuild reads the compiler options it needs). */
function nearestTsconfig(dir: string): string | undefined {
  if (tsconfigByDir.has(dir)) return tsconfigByDir.get(dir);
  let found: string | undefined;
  try {
    found = readFileSync(join(dir, "tsconfig.json"), "utf8");
  } catch {
    const parent = dirname(dir);
    found = parent === dir || /[\\/]node_modules$/.test(dir) ? undefined : nearestTsconfig(parent);
  }
  tsconfigByDir.set(dir, found);
  return found;
}

let trusted: boolean | undefined;
/**
 * Whether compiled files may be read from the cache folder: it must belong to
 * this user and be writable by nobody else (it lives in a shared temporary
 * folder, and what it holds is run).
 */
function cacheIsTrusted(): boolean {
  if (trusted !== undefined) return trusted;
  if (typeof process.getuid !== "function") return (trusted = true);
  try {
    const info = statSync(cacheDir);
    trusted = info.isDirectory() && info.uid === process.getuid() && (info.mode & 0o022) === 0;
  } catch {
    trusted = undefined; // Not made yet: writeCache makes it.
    return false;
  }
  return trusted;
}

let precompiledTrust: boolean | undefined;
/**
 * Whether files compiled ahead of time may be read: the folder must belong to
 * this user or to root (an image's build) and be writable by nobody else.
 */
function precompiledIsTrusted(): boolean {
  if (precompiledTrust !== undefined) return precompiledTrust;
  if (typeof process.getuid !== "function") return (precompiledTrust = true);
  try {
    const info = statSync(precompiledDir!);
    precompiledTrust = info.isDirectory() && (info.uid === 0 || info.uid === process.getuid()) && (info.mode & 0o022) === 0;
  } catch {
    precompiledTrust = false;
  }
  return precompiledTrust;
}

/** Writes a compiled file atomically; a cache that cannot be written only costs a compile next time. */
function writeCache(file: string, code: string): void {
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    if (!cacheIsTrusted()) return;
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, code);
    renameSync(temp, file);
  } catch {
    // Read-only or full temporary folder: compile again next time.
  }
}
