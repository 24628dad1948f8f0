/**
 * `@stackyard/orchestrator-docker`: the `docker` orchestrator flavor. Builds
 * one image per snapshot (reused while the project is unchanged) and runs
 * each step in its own container on a Docker engine.
 *
 * This module is light (zod and core); dockerode and the image builder load
 * with the implementation, on first use.
 *
 * @packageDocumentation
 */
import { defineFlavor, type OrchestratorCapabilities, secretField } from "@stackyard/core";
import { z } from "zod";

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name (letters, digits, _)");
const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/** `HOST:CONTAINER` or `HOST:CONTAINER:ro|rw`; HOST relative to the source root when relative. */
const volume = z.string().regex(/^[^:]+:\/[^:]*(?::(?:ro|rw))?$/, 'must be "host_path:/container/path" or "host_path:/container/path:ro"');

/**
 * `bridge` (default: the engine's own network, the host's loopback out of
 * reach), `host`, `none`, or a network name. `host` is never a default: a step
 * on it reaches every service on the host's 127.0.0.1 (a Docker engine on
 * tcp://127.0.0.1:2375 is root there) and, on EC2, the instance's role credentials.
 */
const networkMode = z.string().min(1);

/** Component config of a `docker` orchestrator. */
export const dockerOrchestratorConfigSchema = z.strictObject({
  /** Docker engine address (`unix:///var/run/docker.sock`, `tcp://127.0.0.1:2375`). Default: DOCKER_HOST, else the default socket. */
  docker_host: z.string().min(1).optional(),
  /** Image the step image is built on. Default: `node:<the client's Node version>-bookworm-slim`. `settings.docker.parent_image` wins. */
  parent_image: z.string().min(1).optional(),
  /** Pull the parent image when the engine lacks it (default false: nothing is pulled implicitly). */
  pull_parent_image: z.boolean().default(false),
  /**
   * Network mode of step containers: `bridge` (default, the engine's bridge network), `host` (the host's network, its 127.0.0.1 and, on EC2, the
   * instance metadata service included: choose it only for steps that need it), `none`, or a network name.
   */
  network_mode: networkMode.default("bridge"),
  /** Most step containers running at once. Default: `os.availableParallelism()`. */
  concurrency: z.number().int().positive().optional(),
  /** Stop starting steps after the first failure (default true); false runs every step that does not depend on a failed one. */
  fail_fast: z.boolean().default(true),
  /** Environment variables of every step container, in clear text: stored, shown and copied into snapshots. */
  environment: z.record(envName, envValue).default({}),
  /**
   * Secret environment variables of every step container (tokens, passwords):
   * kept with the other secrets, masked in every output, never in snapshots
   * or images, passed only when a step's container is created.
   */
  secret_environment: secretField(z.record(envName, envValue)).optional(),
  /** Extra bind mounts of every step container, `host:container[:ro]`. */
  volumes: z.array(volume).default([]),
  /** User the steps run as (`uid:gid` or a name in the image). Default: the user running the client, so files written to mounts are theirs. */
  user: z.string().min(1).optional(),
  /** Labels added to every step container. */
  labels: z.record(z.string().min(1), z.string()).default({}),
  /** Remove step containers once they have exited (default true). */
  remove_containers: z.boolean().default(true),
});
export type DockerOrchestratorConfig = z.output<typeof dockerOrchestratorConfigSchema>;

/**
 * Per-pipeline and per-step settings, under `settings.orchestrator` or
 * `settings."orchestrator.docker"`. They add to (environment, volumes) or
 * replace (network_mode) the component's config.
 */
export const dockerOrchestratorSettingsSchema = z.strictObject({
  /** Environment variables added to the component's `environment`. */
  environment: z.record(envName, envValue).optional(),
  /** Bind mounts added to the component's `volumes`. */
  volumes: z.array(volume).optional(),
  /** Network mode for these steps. */
  network_mode: networkMode.optional(),
});
export type DockerOrchestratorSettings = z.output<typeof dockerOrchestratorSettingsSchema>;

/** The `docker` orchestrator flavor: one image per snapshot, one container per step. */
/** What components of this flavor can do (with the default config). */
export const dockerOrchestratorCapabilities: OrchestratorCapabilities = {
  remote: false,
  synchronous: true,
  schedulable: false,
  honoursResources: true,
  parallel: true,
  mapSteps: true,
};

export const dockerOrchestratorFlavor = defineFlavor({
  capabilities: dockerOrchestratorCapabilities,
  name: "docker",
  type: "orchestrator",
  description: "Runs each step in its own container on a Docker engine (one image per snapshot, reused while unchanged)",
  configSchema: dockerOrchestratorConfigSchema,
  settingsSchema: dockerOrchestratorSettingsSchema,
  remote: false,
  packageName: "@stackyard/orchestrator-docker",
  implementation: async () => (await import("./implementation.js")).DockerOrchestrator,
});
