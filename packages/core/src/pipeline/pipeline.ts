import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { z } from "zod";
import { MissingDependencyError, PipelineDefinitionError, SourceError, StackyardError } from "../errors/errors.js";
import { parseSourcePath } from "../source/source-path.js";
import { type CompileOptions, compilePipeline } from "./compile.js";
import type { RunConfigInput } from "./run-config.js";
import type { RunOptions, RunResult } from "./run-options.js";
import type { PipelineSnapshot, ResourceSettings } from "./snapshot.js";
import { callerSite, type DefinitionSite, exportNameAt, moduleSpecifierFor } from "./source-location.js";
import { hookOption, type ParamsInputOf, type ParamsOf, type Settings, type StepHookRef } from "./step.js";

const PIPELINE: unique symbol = Symbol.for("stackyard.pipeline");
const PIPELINE_NAME = /^[A-Za-z_][\w.-]*$/;

/** Options of {@link pipeline}. */
export interface PipelineOptions<P extends z.ZodObject | undefined = undefined> {
  /** Pipeline name, shown in `runs list`. */
  name: string;
  /** zod object schema of the pipeline's JSON parameters, passed to the body. */
  parameters?: P;
  /** Default for every step (default true). */
  enableCache?: boolean;
  /** Run name template; `{date}` and `{time}` are filled in when a run starts. Default `<name>-{date}-{time}`. */
  runName?: string;
  settings?: Settings;
  resources?: ResourceSettings;
  /** Runs after each step that completes, unless the step has its own `onSuccess` (see {@link StepHook}). */
  onSuccess?: StepHookRef;
  /** Runs after each step that fails for good, unless the step has its own `onFailure` (see {@link StepHook}): the place for an alert. */
  onFailure?: StepHookRef;
}

/** The body of a pipeline: calls steps to wire the DAG. Synchronous; no work happens here. */
export type PipelineBody<P> = (params: ParamsOf<P>) => void;

/**
 * A pipeline: a named DAG of step invocations, built by running its body.
 * Made by {@link pipeline}; compile it into a snapshot or run it on the active stack.
 */
export class Pipeline<P extends z.ZodObject | undefined = any> {
  readonly name: string;
  readonly options: Readonly<PipelineOptions<P>>;
  readonly body: PipelineBody<P>;
  /** Where `pipeline(...)` was called; used to derive the source path. */
  readonly definedAt: DefinitionSite | undefined;
  /** The export name found by {@link resolvePipelineSource}, once known. */
  exportName: string | undefined;

  constructor(options: PipelineOptions<P>, body: PipelineBody<P>, definedAt: DefinitionSite | undefined) {
    this.name = options.name;
    hookOption(options.onSuccess, options.name, "onSuccess");
    hookOption(options.onFailure, options.name, "onFailure");
    this.options = Object.freeze({ ...options });
    this.body = body;
    this.definedAt = definedAt;
    this.exportName = undefined;
    Object.defineProperty(this, PIPELINE, { value: true });
  }

  /**
   * Compiles the pipeline into a snapshot: runs the body with the merged
   * parameters, applies the run configuration, validates settings against
   * the stack's flavors and orders the steps topologically.
   *
   * @throws PipelineDefinitionError for cycles, bad wiring or non-JSON parameters.
   * @throws ConfigError for invalid or unknown configuration keys.
   */
  compile(options: CompileOptions<P> = {}): PipelineSnapshot {
    return compilePipeline(this, options);
  }

  /**
   * Runs the pipeline on the active stack, through the `stackyard` package
   * (which owns the store and stacks). Resolves when the run is over for
   * synchronous orchestrators, after submission for remote ones.
   */
  async run(options: RunOptions<P> = {}): Promise<RunResult> {
    const mod = await this.client("runPipeline", "Running");
    return (mod.runPipeline as (pipeline: Pipeline<any>, options: RunOptions<any>) => Promise<RunResult>)(this, options);
  }

  /**
   * Deploys the pipeline on the active stack (or `options.stack`), through
   * the `stackyard` package: one snapshot, compiled now and kept as the next
   * version of a named deployment, which runs later without recompiling.
   * Resolves with the deployment, whose `trigger({ parameters })` starts a run.
   * See `stackyard pipeline deploy`.
   */
  async deploy(options: DeployOptions<P> = {}): Promise<DeploymentHandle> {
    const mod = await this.client("deployPipeline", "Deploying");
    return (mod.deployPipeline as (pipeline: Pipeline<any>, options: DeployOptions<any>) => Promise<DeploymentHandle>)(this, options);
  }

  /** The `stackyard` package, which owns the store and stacks, with function `name`. */
  private async client(name: string, doing: string): Promise<Record<string, unknown>> {
    const specifier = "stackyard";
    let mod: Record<string, unknown>;
    try {
      mod = (await import(specifier)) as Record<string, unknown>;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && String((error as Error).message).includes("stackyard")) {
        throw new MissingDependencyError(`${doing} pipeline '${this.name}' needs the stackyard package, which is not installed`, {
          hint: "npm install stackyard",
          cause: error,
        });
      }
      throw error;
    }
    if (typeof mod[name] !== "function") {
      throw new MissingDependencyError(`The installed stackyard package has no ${name}(): update it`, { hint: "npm install stackyard@latest" });
    }
    return mod;
  }
}

/** Options of {@link Pipeline.deploy}. */
export interface DeployOptions<P = any> {
  /** Deployment name (default: the pipeline's name); deploying again makes its next version. */
  name?: string;
  /** Deploy for this stack instead of the active one. */
  stack?: string;
  /** Pipeline parameters of the deployment. */
  parameters?: ParamsInputOf<P>;
  /** Run configuration: a YAML file path or the parsed object. */
  config?: RunConfigInput;
  /** Tags every run of the deployment gets. */
  tags?: readonly string[];
  /** False: its runs run every step, even where a cached result exists. */
  enableCache?: boolean;
  /** Folder to find the project from (default: the current folder). */
  cwd?: string;
}

/** A version of a deployment, as {@link Pipeline.deploy} resolves it. */
export interface DeploymentHandle {
  name: string;
  version: number;
  snapshotId: string;
  stack: string;
  /** Starts a run of this version on its stack, with pipeline parameters over the deployment's (checked before anything runs). */
  trigger(options?: { parameters?: Record<string, unknown>; runName?: string; quiet?: boolean }): Promise<RunResult>;
}

/**
 * Defines a pipeline. The body calls steps, wiring outputs into inputs; it
 * runs whenever the pipeline compiles (also in every process that runs one
 * of its steps), so it must be deterministic and free of side effects.
 *
 * Export the pipeline from its module: other processes find it by its source
 * path `./file.ts#exportName`.
 *
 * @example
 * ```ts
 * export const trainingPipeline = pipeline(
 *   { name: "training_pipeline", parameters: z.object({ testSize: z.number().default(0.2) }) },
 *   (params) => {
 *     const { dataset } = loadData();
 *     const { train, test } = splitData({ dataset }, { parameters: { testSize: params.testSize } });
 *     evaluate({ model: trainModel({ train }).model, test });
 *   },
 * );
 * ```
 */
export function pipeline<P extends z.ZodObject | undefined = undefined>(options: PipelineOptions<P>, body: PipelineBody<P>): Pipeline<P> {
  if (!options || typeof options.name !== "string" || !PIPELINE_NAME.test(options.name)) {
    throw new PipelineDefinitionError(`Invalid pipeline name '${String(options?.name)}': use letters, digits, '_', '-' or '.'`);
  }
  if (typeof body !== "function") throw new PipelineDefinitionError(`Pipeline '${options.name}' needs a body function as its second argument`);
  return new Pipeline(options, body, callerSite(new URL(import.meta.url).href));
}

/** True for values made by {@link pipeline} (also from another copy of core). */
export function isPipeline(value: unknown): value is Pipeline {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PIPELINE] === true;
}

/** Imports a module by specifier or file URL; the CLI passes one that loads TypeScript (tsx). */
export type ModuleImporter = (specifier: string) => Promise<Record<string, unknown>>;

const defaultImporter: ModuleImporter = (specifier) => import(specifier) as Promise<Record<string, unknown>>;

/** The specifier to import for a source path's module, resolved against the source root. */
export function sourceModuleSpecifier(module: string, isFile: boolean, sourceRoot: string): string {
  return isFile ? pathToFileURL(resolve(sourceRoot, module)).href : module;
}

/**
 * Finds the source path (`./relative/file.ts#exportName`, relative to
 * `sourceRoot`) of a pipeline. When the defining line reads
 * `export const name = pipeline(`, that is the answer; otherwise it imports
 * the file the pipeline was defined in and looks for the export that is this
 * pipeline. Remembers the result on the pipeline.
 *
 * @throws SourceError when the pipeline is not exported (steps could not run in other processes).
 */
export async function resolvePipelineSource(target: Pipeline<any>, sourceRoot: string, options: { importModule?: ModuleImporter } = {}): Promise<string> {
  const site = target.definedAt;
  if (!site) {
    throw new SourceError(`Cannot tell which file defines pipeline '${target.name}'`, {
      hint: "Pass its source path explicitly, e.g. { source: './pipelines/training.ts#trainingPipeline' }.",
    });
  }
  const specifier = moduleSpecifierFor(site.file, sourceRoot);
  // `export const x = pipeline(` says it all, and importing would deadlock
  // when that module is still evaluating (it runs the pipeline at top level).
  const declared = target.exportName ?? exportNameAt(site);
  if (declared) {
    target.exportName = declared;
    return `${specifier}#${declared}`;
  }
  let mod: Record<string, unknown>;
  try {
    mod = await (options.importModule ?? defaultImporter)(pathToFileURL(site.file).href);
  } catch (error) {
    throw new SourceError(`Cannot import ${specifier}, which defines pipeline '${target.name}': ${(error as Error).message}`, { cause: error });
  }
  const entries = Object.entries(mod);
  const found =
    entries.find(([, value]) => value === target) ??
    // Another loader (tsx's namespaced import) may give a second instance of the same module.
    entries.find(([, value]) => isPipeline(value) && value.name === target.name && value.definedAt?.file === site.file);
  if (!found) {
    throw new SourceError(`Pipeline '${target.name}' is not exported from ${specifier}: it must be exported so that its steps can run in other processes`, {
      hint: `Write \`export const ${camel(target.name)} = pipeline({ name: "${target.name}" }, ...)\`.`,
    });
  }
  target.exportName = found[0];
  return `${specifier}#${found[0]}`;
}

/**
 * Loads the pipeline a snapshot names (`MODULE#EXPORT`): what a step
 * process does before {@link runStep}.
 */
export async function loadPipelineSource(source: string, sourceRoot: string, options: { importModule?: ModuleImporter } = {}): Promise<Pipeline<any>> {
  const parsed = parseSourcePath(source);
  let mod: Record<string, unknown>;
  try {
    mod = await (options.importModule ?? defaultImporter)(sourceModuleSpecifier(parsed.module, parsed.isFile, sourceRoot));
  } catch (error) {
    if (error instanceof StackyardError) throw error;
    throw new SourceError(`Cannot import pipeline module ${parsed.module} (source ${source}): ${(error as Error).message}`, { cause: error });
  }
  const value = mod[parsed.exportName];
  if (!isPipeline(value)) {
    throw new SourceError(
      value === undefined
        ? `Module ${parsed.module} has no export '${parsed.exportName}' (source ${source})`
        : `Export '${parsed.exportName}' of ${parsed.module} is not a pipeline (source ${source})`,
      { hint: "Export the object returned by pipeline(...) under that name." },
    );
  }
  value.exportName ??= parsed.exportName;
  return value;
}

function camel(name: string): string {
  return name.replace(/[_.-]+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}
