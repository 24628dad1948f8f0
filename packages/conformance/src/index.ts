/**
 * `@stackyard/conformance`: the behaviour every orchestrator, artifact store,
 * container registry and service connector must have, as vitest suites a
 * flavor package runs against itself.
 *
 * @packageDocumentation
 */
export { type ArtifactStoreSuiteOptions, testArtifactStore } from "./artifact-store-suite.js";
export {
  type ContainerRegistryFailure,
  type ContainerRegistrySuiteOptions,
  testContainerRegistry,
} from "./container-registry-suite.js";
export { type OrchestratorSuiteOptions, productionContractGaps, testOrchestrator } from "./orchestrator-suite.js";
export { type ServiceConnectorFailure, type ServiceConnectorSuiteOptions, testServiceConnector } from "./service-connector-suite.js";
