import { testOrchestrator } from "@stackyard/conformance";
import { localOrchestratorFlavor } from "../src/index.js";

// The shared orchestrator suite: in-process, parallel, resources not enforced.
testOrchestrator({ name: "local", flavor: localOrchestratorFlavor, config: { concurrency: 4 }, parallel: true, honoursResources: false });
