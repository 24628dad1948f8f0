/**
 * `@stackyard/conformance`: the behaviour every orchestrator and artifact
 * store must have, as vitest suites a flavor package runs against itself.
 *
 * @packageDocumentation
 */
export { type ArtifactStoreSuiteOptions, testArtifactStore } from "./artifact-store-suite.js";
export { type OrchestratorSuiteOptions, testOrchestrator } from "./orchestrator-suite.js";
