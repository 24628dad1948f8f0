import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { componentTypeLabel, type StackComponentType } from "../component/component-type.js";
import { splitSecrets } from "../config/secret.js";
import { formatIssues } from "../config/validate.js";
import { ConfigError, PipelineDefinitionError } from "../errors/errors.js";
import { checkTags } from "../store/metadata.js";
import { type Invocation, recordInvocations } from "./compile-state.js";
import { componentSettings, hasComponentSettings } from "./component-settings.js";
import { findNonJson } from "./json-value.js";
import { parseMemory } from "./memory.js";
import type { Pipeline } from "./pipeline.js";
import { loadRunConfig, type RunConfig, type RunConfigInput, settingsSchema } from "./run-config.js";
import { formatRunName } from "./run-name.js";
import { type PipelineSnapshot, type ResourceSettings, resourceSettingsSchema, retrySchema, SNAPSHOT_VERSION, type SnapshotStep } from "./snapshot.js";
import { exportNameAt, moduleSpecifierFor } from "./source-location.js";
import { afterId, type ParamsInputOf, type Settings } from "./step.js";

/** A stack component as compile sees it: its snapshot entry plus its flavor's settings schema. */
export interface CompileStackComponent {
  id: string;
  name: string;
  flavor: string;
  flavor_source: string;
  /** Config without secrets. */
  config: Record<string, unknown>;
  connector?: string | undefined;
  /** The flavor's `entrypoint` source path, for an orchestrator whose flavor names one. */
  entrypoint?: string | undefined;
  /** The flavor's `configSchema`; fields it marks secret never reach the snapshot, even when `config` holds them. */
  configSchema?: z.ZodObject | undefined;
  /** The flavor's `settingsSchema`; settings for this component are validated with it. */
  settingsSchema?: z.ZodObject | undefined;
}

/** The stack a pipeline compiles for. */
export interface CompileStack {
  name: string;
  components: Partial<Record<StackComponentType, CompileStackComponent>>;
}

/** Options of `pipeline.compile()`. */
export interface CompileOptions<P = any> {
  /** Pipeline parameters; override the configuration's `parameters`. */
  parameters?: ParamsInputOf<P>;
  /** Run configuration: a YAML file path or the parsed object. */
  config?: RunConfigInput;
  stack?: CompileStack;
  /** The pipeline's source path `MODULE#EXPORT`; default derived from where it was defined. */
  source?: string;
  /** Folder source paths are relative to (default: the current folder). */
  sourceRoot?: string;
  /** Run name (template), instead of the configuration's and the code's. */
  runName?: string;
  /** False disables caching for every step. */
  enableCache?: boolean;
  /** Tags for every run of the snapshot, besides the configuration's `tags`. */
  tags?: readonly string[];
}

const parsedResources = resourceSettingsSchema;

/** The snapshot's `tags`: the configuration's, then those of the options, each once; none when there are none. */
function runTags(config: RunConfig, options: CompileOptions, where: string): { tags?: string[] } {
  const tags = [...checkTags(config.tags ?? [], `tags in ${where}`), ...checkTags(options.tags ?? [], "the run's tags")];
  return tags.length ? { tags: [...new Set(tags)] } : {};
}

/**
 * Compiles a pipeline into a snapshot. See {@link Pipeline.compile}.
 */
export function compilePipeline(pipeline: Pipeline<any>, options: CompileOptions = {}): PipelineSnapshot {
  const { config, where } = loadRunConfig(options.config);
  const parameters = pipelineParameters(pipeline, config.parameters, options.parameters, where);
  const state = recordInvocations(pipeline.name, () => pipeline.body(parameters as never));
  if (state.invocations.length === 0) {
    throw new PipelineDefinitionError(`Pipeline '${pipeline.name}' has no steps: call at least one step in its body`);
  }
  for (const key of Object.keys(config.steps ?? {})) {
    if (!state.byId.has(key)) {
      throw new ConfigError(
        `Unknown step 'steps.${key}' in ${where}: pipeline '${pipeline.name}' has no step invocation '${key}' (it has ${[...state.byId.keys()].join(", ")})`,
      );
    }
  }
  const stack = options.stack;
  const scope = `pipeline '${pipeline.name}'`;
  const codeSettings = checkedSettings(pipeline.options.settings, scope);
  let pipelineSettings = mergeSettings(codeSettings, config.settings);
  const pipelineResources = mergeResources([pipeline.options.resources, codeSettings.resources, config.settings?.resources, config.resources], scope);
  pipelineSettings = withoutResources(pipelineSettings);
  validateComponentSettings(pipelineSettings, stack, `${scope} (${where})`);
  const pipelineCache = options.enableCache ?? config.enable_cache ?? pipeline.options.enableCache ?? true;

  const steps: SnapshotStep[] = state.invocations.map((invocation) => {
    const yaml = config.steps?.[invocation.id] ?? {};
    const { definition } = invocation;
    const stepScope = `step '${invocation.id}'`;
    const defSettings = checkedSettings(definition.settings, stepScope);
    const callSettings = checkedSettings(invocation.options.settings, stepScope);
    const merged = mergeSettings(mergeSettings(mergeSettings(pipelineSettings, defSettings), callSettings), yaml.settings);
    const resources = mergeResources(
      [
        pipelineResources,
        definition.resources,
        defSettings.resources,
        invocation.options.resources,
        callSettings.resources,
        yaml.settings?.resources,
        yaml.resources,
      ],
      stepScope,
    );
    const settings = withoutResources(merged);
    validateComponentSettings(settings, stack, `${stepScope} (${where})`);
    const retryResult = retrySchema.safeParse({ ...definition.retry, ...invocation.options.retry, ...yaml.retry });
    if (!retryResult.success) throw new ConfigError(formatIssues(retryResult.error.issues, `retry of ${stepScope}`));
    return {
      id: invocation.id,
      name: definition.name,
      code_hash: definition.codeHash,
      upstream: upstreamOf(invocation, state.byId, pipeline.name),
      inputs: invocation.inputs,
      ...(invocation.external ? { external: structuredClone(invocation.external) } : {}),
      ...(invocation.map ? { map: structuredClone(invocation.map) } : {}),
      parameters: stepParameters(invocation, yaml.parameters, where),
      ...(yaml.parameters && Object.keys(yaml.parameters).length ? { config_parameters: structuredClone(yaml.parameters) } : {}),
      outputs: Object.fromEntries(
        Object.entries(definition.outputs).map(([name, materializer]) => {
          const artifactName = definition.artifactNames[name];
          return [name, artifactName === undefined ? { materializer } : { materializer, name: artifactName }];
        }),
      ),
      settings,
      resources,
      retry: retryResult.data,
      enable_cache:
        options.enableCache ??
        yaml.enable_cache ??
        invocation.options.enableCache ??
        definition.enableCache ??
        config.enable_cache ??
        pipeline.options.enableCache ??
        true,
    };
  });

  return {
    version: SNAPSHOT_VERSION,
    id: randomUUID(),
    created: new Date().toISOString(),
    pipeline: { name: pipeline.name, source: sourceOf(pipeline, options), parameters },
    run_name_template: runNameTemplate(pipeline, options, config, where),
    enable_cache: pipelineCache,
    ...runTags(config, options, where),
    settings: Object.keys(pipelineResources).length ? { ...pipelineSettings, resources: pipelineResources } : pipelineSettings,
    steps: topologicalOrder(steps, pipeline.name),
    stack: {
      name: stack?.name ?? "",
      components: Object.fromEntries(
        Object.entries(stack?.components ?? {}).flatMap(([type, component]) =>
          component
            ? [
                [
                  type,
                  {
                    id: component.id,
                    name: component.name,
                    flavor: component.flavor,
                    flavor_source: component.flavor_source,
                    // Snapshots are stored and shipped in clear text: secrets stay out, whoever passed them in.
                    config: component.configSchema ? splitSecrets(component.configSchema, component.config).open : component.config,
                    ...(component.connector === undefined ? {} : { connector: component.connector }),
                    ...(component.entrypoint === undefined ? {} : { entrypoint: component.entrypoint }),
                  },
                ],
              ]
            : [],
        ),
      ),
    },
  };
}

const invocationCache = new WeakMap<Pipeline<any>, Map<string, Map<string, Invocation>>>();

/**
 * The step invocations of a pipeline for given (already parsed) parameters,
 * by id: what a step process needs to find the function of a snapshot step.
 * Cached per pipeline and parameters for the life of the process.
 */
export function invocationsOf(pipeline: Pipeline<any>, parameters: Record<string, unknown>): Map<string, Invocation> {
  let byParameters = invocationCache.get(pipeline);
  if (!byParameters) invocationCache.set(pipeline, (byParameters = new Map()));
  const key = JSON.stringify(parameters);
  let invocations = byParameters.get(key);
  if (!invocations) {
    invocations = recordInvocations(pipeline.name, () => pipeline.body(parameters as never)).byId;
    byParameters.set(key, invocations);
  }
  return invocations;
}

/**
 * The run name template, checked now: an empty name or an unknown
 * placeholder fails the compile, before a snapshot is stored anywhere.
 */
function runNameTemplate(pipeline: Pipeline<any>, options: CompileOptions, config: RunConfig, where: string): string {
  const [template, origin] =
    options.runName !== undefined
      ? [options.runName, "the run name given"]
      : config.run_name !== undefined
        ? [config.run_name, `run_name in ${where}`]
        : pipeline.options.runName !== undefined
          ? [pipeline.options.runName, `the runName of pipeline '${pipeline.name}'`]
          : [`${pipeline.name}-{date}-{time}`, `pipeline '${pipeline.name}'`];
  if (!template.trim()) throw new ConfigError(`Invalid run name '' (${origin}): a run name cannot be empty`);
  try {
    formatRunName(template);
  } catch (error) {
    throw new ConfigError(`${(error as Error).message} (${origin})`);
  }
  return template;
}

function sourceOf(pipeline: Pipeline<any>, options: CompileOptions): string {
  if (options.source) return options.source;
  const site = pipeline.definedAt;
  const exportName = pipeline.exportName ?? (site ? exportNameAt(site) : undefined);
  if (!site || !exportName) {
    throw new PipelineDefinitionError(
      `Cannot tell the source path of pipeline '${pipeline.name}': it must be exported from its module (export const x = pipeline(...)) so that steps can run in other processes`,
      { hint: "Export it, call resolvePipelineSource(pipeline, sourceRoot) first, or pass { source: './file.ts#exportName' }." },
    );
  }
  return `${moduleSpecifierFor(site.file, options.sourceRoot ?? process.cwd())}#${exportName}`;
}

function pipelineParameters(
  pipeline: Pipeline<any>,
  fromConfig: Record<string, unknown> | undefined,
  fromOptions: Record<string, unknown> | undefined,
  where: string,
): Record<string, unknown> {
  const raw = { ...fromConfig, ...fromOptions };
  const schema = pipeline.options.parameters as z.ZodObject | undefined;
  return parseParameters(schema, raw, `pipeline '${pipeline.name}'`, where);
}

function stepParameters(invocation: Invocation, fromConfig: Record<string, unknown> | undefined, where: string): Record<string, unknown> {
  const raw = { ...(invocation.options.parameters as Record<string, unknown> | undefined), ...fromConfig };
  return parseParameters(invocation.definition.parametersSchema, raw, `step '${invocation.id}'`, where);
}

/** @internal Parameters of `scope` checked against `schema`: unknown keys, non-JSON values and schema errors are refused, naming `where`. */
export function parseParameters(schema: z.ZodObject | undefined, raw: Record<string, unknown>, scope: string, where: string): Record<string, unknown> {
  const bad = findNonJson(raw, "");
  if (bad) {
    throw new PipelineDefinitionError(`Parameter '${bad.path}' of ${scope} is not JSON-serialisable: ${bad.reason}`, {
      hint: "Parameters travel to other processes as JSON; pass data between steps as inputs and outputs instead.",
    });
  }
  if (!schema) {
    const keys = Object.keys(raw);
    if (keys.length) {
      throw new ConfigError(`Unknown parameter '${keys[0]}' for ${scope} (from code or ${where}): it declares no parameters`, {
        hint: "Add a zod schema under `parameters` to its definition.",
      });
    }
    return {};
  }
  const shape = schema.shape as Record<string, unknown>;
  const catchall = (schema as unknown as { _zod: { def: { catchall?: unknown } } })._zod.def.catchall;
  if (!catchall) {
    for (const key of Object.keys(raw)) {
      if (!(key in shape)) {
        throw new ConfigError(
          `Unknown parameter '${key}' for ${scope} (from code or ${where}): known parameters are ${Object.keys(shape).join(", ") || "none"}`,
        );
      }
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, `parameters of ${scope} (from code or ${where})`));
  const parsed = result.data as Record<string, unknown>;
  const badParsed = findNonJson(parsed, "");
  if (badParsed) throw new PipelineDefinitionError(`Parameter '${badParsed.path}' of ${scope} is not JSON-serialisable after parsing: ${badParsed.reason}`);
  return parsed;
}

function checkedSettings(settings: Settings | undefined, scope: string): Settings {
  if (settings === undefined) return {};
  const result = settingsSchema.safeParse(settings);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, `settings of ${scope}`));
  return settings;
}

/** Merges settings per key: the later object's fields win over the earlier's. */
function mergeSettings(base: Record<string, unknown>, override: Record<string, unknown> | undefined): Settings {
  const out: Settings = { ...(base as Settings) };
  for (const [key, value] of Object.entries(override ?? {})) {
    out[key] = { ...out[key], ...(value as Record<string, unknown>) };
  }
  return out;
}

function withoutResources(settings: Settings): Settings {
  if (!("resources" in settings)) return settings;
  const { resources: _ignored, ...rest } = settings;
  return rest;
}

function mergeResources(layers: unknown[], scope: string): ResourceSettings {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) if (layer && typeof layer === "object") Object.assign(merged, layer);
  const result = parsedResources.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, `resources of ${scope}`));
  if (result.data.memory !== undefined) parseMemory(result.data.memory, `resources.memory of ${scope}`);
  return result.data;
}

function validateComponentSettings(settings: Settings, stack: CompileStack | undefined, scope: string): void {
  if (!stack) return;
  for (const [type, component] of Object.entries(stack.components) as [StackComponentType, CompileStackComponent | undefined][]) {
    if (!component?.settingsSchema) continue;
    const key = { type, flavor: component.flavor };
    if (!hasComponentSettings(settings, key)) continue;
    componentSettings(
      settings,
      key,
      component.settingsSchema,
      `settings.${type} of ${scope} (${componentTypeLabel(type)} '${component.name}', flavor ${component.flavor})`,
    );
  }
}

/** Built-in materializers whose values are never lists, so no map can go over them. */
const NOT_A_LIST = new Set(["text", "bytes", "file", "stream", "svg", "markdown", "html"]);

function upstreamOf(invocation: Invocation, byId: Map<string, Invocation>, pipelineName: string): string[] {
  const upstream = new Set<string>();
  for (const [key, wiring] of Object.entries(invocation.inputs)) {
    const producer = byId.get(wiring.step);
    if (!producer) {
      throw new PipelineDefinitionError(
        `Input '${key}' of step '${invocation.id}' comes from step '${wiring.step}', which is not part of pipeline '${pipelineName}'`,
      );
    }
    if (!(wiring.output in producer.definition.outputs)) {
      throw new PipelineDefinitionError(
        `Input '${key}' of step '${invocation.id}' is wired to output '${wiring.output}' of step '${wiring.step}', which has no such output (outputs: ${Object.keys(producer.definition.outputs).join(", ")})`,
      );
    }
    if (producer.map && !wiring.collect) {
      throw new PipelineDefinitionError(
        `Input '${key}' of step '${invocation.id}' is wired to output '${wiring.output}' of map step '${wiring.step}', which has one value per item`,
        { hint: `Pass the list of the items' values: ${wiring.step}.collect(${producer.definition.singleOutput ? "" : `"${wiring.output}"`}).` },
      );
    }
    if (wiring.collect && !producer.map) {
      throw new PipelineDefinitionError(`Input '${key}' of step '${invocation.id}' collects step '${wiring.step}', which is not a map step`);
    }
    const materializer = producer.definition.outputs[wiring.output]!;
    if (invocation.map?.inputs.includes(key) && !wiring.collect && NOT_A_LIST.has(materializer)) {
      throw new PipelineDefinitionError(
        `Map step '${invocation.id}' maps input '${key}' over output '${wiring.output}' of step '${wiring.step}', which its materializer '${materializer}' stores as one value, not a list`,
        { hint: `Return an array stored as json, or pass it whole: unmapped(${wiring.step}.${wiring.output}).` },
      );
    }
    upstream.add(wiring.step);
  }
  for (const ref of invocation.after) {
    const id = afterId(ref);
    if (id === undefined || !byId.has(id)) {
      throw new PipelineDefinitionError(
        `Step '${invocation.id}' runs after '${String(id ?? ref)}', which is not a step invocation of pipeline '${pipelineName}'`,
      );
    }
    if (id === invocation.id) throw new PipelineDefinitionError(`Step '${invocation.id}' cannot run after itself`);
    upstream.add(id);
  }
  return [...upstream];
}

/** Kahn's algorithm, stable in definition order; a leftover means a cycle, which is named. */
function topologicalOrder(steps: SnapshotStep[], pipelineName: string): SnapshotStep[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const indegree = new Map<string, number>();
  const downstream = new Map<string, string[]>();
  for (const s of steps) {
    indegree.set(s.id, s.upstream.length);
    for (const up of s.upstream) {
      let list = downstream.get(up);
      if (!list) downstream.set(up, (list = []));
      list.push(s.id);
    }
  }
  const queue = steps.filter((s) => s.upstream.length === 0).map((s) => s.id);
  const order: SnapshotStep[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    order.push(byId.get(id)!);
    for (const next of downstream.get(id) ?? []) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  if (order.length === steps.length) return order;
  // Walk upstream edges among the leftovers until a step repeats: that is a cycle.
  const left = new Set(steps.filter((s) => indegree.get(s.id)! > 0).map((s) => s.id));
  const path: string[] = [];
  const seenAt = new Map<string, number>();
  let current = [...left][0]!;
  while (!seenAt.has(current)) {
    seenAt.set(current, path.length);
    path.push(current);
    current = byId.get(current)!.upstream.find((up) => left.has(up))!;
  }
  const cycle = path.slice(seenAt.get(current)).reverse();
  throw new PipelineDefinitionError(`Pipeline '${pipelineName}' has a cycle through 'after': ${[...cycle, cycle[0]].join(" -> ")}`, {
    hint: "Remove one of these 'after' dependencies.",
  });
}
