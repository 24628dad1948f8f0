import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { z } from "zod";
import { STACK_COMPONENT_TYPES } from "../component/component-type.js";
import { formatIssues } from "../config/validate.js";
import { ConfigError } from "../errors/errors.js";
import { parseMemory } from "./memory.js";
import { resourceSettingsSchema } from "./snapshot.js";

// yaml loads only when a run configuration file is read: most processes
// (every step process, every run without --config) never need it.
let yaml: typeof import("yaml") | undefined;
const loadYaml = (): typeof import("yaml") => (yaml ??= createRequire(import.meta.url)("yaml") as typeof import("yaml"));

const settingsObject = z.record(z.string(), z.unknown());

/** Keys a `settings` block may have: `docker`, `resources`, and per component type `type` and `type.<flavor>`. */
export function isSettingsKey(key: string): boolean {
  if (key === "docker" || key === "resources") return true;
  const [type, flavor, ...rest] = key.split(".");
  return rest.length === 0 && (STACK_COMPONENT_TYPES as readonly string[]).includes(type ?? "") && (flavor === undefined || /^[a-z][a-z0-9_]*$/.test(flavor));
}

/** `settings` of a run configuration or a step definition. */
export const settingsSchema = z.record(z.string(), z.unknown()).superRefine((settings, ctx) => {
  for (const [key, value] of Object.entries(settings)) {
    if (!isSettingsKey(key)) {
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `unknown settings key (expected docker, resources, or a component type such as orchestrator or orchestrator.<flavor>)`,
      });
    } else if (!settingsObject.safeParse(value).success) {
      ctx.addIssue({ code: "custom", path: [key], message: "expected a mapping of settings" });
    } else if (key === "resources") {
      const parsed = resourceSettingsSchema.safeParse(value);
      if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] } as never);
    }
  }
});

const memoryChecked = resourceSettingsSchema.superRefine((resources, ctx) => {
  if (resources.memory !== undefined) {
    try {
      parseMemory(resources.memory);
    } catch (error) {
      ctx.addIssue({ code: "custom", path: ["memory"], message: (error as Error).message.replace(/ at memory:/, ":") });
    }
  }
});

/** Per-invocation overrides under `steps.<id>`. */
export const stepRunConfigSchema = z
  .object({
    parameters: z.record(z.string(), z.unknown()).optional(),
    settings: settingsSchema.optional(),
    resources: memoryChecked.optional(),
    enable_cache: z.boolean().optional(),
    retry: z
      .object({
        max_retries: z.number().int().nonnegative().optional(),
        delay: z.number().nonnegative().optional(),
        backoff: z.number().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * A run configuration file (seed 000's `configs/training_pipeline.yaml`).
 * Strict: every unknown key is an error naming the key and the file.
 */
export const runConfigSchema = z
  .object({
    /** Run name template; `{date}` and `{time}` are replaced when the run starts. */
    run_name: z.string().min(1).optional(),
    enable_cache: z.boolean().optional(),
    /** Tags every run gets (shown and filtered in `runs list --tag` and the dashboard). */
    tags: z.array(z.string()).optional(),
    /** Pipeline parameters. */
    parameters: z.record(z.string(), z.unknown()).optional(),
    settings: settingsSchema.optional(),
    resources: memoryChecked.optional(),
    /** Overrides per step invocation id. */
    steps: z.record(z.string(), stepRunConfigSchema.nullable()).optional(),
  })
  .strict();

/** A parsed run configuration. */
export type RunConfig = z.infer<typeof runConfigSchema>;
/** What may be passed as a run configuration: a file path, or an object with the file's structure. */
export type RunConfigInput = string | RunConfig;

/** A run configuration with where it came from, for messages. */
export interface LoadedRunConfig {
  config: RunConfig;
  /** The file as the user named it, or "run configuration" for an object. */
  where: string;
}

/**
 * Reads and validates a run configuration. A path is read as YAML; malformed
 * YAML is a {@link ConfigError} naming the file and line, unknown keys are
 * ConfigErrors naming the key and file.
 */
export function loadRunConfig(input: RunConfigInput | undefined): LoadedRunConfig {
  if (input === undefined) return { config: {}, where: "run configuration" };
  if (typeof input !== "string") return { config: validateRunConfig(input, "run configuration"), where: "run configuration" };
  let text: string;
  try {
    text = readFileSync(input, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`Cannot read run configuration ${input}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`, {
      hint: "Pass the path of a YAML file, relative to the current folder.",
    });
  }
  const document = loadYaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const line = error.linePos?.[0]?.line;
    throw new ConfigError(
      `Malformed YAML in ${input}${line === undefined ? "" : ` at line ${line}`}: ${error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
    );
  }
  let value: unknown;
  try {
    value = document.toJS();
  } catch (error) {
    // An alias bomb ("billion laughs") stops at yaml's alias limit instead of filling memory.
    throw new ConfigError(`Malformed YAML in ${input}: ${(error as Error).message.split("\n")[0]}`, {
      hint: "Expand the aliases (*name) in the file, or use fewer of them.",
    });
  }
  return { config: validateRunConfig(value ?? {}, input), where: input };
}

function validateRunConfig(value: unknown, where: string): RunConfig {
  const result = runConfigSchema.safeParse(value);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, where));
  return result.data;
}
