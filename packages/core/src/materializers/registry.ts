import { existsSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { SourceError } from "../errors/errors.js";
import { parseSourcePath } from "../source/source-path.js";
import { bytesMaterializer } from "./bytes.js";
import { fileMaterializer, streamMaterializer } from "./file.js";
import { jsonMaterializer } from "./json.js";
import type { Materializer } from "./materializer.js";
import { textMaterializer } from "./text.js";
import { csvMaterializer, htmlMaterializer, markdownMaterializer, svgMaterializer } from "./visual.js";

/** Imports a module by specifier or file URL (the CLI passes one that loads TypeScript). */
export type MaterializerImporter = (specifier: string) => Promise<Record<string, unknown>>;

const BUILTIN: readonly Materializer[] = [
  jsonMaterializer,
  textMaterializer,
  bytesMaterializer,
  fileMaterializer,
  streamMaterializer,
  svgMaterializer,
  markdownMaterializer,
  htmlMaterializer,
  csvMaterializer,
];

// Shared across copies of core, like the compile state.
const KEY = Symbol.for("stackyard.materializers");
const registry: Map<string, Materializer> =
  ((globalThis as Record<symbol, unknown>)[KEY] as Map<string, Materializer> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[KEY] = new Map(BUILTIN.map((m) => [m.name, m])) as Map<string, Materializer>);

/** Names of the built-in materializers. */
export const BUILTIN_MATERIALIZERS: readonly string[] = BUILTIN.map((m) => m.name);

/**
 * Registers a materializer under its name so outputs can refer to it by
 * name. Do it at the top level of the pipeline's module, so that every
 * process that loads the pipeline registers it too.
 */
export function registerMaterializer(materializer: Materializer): void {
  const problems = materializerProblems(materializer);
  if (problems.length) throw new SourceError(`Cannot register materializer: ${problems.join("; ")}`);
  registry.set(materializer.name, materializer);
}

/** Checks the shape of a materializer; returns the problems found. */
export function materializerProblems(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return ["expected an object with name, save(value, writer) and load(reader)"];
  const candidate = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof candidate.name !== "string" || !candidate.name) problems.push("'name' must be a non-empty string");
  if (typeof candidate.save !== "function") problems.push("'save' must be a function save(value, writer)");
  if (typeof candidate.load !== "function") problems.push("'load' must be a function load(reader)");
  return problems;
}

/** A materializer known by name (built-in or registered), without importing anything. */
export function getMaterializer(name: string): Materializer | undefined {
  return registry.get(name);
}

/**
 * Finds a materializer by name or source path (`MODULE#EXPORT`, files
 * relative to `sourceRoot`). Source paths are imported once and cached.
 * Artifact records name the materializer that loads them, and whoever can
 * write a record must not choose what a step imports: a source path must be
 * a file inside the source root or a package installed for it (see
 * {@link materializerSourceProblem}).
 *
 * @throws SourceError naming the reference when it is not allowed, cannot be loaded or is not a materializer.
 */
export async function resolveMaterializer(ref: string, options: { sourceRoot?: string; importModule?: MaterializerImporter } = {}): Promise<Materializer> {
  const known = registry.get(ref);
  if (known) return known;
  if (!ref.includes("#")) {
    throw new SourceError(`Unknown materializer '${ref}': use one of ${[...registry.keys()].join(", ")}, or a source path MODULE#EXPORT`);
  }
  const source = parseSourcePath(ref);
  const sourceRoot = resolve(options.sourceRoot ?? process.cwd());
  const refused = materializerSourceProblem(source.module, source.isFile, sourceRoot);
  if (refused) {
    throw new SourceError(`Materializer ${ref} is not loaded: ${refused}`, {
      hint: `Materializers are the built-in ones (${BUILTIN_MATERIALIZERS.join(", ")}), ones the pipeline's module registers, files inside the source root (${sourceRoot}) and packages installed there.`,
    });
  }
  const specifier = source.isFile ? pathToFileURL(resolve(sourceRoot, source.module)).href : source.module;
  let mod: Record<string, unknown>;
  try {
    mod = options.importModule ? await options.importModule(specifier) : ((await import(specifier)) as Record<string, unknown>);
  } catch (error) {
    throw new SourceError(`Cannot import materializer ${ref}: ${(error as Error).message}`, { cause: error });
  }
  const value = mod[source.exportName];
  const problems = value === undefined ? [`${source.module} has no export '${source.exportName}'`] : materializerProblems(value);
  if (problems.length) throw new SourceError(`Materializer ${ref} is not usable: ${problems.join("; ")}`);
  registry.set(ref, value as Materializer);
  return value as Materializer;
}

/**
 * Why a materializer module may not be imported, or undefined when it may: a
 * file must resolve inside the source root or under a node_modules folder of
 * it or one of its parents (where Node looks for its packages); a package
 * must be installed there, and may not be a Node built-in or climb out of
 * its folder. Paths are compared as resolved, without following symlinks:
 * whoever can place a link in the project can change its code anyway.
 */
export function materializerSourceProblem(module: string, isFile: boolean, sourceRoot: string): string | undefined {
  if (isFile) {
    const file = resolve(sourceRoot, module);
    if (isInside(sourceRoot, file) || isInNodeModulesOf(sourceRoot, file)) return undefined;
    return `${file} is outside the source root and not in an installed package`;
  }
  if (isBuiltin(module)) return `'${module}' is a Node.js built-in module, not a materializer package`;
  const parts = module.split("/");
  const nameLength = module.startsWith("@") ? 2 : 1;
  if (parts.length < nameLength || parts.some((part) => part === "" || part === "." || part === ".." || part.includes("\\"))) {
    return `'${module}' is not a package name or subpath`;
  }
  const name = parts.slice(0, nameLength).join("/");
  for (let dir = sourceRoot; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", name, "package.json"))) return undefined;
    if (dirname(dir) === dir) return `package '${name}' is not installed in ${sourceRoot}`;
  }
}

function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
}

/** Whether `path` is inside `<folder or a parent>/node_modules/`. */
function isInNodeModulesOf(folder: string, path: string): boolean {
  for (let dir = folder; ; dir = dirname(dir)) {
    if (isInside(join(dir, "node_modules"), path)) return true;
    if (dirname(dir) === dir) return false;
  }
}
