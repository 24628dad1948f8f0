import { existsSync, readFileSync, statSync } from "node:fs";
import nodeModule from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseSourcePath, SourceError } from "@stackyard/core";

const loaded = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Imports the module of a source path, resolved against the source root:
 * a package name or subpath from the project's node_modules, or a `.ts`/`.js`
 * file relative to the root (TypeScript loads without a build step, see registerTypeScript).
 */
export async function importSourceModule(module: string, sourceRoot: string): Promise<Record<string, unknown>> {
  const isFile = module.startsWith(".") || isAbsolute(module);
  const key = `${sourceRoot}\0${module}`;
  let pending = loaded.get(key);
  if (!pending) {
    pending = load(module, isFile, sourceRoot);
    loaded.set(key, pending);
    pending.catch(() => loaded.delete(key));
  }
  return pending;
}

/** Modules being imported: named if the process runs out of work while one of them is still pending. */
const importing = new Set<string>();
let watchingExit = false;
const realExit = process.exit;
/** Codes given to process.exit() while modules were being imported. */
const exitCalls: Array<number | string> = [];

/**
 * A module whose top-level await never settles leaves Node nothing to run,
 * and Node would exit with code 13 and a bare warning: say which module it
 * was and exit 2 instead.
 */
function watchUnsettledImports(): void {
  if (watchingExit) return;
  watchingExit = true;
  process.on("beforeExit", () => {
    if (!importing.size) return;
    const [first] = importing;
    process.stderr.write(`Error: Cannot load ${first}: its top-level await never settled, so the module never finished loading\n`);
    process.stderr.write("  Make every promise the module awaits at its top level settle (or move the waiting into a function called later).\n");
    importing.clear();
    realExit(2);
  });
}

/**
 * Imports `specifier`; a module that calls process.exit() while it is being
 * imported is refused, naming it, instead of ending the command silently.
 */
async function guardedImport(specifier: string, label: string): Promise<Record<string, unknown>> {
  watchUnsettledImports();
  if (importing.size === 0) {
    process.exit = ((code?: number | string | null) => {
      exitCalls.push(code ?? 0);
      throw new Error(`process.exit(${code ?? 0}) called while a module was being imported`);
    }) as typeof process.exit;
  }
  importing.add(label);
  const calls = exitCalls.length;
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    if (exitCalls.length > calls) {
      throw new SourceError(`Cannot load ${label}: it calls process.exit(${exitCalls[calls]}) while being imported`, {
        hint: "A module Stackyard loads must not end the process at import time: export what it defines and leave exiting to its caller.",
      });
    }
    throw error;
  } finally {
    importing.delete(label);
    if (importing.size === 0) process.exit = realExit;
  }
}

async function load(module: string, isFile: boolean, sourceRoot: string): Promise<Record<string, unknown>> {
  const label = `'${module}'${isFile ? ` (${resolve(sourceRoot, module)})` : ""}`;
  if (isFile) {
    const file = resolve(sourceRoot, module);
    if (!existsSync(file)) {
      throw new SourceError(`Cannot load '${module}': no file at ${file}`, {
        hint: "File source paths are relative to the source root (the folder holding .stackyard/).",
      });
    }
    if (statSync(file).isDirectory()) {
      throw new SourceError(`Cannot load '${module}': ${file} is a folder, not a file`, {
        hint: `Name the module file itself, for example ${module.replace(/\/$/, "")}/index.ts.`,
      });
    }
  }
  const specifier = isFile ? pathToFileURL(resolve(sourceRoot, module)).href : module;
  try {
    // Plain import first: fast for packages and .js files; TypeScript hooks only when needed.
    if (!isFile || /\.(c|m)?js$/.test(module)) {
      try {
        return await guardedImport(isFile ? specifier : resolvePackage(module, sourceRoot), label);
      } catch (error) {
        if (!isResolutionError(error)) throw error;
      }
    }
    await registerTypeScript(sourceRoot);
    return await guardedImport(specifier, label);
  } catch (error) {
    if (error instanceof SourceError) throw error;
    if (isResolutionError(error) && !isFile && looksLikeFile(module) && existsSync(resolve(sourceRoot, module))) {
      throw new SourceError(`Cannot load '${module}': no package of that name, but the project has a file there`, {
        hint: `Paths of files in the project start with ./ : write ./${module}.`,
        cause: error,
      });
    }
    if (isResolutionError(error) && !isFile) {
      throw new SourceError(`Cannot load '${module}': the package is not installed in ${sourceRoot}`, {
        hint: `Install it with \`npm install ${packageNameOf(module)}\`.`,
        cause: error,
      });
    }
    // Node names the importing file, which is Stackyard's own bundle: not the user's concern.
    const reason = (error as Error).message.split("\n")[0]!.replace(/ (resolving ES modules )?imported from \S+$/, "");
    throw new SourceError(`Cannot load '${module}': ${reason}`, { cause: error });
  }
}

/** A module specifier that reads like a file path (`flavors/a.ts`) rather than a package (`pkg`, `@scope/pkg/sub`). */
function looksLikeFile(module: string): boolean {
  return /\.(c|m)?[jt]sx?$/.test(module) && !module.startsWith("@");
}

let typescriptRegistered: Promise<void> | undefined;

/**
 * Lets this process import `.ts` files, once, into the same module graph as
 * the CLI (so flavors and steps are the objects the engine knows). Stackyard's
 * own hooks (ts-hooks.ts: esbuild with a compile cache) unless the project's
 * tsconfig.json maps import paths (`compilerOptions.paths`), which tsx's
 * loader resolves.
 */
function registerTypeScript(sourceRoot: string): Promise<void> {
  typescriptRegistered ??= (async () => {
    if (mapsImportPaths(sourceRoot)) {
      const { register } = await import("tsx/esm/api");
      register();
      return;
    }
    process.setSourceMapsEnabled(true);
    const { registerHooks } = nodeModule as { registerHooks?: (hooks: { resolve: unknown; load: unknown }) => unknown };
    if (typeof registerHooks === "function") {
      // Node 22.15+: the hooks run on this thread, no loader thread to start.
      const { resolveSync, loadSync } = await import("./ts-hooks.js");
      registerHooks({ resolve: resolveSync, load: loadSync });
      return;
    }
    // Resolved through the package's own exports (from dist, and from src under test).
    nodeModule.register("stackyard/ts-hooks", import.meta.url);
  })();
  return typescriptRegistered;
}

function mapsImportPaths(sourceRoot: string): boolean {
  try {
    return /"paths"\s*:/.test(readFileSync(join(sourceRoot, "tsconfig.json"), "utf8"));
  } catch {
    return false;
  }
}

/**
 * Resolves a package specifier from the source root's node_modules to a file
 * URL. `import.meta.resolve` ignores its parent on Node 20 and `createRequire`
 * cannot resolve ESM-only exports, so walk up to the package folder and read
 * its exports map (conditions import, node, default).
 */
function resolvePackage(module: string, sourceRoot: string): string {
  const name = packageNameOf(module);
  for (let dir = sourceRoot; ; dir = dirname(dir)) {
    const packageDir = join(dir, "node_modules", name);
    if (existsSync(join(packageDir, "package.json"))) return resolveExports(packageDir, module.slice(name.length));
    if (dirname(dir) === dir) break;
  }
  const error = new Error(`Cannot find package '${name}'`) as Error & { code: string };
  error.code = "ERR_MODULE_NOT_FOUND";
  throw error;
}

function resolveExports(packageDir: string, subpath: string): string {
  const pkg = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { exports?: unknown; main?: string; module?: string };
  const key = subpath ? `.${subpath}` : ".";
  let target: unknown;
  if (typeof pkg.exports === "string") target = key === "." ? pkg.exports : undefined;
  else if (pkg.exports && typeof pkg.exports === "object") {
    const map = pkg.exports as Record<string, unknown>;
    const isConditions = !Object.keys(map).some((k) => k.startsWith("."));
    target = isConditions ? (key === "." ? map : undefined) : map[key];
    if (target === undefined) {
      const error = new Error(`Package subpath '${key}' is not exported by ${packageDir}`) as Error & { code: string };
      error.code = "ERR_PACKAGE_PATH_NOT_EXPORTED";
      throw error;
    }
  }
  const file = pickCondition(target) ?? (key === "." ? (pkg.module ?? pkg.main ?? "index.js") : subpath.slice(1));
  return pathToFileURL(join(packageDir, file)).href;
}

function pickCondition(target: unknown): string | undefined {
  if (typeof target === "string") return target;
  if (!target || typeof target !== "object") return undefined;
  const conditions = target as Record<string, unknown>;
  for (const condition of ["import", "node", "default"]) {
    const found = pickCondition(conditions[condition]);
    if (found) return found;
  }
  return undefined;
}

function packageNameOf(module: string): string {
  const parts = module.split("/");
  return module.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isResolutionError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "ERR_PACKAGE_PATH_NOT_EXPORTED" || code === "MODULE_NOT_FOUND";
}

/**
 * Loads the export named by a source path. A missing export lists what the
 * module does export.
 */
export async function loadSource(source: string, sourceRoot: string): Promise<unknown> {
  const parsed = parseSourcePath(source);
  const module = await importSourceModule(parsed.module, sourceRoot);
  if (!(parsed.exportName in module) || module[parsed.exportName] === undefined) {
    const names = Object.keys(module).filter((k) => k !== "default" && k !== "__esModule");
    throw new SourceError(`Module '${parsed.module}' has no export named '${parsed.exportName}'`, {
      hint: names.length ? `It exports: ${names.sort().join(", ")}` : "It has no named exports.",
    });
  }
  return module[parsed.exportName];
}

/**
 * An importer for the engine (pipeline modules, custom materializers): takes a
 * module specifier (file URL or package) and loads it with TypeScript support.
 */
export function importModuleFor(sourceRoot: string): (specifier: string) => Promise<Record<string, unknown>> {
  return async (specifier) => {
    if (specifier.startsWith("file:")) {
      await registerTypeScript(sourceRoot);
      return (await import(specifier)) as Record<string, unknown>;
    }
    return importSourceModule(specifier, sourceRoot);
  };
}
