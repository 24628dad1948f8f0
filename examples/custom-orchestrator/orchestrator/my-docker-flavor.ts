/**
 * The `my_docker` orchestrator flavor: what `stackyard orchestrator flavor
 * register` imports. It holds only the flavor's name, config and settings
 * schemas; the implementation (and dockerode) load when a stack uses it.
 */
import { defineFlavor } from "@stackyard/core";
import { z } from "zod";

/** Component config: `stackyard orchestrator register my_docker_orchestrator -f my_docker --image=...`. */
export const myDockerConfigSchema = z.strictObject({
  /** Parent image with Node; default the image the repo's test tools build, `stackyard/node:<this Node's version>`. */
  image: z.string().min(1).optional(),
  /** Most step containers running at once (default: the machine's parallelism). */
  concurrency: z.number().int().positive().optional(),
  /** Docker network mode of step containers (default `host`). */
  network_mode: z.string().min(1).default("host"),
});
export type MyDockerConfig = z.output<typeof myDockerConfigSchema>;

/** Per-pipeline or per-step settings: `settings.orchestrator` in the run configuration. */
export const myDockerSettingsSchema = z.strictObject({
  /** A setting of our own, as in the tutorial: printed for each run and handed to every step container. */
  some_setting: z.string().optional(),
  /** Overrides the parent image for a pipeline or a step. */
  image: z.string().min(1).optional(),
});
export type MyDockerSettings = z.output<typeof myDockerSettingsSchema>;

/** Runs each step of a pipeline locally in its own Docker container. */
export const LocalDockerOrchestratorFlavor = defineFlavor({
  name: "my_docker",
  type: "orchestrator",
  description: "Runs each step in its own local Docker container (the custom-orchestrator tutorial)",
  configSchema: myDockerConfigSchema,
  settingsSchema: myDockerSettingsSchema,
  remote: false,
  // What `stackyard step run` takes and does in each step container (see the README, "A custom step entrypoint").
  entrypoint: "./orchestrator/my-entrypoint.ts#MyDockerEntrypoint",
  implementation: async () => (await import("./my-docker-orchestrator.js")).LocalDockerOrchestrator,
});
