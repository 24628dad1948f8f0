export { testArtifactStore, type ArtifactStoreSuiteOptions } from "./artifact-store-suite.js";
