import { availableParallelism } from "node:os";
import {
  BaseOrchestrator,
  executeDag,
  type OrchestratorCapabilities,
  type PipelineSnapshot,
  type RunHandle,
  type SubmitContext,
  safeComponentSettings,
} from "@stackyard/core";
import { type LocalOrchestratorConfig, localOrchestratorCapabilities, localOrchestratorSettingsSchema } from "./index.js";

/**
 * Runs every step of a snapshot in this process through
 * `context.runStepInProcess`, in topological order, independent steps in
 * parallel up to `concurrency`. `submit` returns once the run is over.
 */
export class LocalOrchestrator extends BaseOrchestrator<LocalOrchestratorConfig> {
  readonly capabilities: OrchestratorCapabilities = { ...localOrchestratorCapabilities };

  /** Concurrency for a snapshot: its settings, then the component config, then the machine's parallelism. */
  concurrencyFor(snapshot: PipelineSnapshot): number {
    // Partial: a key the settings leave out falls back to the component's config, not to a schema default.
    const settings = safeComponentSettings(snapshot.settings, { type: "orchestrator", flavor: "local" }, localOrchestratorSettingsSchema.partial());
    return (settings.success ? settings.data.concurrency : undefined) ?? this.config.concurrency ?? availableParallelism();
  }

  async submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle> {
    const outcomes = await executeDag({
      steps: snapshot.steps,
      concurrency: this.concurrencyFor(snapshot),
      failFast: this.config.fail_fast ?? true,
      signal: context.signal,
      runOne: (stepId) => context.runStepInProcess(stepId, { signal: context.signal }),
      markSkipped: (stepId, reason, status) => context.markStep(stepId, status, reason),
      maps: context.maps,
    });
    return { wait: async () => outcomes };
  }
}
