import { parseConfig } from "@stackyard/core";
import { z } from "zod";

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/**
 * `settings.docker` of a run configuration: how the image that runs a
 * pipeline's steps is built. Unknown keys are errors.
 */
export const dockerSettingsSchema = z.strictObject({
  /** Image to build on. Defaults to the orchestrator's parent image. */
  parent_image: z.string().min(1).optional(),
  /** npm packages (`name` or `name@range`) the steps need; installed only when missing from the copied node_modules. */
  requirements: z.array(z.string().min(1)).default([]),
  /** Stackyard flavor packages (`@stackyard/artifact-store-s3`) the steps need; installed only when missing. */
  required_integrations: z.array(z.string().min(1)).default([]),
  /** Environment variables baked into the image. */
  environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name (letters, digits, _)"), envValue).default({}),
  /** A Dockerfile of your own (relative to the source root), built first and used as the parent image. */
  dockerfile: z.string().min(1).optional(),
  /** Folder sent to the engine as build context (relative to the source root). Defaults to the folder whose node_modules resolves `stackyard`. */
  build_context_root: z.string().min(1).optional(),
  /** A .dockerignore file to use instead of `<build context>/.dockerignore` (relative to the source root). */
  dockerignore: z.string().min(1).optional(),
  /** Repository part of the image name: `<target_repository>:<content hash>`. */
  target_repository: z
    .string()
    .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, "must be a lowercase Docker repository name")
    .default("stackyard"),
  /** Build nothing: use `parent_image` as it is (it must already hold the project). */
  skip_build: z.boolean().default(false),
  /** A prebuilt image to use as it is; nothing is built or pushed. */
  image: z.string().min(1).optional(),
});

/** Parsed `settings.docker` (defaults filled in). */
export type DockerSettings = z.output<typeof dockerSettingsSchema>;
/** `settings.docker` as written in a run configuration. */
export type DockerSettingsInput = z.input<typeof dockerSettingsSchema>;

/** Validates `settings.docker`, throwing a ConfigError that names `where` and the bad key. */
export function parseDockerSettings(value: unknown, where = "settings.docker"): DockerSettings {
  return parseConfig(dockerSettingsSchema, value ?? {}, where);
}
