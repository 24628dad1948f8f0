/**
 * `@stackyard/conformance`: the behaviour every orchestrator and artifact
 * store must have, as vitest suites a flavor package runs against itself.
 *
 * @packageDocumentation
 */
export { testArtifactStore, type ArtifactStoreSuiteOptions } from "./artifact-store-suite.js";
export { testOrchestrator, type OrchestratorSuiteOptions } from "./orchestrator-suite.js";
