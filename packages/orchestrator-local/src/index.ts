/**
 * `@stackyard/orchestrator-local`: the `local` orchestrator flavor. Runs a
 * pipeline's DAG in the current process, independent steps in parallel.
 *
 * This module is light (zod and core); the implementation loads on first use.
 *
 * @packageDocumentation
 */
import { defineFlavor, type OrchestratorCapabilities } from "@stackyard/core";
import { z } from "zod";

/** Component config of a `local` orchestrator. */
export const localOrchestratorConfigSchema = z.strictObject({
  /** Most steps running at once. Default: `os.availableParallelism()`. */
  concurrency: z.number().int().positive().optional(),
  /** Stop starting steps after the first failure (default true); false runs every step that does not depend on a failed one. */
  fail_fast: z.boolean().default(true),
});
export type LocalOrchestratorConfig = z.output<typeof localOrchestratorConfigSchema>;

/** Per-pipeline settings (`settings.orchestrator` or `settings."orchestrator.local"`). */
export const localOrchestratorSettingsSchema = z.strictObject({
  /** Overrides the component's `concurrency` for one pipeline. */
  concurrency: z.number().int().positive().optional(),
});
export type LocalOrchestratorSettings = z.output<typeof localOrchestratorSettingsSchema>;

/** The `local` orchestrator flavor: in-process, DAG-parallel with a concurrency limit. */
/** What components of this flavor can do (with the default config). */
export const localOrchestratorCapabilities: OrchestratorCapabilities = {
  remote: false,
  synchronous: true,
  schedulable: false,
  honoursResources: false,
  parallel: true,
  mapSteps: true,
};

export const localOrchestratorFlavor = defineFlavor({
  capabilities: localOrchestratorCapabilities,
  name: "local",
  type: "orchestrator",
  description: "Runs steps in this process, independent steps in parallel",
  configSchema: localOrchestratorConfigSchema,
  settingsSchema: localOrchestratorSettingsSchema,
  remote: false,
  packageName: "@stackyard/orchestrator-local",
  implementation: async () => (await import("./implementation.js")).LocalOrchestrator,
});
