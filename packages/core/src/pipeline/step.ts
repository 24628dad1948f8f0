import { createHash } from "node:crypto";
import type { z } from "zod";
import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { PipelineDefinitionError } from "../errors/errors.js";
import { parseSourcePath } from "../source/source-path.js";
import { ARTIFACT_NAME, ARTIFACT_NAME_RULE } from "../store/metadata.js";
import { currentCompileState, type Invocation } from "./compile-state.js";
import { OUTPUT_NAME, OUTPUT_NAME_RULE } from "./output-name.js";
import type { ResourceSettings, RetryConfig } from "./snapshot.js";

/** Where an output ref points: an output of a step invocation. */
export const OUTPUT_REF: unique symbol = Symbol.for("stackyard.outputRef");
/** The invocation id carried by the object a step call returns (pass it to `after`). */
export const INVOCATION: unique symbol = Symbol.for("stackyard.invocation");
const STEP: unique symbol = Symbol.for("stackyard.step");

declare const OUTPUT_TYPE: unique symbol;

/** A materializer: a built-in name (`json`, `text`, `bytes`, `file`, `stream`, `svg`, `markdown`, `html`, `csv`), a registered name, or a source path `MODULE#EXPORT`. */
export type MaterializerRef = string;

/**
 * One output of a step as authored: its materializer (default `json`) and
 * the name its artifact versions go under (default `<pipeline>.<step>.<output>`).
 *
 * @example
 * ```ts
 * outputs: { model: { materializer: "json", name: "iris_model" } }
 * ```
 */
export interface OutputOptions {
  materializer?: MaterializerRef;
  /** The artifact name; every run that saves this output makes a new version of it. */
  name?: string;
}

/** An output as `outputs` takes it: a materializer, or {@link OutputOptions}. */
export type OutputSpec = MaterializerRef | OutputOptions;

/**
 * Settings of a pipeline or a step. Keys are `docker`, `resources`, a
 * component type (`orchestrator`) or a component type and flavor
 * (`orchestrator.docker`); values are objects validated by the component's
 * flavor (`settingsSchema`).
 */
export type Settings = Record<string, Record<string, unknown>>;

/** Retry policy as authored; missing fields take the defaults of `retrySchema`. */
export type RetryOptions = Partial<RetryConfig>;

/** Parameter values a step or pipeline receives, from its zod schema. */
export type ParamsOf<P> = P extends z.ZodObject ? z.output<P> : Record<string, never>;
/** Parameter values a caller may pass, from the zod schema's input type. */
export type ParamsInputOf<P> = P extends z.ZodObject ? Partial<z.input<P>> : Record<string, never>;

/** What a step function gets besides its inputs. */
export interface StepContext<P = Record<string, unknown>> {
  /** Parameters after defaults, code, YAML and per-invocation overrides. */
  readonly parameters: P;
  readonly runId: string;
  /** The invocation id (`train_model`, `train_model_2`). */
  readonly stepId: string;
  readonly stepName: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** Writes one line to the step's log (as `console.log` does, but never to the terminal directly). */
  log(...args: unknown[]): void;
  /**
   * The run's artifact store, for steps that manage files themselves: it
   * writes and removes only under the step's own folder `runs/<run>/<step>/`
   * and reads the step's run and inputs (see {@link StepArtifactStore}).
   */
  readonly artifactStore: BaseArtifactStore;
  /** Aborted when the run is stopped; long steps should pass it on or check it. */
  readonly signal: AbortSignal;
  /**
   * Attaches metadata to this step run, to the whole run (`{ run: true }`),
   * or to the version of one of this step's outputs (`{ output: "model" }`).
   * Values are JSON, or typed values made by `metadata.uri()`,
   * `metadata.path()`, `metadata.duration()`; keys logged again replace the
   * earlier value. Recorded when the step ends, also when it fails.
   *
   * @throws ConfigError for a value that is not JSON, a bad key, or an output the step does not declare.
   */
  logMetadata(values: Record<string, unknown>, target?: MetadataDestination): void;
}

/** Where {@link StepContext.logMetadata} attaches metadata: the step run (default), the run, or an output's version. */
export type MetadataDestination = { step: true } | { run: true } | { output: string };

/** What a step hook ({@link StepOptions.onSuccess}, {@link StepOptions.onFailure}) receives. */
export interface StepHookContext {
  readonly runId: string;
  readonly stepId: string;
  readonly stepName: string;
  /** `completed` for onSuccess, `failed` for onFailure. */
  readonly status: "completed" | "failed";
  /** The attempt that ended the step. */
  readonly attempt: number;
  /** Why the step failed (onFailure). */
  readonly error?: string;
  /** The step's outputs by name (onSuccess). */
  readonly outputs?: Readonly<Record<string, unknown>>;
  /** Writes one line to the step's log. */
  log(...args: unknown[]): void;
}

/**
 * A function run in the step's process after the step succeeds or fails for
 * good (not between retries, not when the run is stopped): to send an
 * alert, post a message, open a ticket. What it prints goes to the step's
 * log. A hook that throws is reported in the log; it never changes the step's outcome.
 */
export type StepHook = (context: StepHookContext) => Awaitable<void>;

/**
 * A hook as a step or pipeline takes it: a function, or the source path
 * `MODULE#EXPORT` of one (`./hooks/alert.ts#postToWebhook`), imported in the
 * step's process when the hook runs.
 */
export type StepHookRef = StepHook | string;

/** A value or a promise of it. */
export type Awaitable<T> = T | PromiseLike<T>;

/** The function a step runs. */
export type StepFunction<I, R, P> = (inputs: I, context: StepContext<P>) => Awaitable<R>;

/** Options of {@link step}. */
export interface StepOptions<P extends z.ZodObject | undefined = undefined> {
  /** Step name, unique among the steps of a pipeline (invocation ids derive from it). */
  name: string;
  /**
   * Output names and how each is stored. Omitted: one output called `output`
   * holding the function's return value, stored as JSON. Each output is a
   * materializer, or `{ materializer, name }` to save its versions under an
   * artifact name of your choice (see {@link OutputOptions}).
   */
  outputs?: Record<string, OutputSpec>;
  /** zod object schema of the step's JSON parameters. */
  parameters?: P;
  retry?: RetryOptions;
  /** Reuse outputs of an earlier identical step run (default: the pipeline's setting). */
  enableCache?: boolean;
  settings?: Settings;
  resources?: ResourceSettings;
  /** Runs after the step completes (see {@link StepHook}); default: the pipeline's `onSuccess`. */
  onSuccess?: StepHookRef;
  /** Runs after the step fails for good (see {@link StepHook}); default: the pipeline's `onFailure`. */
  onFailure?: StepHookRef;
}

/** A typed reference to an output of a step invocation, only meaningful while a pipeline compiles. */
export interface OutputRef<T = unknown> {
  readonly [OUTPUT_REF]: { readonly step: string; readonly output: string; readonly collect?: true };
  /** Phantom: the value type, so wiring is type checked. */
  readonly [OUTPUT_TYPE]?: T;
}

/** What a step call returns: one ref per output, plus the invocation id under {@link INVOCATION}. */
export type InvocationResult<O> = { readonly [K in keyof O]-?: OutputRef<O[K]> } & { readonly [INVOCATION]: string };

/** Something `after` accepts: a step call's result, one of its outputs, or an invocation id. */
export type AfterRef = { readonly [INVOCATION]: string } | OutputRef | string;

/** Options of one step call inside a pipeline body. */
export interface InvocationOptions<P = undefined> {
  /** Invocation id; default the step name, then `name_2`, `name_3` for further calls. */
  id?: string;
  parameters?: ParamsInputOf<P>;
  /** Invocations that must finish before this one, besides those it takes inputs from. */
  after?: AfterRef[];
  enableCache?: boolean;
  retry?: RetryOptions;
  settings?: Settings;
  resources?: ResourceSettings;
}

const EXTERNAL_ARTIFACT: unique symbol = Symbol.for("stackyard.externalArtifact");

/** An input taken from an existing artifact version rather than from a step of this pipeline; made by {@link externalArtifact}. */
export interface ExternalArtifactRef<T = unknown> {
  readonly [EXTERNAL_ARTIFACT]: { readonly name: string; readonly version?: number; readonly tag?: string };
  /** Phantom: the value type, so wiring is type checked. */
  readonly [OUTPUT_TYPE]?: T;
}

/**
 * A step input read from a version of an artifact made by another run,
 * possibly of another pipeline: the newest version, a version number, or
 * the newest version carrying a tag. It is resolved when the run starts
 * (an unknown name or version stops the run before anything is written)
 * and becomes part of the consuming step's cache key and lineage.
 *
 * @example
 * ```ts
 * const model = externalArtifact<Model>("iris_model", { tag: "production" });
 * predict({ model, data: loadData().dataset });
 * ```
 *
 * @throws PipelineDefinitionError for a bad name, version or tag.
 */
export function externalArtifact<T = unknown>(name: string, which: { version?: number; tag?: string } = {}): ExternalArtifactRef<T> {
  if (typeof name !== "string" || !ARTIFACT_NAME.test(name)) {
    throw new PipelineDefinitionError(`externalArtifact: invalid artifact name ${JSON.stringify(name)}: ${ARTIFACT_NAME_RULE}`);
  }
  if (which.version !== undefined && which.tag !== undefined) {
    throw new PipelineDefinitionError(`externalArtifact('${name}'): give a version or a tag, not both`);
  }
  if (which.version !== undefined && !(Number.isSafeInteger(which.version) && which.version >= 1)) {
    throw new PipelineDefinitionError(`externalArtifact('${name}'): version must be a whole number from 1, got ${String(which.version)}`);
  }
  if (which.tag !== undefined && (typeof which.tag !== "string" || which.tag.trim() === "")) {
    throw new PipelineDefinitionError(`externalArtifact('${name}'): tag must be a non-empty string`);
  }
  const spec = { name, ...(which.version !== undefined ? { version: which.version } : {}), ...(which.tag !== undefined ? { tag: which.tag } : {}) };
  return Object.freeze({ [EXTERNAL_ARTIFACT]: Object.freeze(spec) }) as ExternalArtifactRef<T>;
}

/** True for values made by {@link externalArtifact}. */
export function isExternalArtifactRef(value: unknown): value is ExternalArtifactRef {
  return typeof value === "object" && value !== null && EXTERNAL_ARTIFACT in value;
}

/** Inputs of a step call: for each input of the step function, an output of another step or an external artifact. */
export type InputRefs<I> = { [K in keyof I]: OutputRef<I[K]> | ExternalArtifactRef<I[K]> };

const UNMAPPED: unique symbol = Symbol.for("stackyard.unmapped");

/** An input of a mapped step passed whole to every item; made by {@link unmapped}. */
export interface Unmapped<T = unknown> {
  readonly [UNMAPPED]: OutputRef<T> | ExternalArtifactRef<T>;
}

/**
 * Marks an input of {@link Step.map} as passed whole to every item rather
 * than mapped over (a model, a config, a lookup table).
 */
export function unmapped<T>(ref: OutputRef<T> | ExternalArtifactRef<T>): Unmapped<T> {
  if (!isOutputRef(ref) && !isExternalArtifactRef(ref)) {
    throw new PipelineDefinitionError("unmapped() takes an output of a step or an externalArtifact()");
  }
  return Object.freeze({ [UNMAPPED]: ref }) as Unmapped<T>;
}

/** Inputs of {@link Step.map}: a list output to map over (the step gets one element), or a value passed whole. */
export type MapInputRefs<I> = { [K in keyof I]: OutputRef<readonly I[K][]> | Unmapped<I[K]> | ExternalArtifactRef<I[K]> };

/** How many failed items a map tolerates: a count, or a percentage of its items (`"10%"`). */
export type ToleratedFailures = number | `${number}%`;

/** Options of {@link Step.map} and {@link Step.product}, besides those of any step call. */
export interface MapOptions<P = undefined> extends InvocationOptions<P> {
  /** Most items running at once (besides the orchestrator's own limit). Default: the orchestrator's. */
  concurrency?: number;
  /**
   * Failed items the map tolerates: the map then succeeds, and collectors get
   * the outputs of the items that succeeded, in item order. Default 0: the
   * first failed item fails the map and no further item starts.
   */
  tolerateFailures?: ToleratedFailures;
}

/** What {@link Step.map} returns: wire its items' outputs downstream with `collect`, or wait for it with `after`. */
export interface MapResult<O> {
  readonly [INVOCATION]: string;
  /**
   * The list of one output of every item that succeeded, in item order (an
   * empty map gives `[]`). Without a name: the step's single output.
   */
  collect<K extends keyof O & string>(output: K): OutputRef<O[K][]>;
  /** The list of the step's single output of every item that succeeded, in item order. */
  collect(): "output" extends keyof O ? OutputRef<O["output"][]> : never;
}

/** How a map step runs: which inputs it maps over, how they combine, and its limits. */
export interface MapSpec {
  /** Names of the mapped inputs, each wired in `inputs`. */
  inputs: string[];
  /** `zip`: the i-th elements together (lists of equal length); `product`: every combination. */
  mode: "zip" | "product";
  concurrency?: number;
  /** Failed items tolerated: a count, or a percentage of the items. */
  tolerate?: { count: number } | { percent: number };
}

type StepCallArgs<I, P> = {} extends I ? [inputs?: InputRefs<I>, options?: InvocationOptions<P>] : [inputs: InputRefs<I>, options?: InvocationOptions<P>];

/** Everything the engine knows about a step definition. */
export interface StepDefinition {
  readonly name: string;
  /** Output name to materializer; `output` with `json` for single-output steps. */
  readonly outputs: Readonly<Record<string, MaterializerRef>>;
  /** Output name to the artifact name given in `outputs` (outputs without one are named `<pipeline>.<step>.<output>`). */
  readonly artifactNames: Readonly<Record<string, string>>;
  /** True when the function returns the single output itself rather than an object of outputs. */
  readonly singleOutput: boolean;
  readonly parametersSchema: z.ZodObject | undefined;
  readonly retry: RetryOptions | undefined;
  readonly enableCache: boolean | undefined;
  readonly settings: Settings | undefined;
  readonly resources: ResourceSettings | undefined;
  readonly onSuccess: StepHookRef | undefined;
  readonly onFailure: StepHookRef | undefined;
  /** The step function. Call it directly to unit-test a step. */
  readonly fn: StepFunction<any, unknown, any>;
  /** sha256 of the function's source and the output spec; part of the cache key. */
  readonly codeHash: string;
}

/** A step: call it inside a pipeline body to add an invocation. */
export interface Step<I = any, O = any, P extends z.ZodObject | undefined = any> {
  (...args: StepCallArgs<I, P>): InvocationResult<O>;
  readonly definition: StepDefinition;
  /**
   * Maps the step over lists known only when the run gets there: one step
   * run per item (`score[0]`, `score[1]`, ...), each with its own logs,
   * outputs, retries and cache key. Each input given an upstream list output
   * is mapped (the step receives one element); inputs wrapped in
   * {@link unmapped}, and external artifacts, are passed whole. Several
   * mapped lists are zipped and must have the same length. Downstream steps
   * take the items' outputs with {@link MapResult.collect}.
   *
   * @example
   * ```ts
   * const shards = split();
   * const scores = score.map({ shard: shards.items, model: unmapped(model.output) }, { concurrency: 8 });
   * report({ scores: scores.collect() });
   * ```
   *
   * @throws PipelineDefinitionError when no input is mapped, or for bad options.
   */
  map(inputs: MapInputRefs<I>, options?: MapOptions<P>): MapResult<O>;
  /** Like {@link Step.map}, over every combination of the mapped lists (their cartesian product, the last list varying fastest). */
  product(inputs: MapInputRefs<I>, options?: MapOptions<P>): MapResult<O>;
}

const STEP_NAME = /^[A-Za-z_][\w.-]*$/;

/**
 * Defines a step: a typed async function with named outputs, JSON
 * parameters, retry and cache options, settings and resources.
 *
 * @example
 * ```ts
 * export const loadData = step(
 *   { name: "load_data", outputs: { dataset: "json" }, parameters: z.object({ seed: z.number().default(42) }) },
 *   async (_inputs: {}, ctx) => ({ dataset: makeData(ctx.parameters.seed) }),
 * );
 * ```
 */
export function step<I extends object, K extends string, R extends { [key in K]: unknown }, P extends z.ZodObject | undefined = undefined>(
  options: StepOptions<P> & { outputs: Record<K, OutputSpec> },
  fn: StepFunction<I, R, ParamsOf<P>>,
): Step<I, R, P>;
export function step<I extends object, R, P extends z.ZodObject | undefined = undefined>(
  options: StepOptions<P> & { outputs?: undefined },
  fn: StepFunction<I, R, ParamsOf<P>>,
): Step<I, { output: R }, P>;
export function step(options: StepOptions<z.ZodObject | undefined>, fn: StepFunction<any, any, any>): Step {
  if (!options || typeof options.name !== "string" || !STEP_NAME.test(options.name)) {
    throw new PipelineDefinitionError(`Invalid step name '${String(options?.name)}': use letters, digits, '_', '-' or '.'`);
  }
  if (typeof fn !== "function") throw new PipelineDefinitionError(`Step '${options.name}' needs a function as its second argument`);
  const singleOutput = options.outputs === undefined;
  const specs: Record<string, OutputSpec> = singleOutput ? { output: "json" } : { ...options.outputs };
  if (Object.keys(specs).length === 0) {
    throw new PipelineDefinitionError(`Step '${options.name}' declares no outputs: omit 'outputs' for a single JSON output`);
  }
  const outputs: Record<string, MaterializerRef> = {};
  const artifactNames: Record<string, string> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const materializer = typeof spec === "object" && spec !== null ? (spec.materializer ?? "json") : spec;
    if (typeof spec === "object" && spec !== null) {
      const extra = Object.keys(spec).filter((k) => k !== "materializer" && k !== "name");
      if (extra.length) {
        throw new PipelineDefinitionError(`Step '${options.name}' output '${key}' has unknown option '${extra[0]}' (options: materializer, name)`);
      }
      if (spec.name !== undefined) {
        if (typeof spec.name !== "string" || !ARTIFACT_NAME.test(spec.name)) {
          throw new PipelineDefinitionError(
            `Step '${options.name}' output '${key}' has an invalid artifact name ${JSON.stringify(spec.name)}: ${ARTIFACT_NAME_RULE}`,
          );
        }
        artifactNames[key] = spec.name;
      }
    }
    if (!OUTPUT_NAME.test(key)) {
      throw new PipelineDefinitionError(`Step '${options.name}' has an invalid output name ${JSON.stringify(key)}: ${OUTPUT_NAME_RULE}`, {
        hint: "Output names are folder names in the artifact store; rename the output in the step's 'outputs'.",
      });
    }
    if (typeof materializer !== "string" || !materializer) {
      throw new PipelineDefinitionError(
        `Step '${options.name}' output '${key}': the materializer must be a name (json, text, bytes, file, stream, svg, markdown, html, csv) or a source path MODULE#EXPORT`,
      );
    }
    outputs[key] = materializer;
  }
  Object.freeze(outputs);
  const definition: StepDefinition = Object.freeze({
    name: options.name,
    outputs,
    artifactNames: Object.freeze(artifactNames),
    singleOutput,
    parametersSchema: options.parameters,
    retry: options.retry,
    enableCache: options.enableCache,
    settings: options.settings,
    resources: options.resources,
    onSuccess: hookOption(options.onSuccess, options.name, "onSuccess"),
    onFailure: hookOption(options.onFailure, options.name, "onFailure"),
    fn,
    codeHash: createHash("sha256").update(fn.toString()).update("\0").update(JSON.stringify(outputs)).digest("hex"),
  });
  const call = (inputs?: Record<string, unknown>, invocationOptions?: InvocationOptions<any>) => invoke(definition, inputs, invocationOptions);
  Object.defineProperty(call, "definition", { value: definition, enumerable: true });
  for (const mode of ["zip", "product"] as const) {
    const method = mode === "zip" ? "map" : "product";
    const mapCall = (inputs: Record<string, unknown>, mapOptions?: MapOptions<any>) => invoke(definition, inputs, mapOptions, mode);
    Object.defineProperty(call, method, { value: mapCall });
  }
  Object.defineProperty(call, STEP, { value: true });
  Object.defineProperty(call, "name", { value: options.name });
  return call as unknown as Step;
}

/** A hook option checked to be a function or a source path `MODULE#EXPORT`. */
export function hookOption(hook: unknown, owner: string, option: string): StepHookRef | undefined {
  if (hook === undefined || typeof hook === "function") return hook as StepHook | undefined;
  if (typeof hook === "string") {
    try {
      parseSourcePath(hook);
      return hook;
    } catch (error) {
      throw new PipelineDefinitionError(`'${option}' of '${owner}' is not a valid source path: ${(error as Error).message}`);
    }
  }
  throw new PipelineDefinitionError(`'${option}' of '${owner}' must be a function or a source path MODULE#EXPORT, got ${typeof hook}`);
}

/** True for values made by {@link step}. */
export function isStep(value: unknown): value is Step {
  return typeof value === "function" && (value as unknown as Record<symbol, unknown>)[STEP] === true;
}

/** True for output refs (what a step call's properties are). */
export function isOutputRef(value: unknown): value is OutputRef {
  return typeof value === "object" && value !== null && OUTPUT_REF in value;
}

function makeRef(step: string, output: string): OutputRef {
  return Object.freeze({ [OUTPUT_REF]: Object.freeze({ step, output }) }) as OutputRef;
}

/**
 * Output refs for names that are not outputs: the prototype of every step
 * call result answers misses with a dangling ref, so that wiring a misspelt
 * output fails at compile time with a message naming step and key instead
 * of passing `undefined` along.
 */
const danglingRefs: object = new Proxy(Object.create(null) as object, {
  get(_target, key, receiver) {
    if (typeof key !== "string") return undefined;
    const id = (receiver as Record<symbol, unknown>)[INVOCATION];
    return typeof id === "string" ? makeRef(id, key) : undefined;
  },
});

function invoke(
  definition: StepDefinition,
  inputs: Record<string, unknown> | undefined,
  options: MapOptions<any> | undefined,
  mapMode?: MapSpec["mode"],
): unknown {
  const state = currentCompileState();
  if (!state) {
    throw new PipelineDefinitionError(`Step '${definition.name}' was called outside a pipeline body: steps only run as part of a pipeline`, {
      hint: `Call it inside pipeline({ name }, (params) => { ${definition.name}(...) }), or call ${definition.name}.definition.fn(inputs, context) to test the function alone.`,
    });
  }
  let id: string;
  if (options?.id !== undefined) {
    id = options.id;
    if (!STEP_NAME.test(id))
      throw new PipelineDefinitionError(`Invalid invocation id '${id}' for step '${definition.name}': use letters, digits, '_', '-' or '.'`);
    if (state.byId.has(id)) throw new PipelineDefinitionError(`Invocation id '${id}' is used twice in pipeline '${state.pipelineName}'`);
  } else {
    // name, name_2, name_3, ...: continue from the last suffix given, so a
    // step called n times costs n lookups, not n² (ids set explicitly are skipped).
    const suffixes = (state.nextSuffix ??= new Map());
    let n = suffixes.get(definition.name) ?? 2;
    id = definition.name;
    if (state.byId.has(id)) {
      while (state.byId.has((id = `${definition.name}_${n}`))) n++;
      n++;
    }
    suffixes.set(definition.name, n);
  }
  const wiring: Record<string, InputWiring> = {};
  const external: Record<string, { name: string; version?: number; tag?: string }> = {};
  const mapped: string[] = [];
  if (inputs !== undefined && (typeof inputs !== "object" || inputs === null)) {
    throw new PipelineDefinitionError(`Step '${id}' takes an object of inputs, got ${inputs === null ? "null" : typeof inputs}`);
  }
  for (let [key, value] of Object.entries(inputs ?? {})) {
    if (value === undefined) {
      throw new PipelineDefinitionError(`Input '${key}' of step '${id}' is undefined: wire it to an output of an upstream step`);
    }
    const whole = typeof value === "object" && value !== null && UNMAPPED in value;
    if (whole) {
      if (!mapMode)
        throw new PipelineDefinitionError(`Input '${key}' of step '${id}' is wrapped in unmapped(), which only means something in ${definition.name}.map()`);
      value = (value as Unmapped)[UNMAPPED];
    } else if (mapMode && isOutputRef(value)) {
      mapped.push(key);
    }
    if (isExternalArtifactRef(value)) {
      external[key] = { ...value[EXTERNAL_ARTIFACT] };
      continue;
    }
    if (!isOutputRef(value)) {
      throw new PipelineDefinitionError(`Input '${key}' of step '${id}' is not a step output: inputs must come from other steps or externalArtifact()`, {
        hint: "Pass plain values as parameters: step(inputs, { parameters: { ... } }).",
      });
    }
    wiring[key] = { ...value[OUTPUT_REF] };
  }
  const invocation: Invocation = { id, definition, inputs: wiring, after: options?.after ?? [], options: options ?? {} };
  if (Object.keys(external).length) invocation.external = external;
  if (mapMode) invocation.map = mapSpec(id, definition, mapMode, mapped, options);
  state.invocations.push(invocation);
  state.byId.set(id, invocation);
  if (mapMode) return mapResult(id, definition);

  const result = Object.create(danglingRefs) as Record<string | symbol, unknown>;
  for (const output of Object.keys(definition.outputs)) result[output] = makeRef(id, output);
  Object.defineProperty(result, INVOCATION, { value: id });
  return Object.freeze(result);
}

/** Where one input of an invocation comes from; `collect` when it is the list of a map step's item outputs. */
export interface InputWiring {
  step: string;
  output: string;
  collect?: true;
}

const MAP_OPTIONS = new Set(["id", "parameters", "after", "enableCache", "retry", "settings", "resources", "concurrency", "tolerateFailures"]);

function mapSpec(id: string, definition: StepDefinition, mode: MapSpec["mode"], mapped: string[], options: MapOptions<any> | undefined): MapSpec {
  const method = mode === "zip" ? "map" : "product";
  if (mapped.length === 0) {
    throw new PipelineDefinitionError(`${definition.name}.${method}() of step '${id}' maps over nothing: give at least one input an upstream list output`, {
      hint: "Inputs wrapped in unmapped() and external artifacts are passed whole; call the step directly when nothing is mapped.",
    });
  }
  const unknown = Object.keys(options ?? {}).find((key) => !MAP_OPTIONS.has(key));
  if (unknown) {
    throw new PipelineDefinitionError(
      `${definition.name}.${method}() of step '${id}' has unknown option '${unknown}' (options: ${[...MAP_OPTIONS].join(", ")})`,
    );
  }
  const spec: MapSpec = { inputs: mapped, mode };
  const concurrency = options?.concurrency;
  if (concurrency !== undefined) {
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new PipelineDefinitionError(`concurrency of map step '${id}' must be a whole number from 1, got ${String(concurrency)}`);
    }
    spec.concurrency = concurrency;
  }
  const tolerate = options?.tolerateFailures;
  if (tolerate !== undefined && tolerate !== 0) {
    const percent = typeof tolerate === "string" ? /^(\d+(?:\.\d+)?)%$/.exec(tolerate) : null;
    if (percent && Number(percent[1]) <= 100) spec.tolerate = { percent: Number(percent[1]) };
    else if (typeof tolerate === "number" && Number.isSafeInteger(tolerate) && tolerate > 0) spec.tolerate = { count: tolerate };
    else {
      throw new PipelineDefinitionError(
        `tolerateFailures of map step '${id}' must be a whole number of items or a percentage such as "10%", got ${JSON.stringify(tolerate)}`,
      );
    }
  }
  return spec;
}

function mapResult(id: string, definition: StepDefinition): MapResult<Record<string, unknown>> {
  const outputs = Object.keys(definition.outputs);
  const collect = (output?: string): OutputRef => {
    if (output === undefined) {
      if (!definition.singleOutput) {
        throw new PipelineDefinitionError(`collect() of map step '${id}' needs an output name: step '${definition.name}' has outputs ${outputs.join(", ")}`);
      }
      output = "output";
    }
    if (!outputs.includes(output)) {
      throw new PipelineDefinitionError(
        `collect('${output}') of map step '${id}': step '${definition.name}' has no such output (outputs: ${outputs.join(", ")})`,
      );
    }
    return Object.freeze({ [OUTPUT_REF]: Object.freeze({ step: id, output, collect: true }) }) as OutputRef;
  };
  const result = Object.create(danglingRefs) as Record<string | symbol, unknown>;
  Object.defineProperty(result, "collect", { value: collect });
  Object.defineProperty(result, INVOCATION, { value: id });
  return Object.freeze(result) as unknown as MapResult<Record<string, unknown>>;
}

/** The invocation id an `after` entry stands for. */
export function afterId(ref: AfterRef): string | undefined {
  if (typeof ref === "string") return ref;
  if (typeof ref !== "object" || ref === null) return undefined;
  if (isOutputRef(ref)) return ref[OUTPUT_REF].step;
  const id = (ref as Record<symbol, unknown>)[INVOCATION];
  return typeof id === "string" ? id : undefined;
}
