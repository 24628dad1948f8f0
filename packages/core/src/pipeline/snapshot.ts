import { z } from "zod";
import { OUTPUT_NAME, OUTPUT_NAME_RULE } from "./output-name.js";

/** Current snapshot format version. Loading another version is an error naming both. */
export const SNAPSHOT_VERSION = 1;

const json: z.ZodType<unknown> = z.unknown();

/** Compute resources asked for by a pipeline or a step. */
export const resourceSettingsSchema = z
  .object({
    cpu_count: z.number().positive().optional(),
    gpu_count: z.number().int().nonnegative().optional(),
    /** Memory as written by the user: "4Gb", "512MiB", "2GB". Parsed with `parseMemory`. */
    memory: z.string().optional(),
  })
  .strict();
/** Resources a step asks for (cpu_count, gpu_count, memory), as validated by `resourceSettingsSchema`. */
export type ResourceSettings = z.infer<typeof resourceSettingsSchema>;

/** Retry policy of a step. */
export const retrySchema = z
  .object({
    /** Attempts after the first one. */
    max_retries: z.number().int().nonnegative().default(0),
    /** Delay before the first retry, in seconds. */
    delay: z.number().nonnegative().default(1),
    /** Multiplier applied to the delay after each retry. */
    backoff: z.number().min(1).default(2),
  })
  .strict();
/** A step's retry policy (max_retries, delay in seconds, backoff), as validated by `retrySchema`. */
export type RetryConfig = z.infer<typeof retrySchema>;

/**
 * Where one input of a step comes from: an output of an upstream step or,
 * with `collect`, the list of that output of every item of an upstream map step.
 */
export const inputWiringSchema = z.object({ step: z.string(), output: z.string(), collect: z.literal(true).optional() }).strict();

/** How a map step fans out; see `Step.map`. */
export const mapSpecSchema = z
  .object({
    /** The inputs mapped over; the other inputs are passed whole to every item. */
    inputs: z.array(z.string()).min(1),
    /** `zip`: the i-th elements of each list; `product`: every combination, the last list varying fastest. */
    mode: z.enum(["zip", "product"]),
    /** Most items running at once. */
    concurrency: z.number().int().positive().optional(),
    /** Failed items the map tolerates: a count or a percentage of its items. Without it, one failure fails the map. */
    tolerate: z.union([z.object({ count: z.number().int().nonnegative() }).strict(), z.object({ percent: z.number().min(0).max(100) }).strict()]).optional(),
  })
  .strict();

/**
 * An input read from an existing artifact version (`externalArtifact(name)`):
 * what was asked for and, once the run resolves it, the version's record.
 */
export const externalInputSchema = z
  .object({
    name: z.string(),
    version: z.number().int().positive().optional(),
    tag: z.string().optional(),
    /** The artifact version's record, filled in when the run starts. */
    artifact: z
      .object({
        id: z.string(),
        runId: z.string(),
        stepId: z.string(),
        output: z.string(),
        uri: z.string(),
        materializer: z.string(),
        dataType: z.string(),
        size: z.number(),
        sha256: z.string(),
        created: z.string(),
        name: z.string().optional(),
        version: z.number().optional(),
      })
      .optional(),
  })
  .strict();
/** An input taken from an existing artifact version; see {@link externalInputSchema}. */
export type ExternalInput = z.infer<typeof externalInputSchema>;

/** One step invocation in a snapshot. */
export const snapshotStepSchema = z
  .object({
    /** Invocation id, unique in the pipeline: the step name, or `name_2` for a second use. */
    id: z.string(),
    /** The step definition's name. */
    name: z.string(),
    /** Hash of the step's code; part of the cache key. */
    code_hash: z.string(),
    /** Ids of the invocations that must finish first (data edges and `after`). */
    upstream: z.array(z.string()),
    /** Input name to upstream output. */
    inputs: z.record(z.string(), inputWiringSchema),
    /** JSON parameters. */
    parameters: z.record(z.string(), json),
    /** The step's parameters given by the run configuration (`steps.<id>.parameters`), which win over the pipeline body's when run parameters are applied. */
    config_parameters: z.record(z.string(), json).optional(),
    /**
     * Output name to the materializer that stores it (`json`, `text`, `bytes`,
     * `file`, or a source path) and, when the step gives one, the artifact
     * name its versions go under (else `<pipeline>.<step>.<output>`).
     */
    outputs: z.record(
      z.string().regex(OUTPUT_NAME, `output names must ${OUTPUT_NAME_RULE}`),
      z.object({ materializer: z.string(), name: z.string().optional() }).strict(),
    ),
    /**
     * Inputs taken from artifact versions made elsewhere (`externalArtifact`),
     * by input name: the version as resolved when the run started.
     */
    external: z.record(z.string(), externalInputSchema).optional(),
    /** Set for a map step: it runs once per item (`id[0]`, `id[1]`, ...) of the lists it maps over. */
    map: mapSpecSchema.optional(),
    /**
     * Merged settings: keys are `docker`, `resources`, a component type
     * (`orchestrator`) or a component type and flavor (`orchestrator.docker`).
     */
    settings: z.record(z.string(), json),
    resources: resourceSettingsSchema,
    retry: retrySchema,
    enable_cache: z.boolean(),
  })
  .strict();
/** One step invocation of a compiled snapshot: its id, code source, inputs, parameters, settings, resources and retry. */
export type SnapshotStep = z.infer<typeof snapshotStepSchema>;

/** One component of the stack a snapshot was compiled for. Never holds secrets. */
export const snapshotComponentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    flavor: z.string(),
    /** Source path of the flavor, so a container can load the implementation. */
    flavor_source: z.string(),
    /** Config without its secret fields. */
    config: z.record(z.string(), json),
    /** Name of the service connector the component uses. */
    connector: z.string().optional(),
    /** For the orchestrator: source path of its flavor's entrypoint configuration (`Flavor.entrypoint`), which step processes load. */
    entrypoint: z.string().optional(),
  })
  .strict();

/** A compiled pipeline: everything a process anywhere needs to run any of its steps. */
export const pipelineSnapshotSchema = z
  .object({
    version: z.literal(SNAPSHOT_VERSION),
    id: z.string(),
    created: z.string(),
    pipeline: z
      .object({
        name: z.string(),
        /** `MODULE#EXPORT` of the pipeline, relative to the source root. */
        source: z.string(),
        /** Pipeline parameters after YAML overrides. */
        parameters: z.record(z.string(), json),
      })
      .strict(),
    run_name_template: z.string(),
    /** The snapshot this one was made from by applying run parameters (a deployment's, triggered with parameters). */
    derived_from: z.string().optional(),
    enable_cache: z.boolean(),
    /** Tags every run of this snapshot gets (config `tags:`). */
    tags: z.array(z.string()).optional(),
    /** Pipeline-level settings after YAML overrides. */
    settings: z.record(z.string(), json),
    /** Step invocations in a topological order. */
    steps: z.array(snapshotStepSchema),
    stack: z
      .object({
        name: z.string(),
        components: z.record(z.string(), snapshotComponentSchema),
      })
      .strict(),
  })
  .strict();
/** A compiled pipeline: everything a run needs, as JSON; what orchestrators receive and step processes read. */
export type PipelineSnapshot = z.infer<typeof pipelineSnapshotSchema>;
