import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import type { BaseContainerRegistry } from "../container-registry/base-container-registry.js";
import type { EntrypointConfiguration } from "../entrypoint/entrypoint-configuration.js";
import type { BaseOrchestrator } from "../orchestrator/base-orchestrator.js";

/** A stack with its components' implementations loaded, as a run uses it. */
export interface Stack {
  name: string;
  orchestrator: BaseOrchestrator;
  artifactStore: BaseArtifactStore;
  containerRegistry?: BaseContainerRegistry | undefined;
  /**
   * The orchestrator flavor's entrypoint configuration (`Flavor.entrypoint`),
   * loaded: step commands are built with it. Default: `EntrypointConfiguration`.
   */
  entrypoint?: typeof EntrypointConfiguration | undefined;
}
