import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testOrchestrator } from "@stackyard/conformance";
import { type DockerEngine, dockerClient, ensureBaseImage, ensureDockerEngine } from "@stackyard/tools/engines";
import { afterAll } from "vitest";
import { dockerOrchestratorFlavor } from "../src/index.js";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
let engine: DockerEngine | undefined;
afterAll(async () => {
  await engine?.stop();
});

// The behaviour every orchestrator must have, with each step in its own container on a real engine.
testOrchestrator({
  name: "docker",
  parallel: true,
  honoursResources: true,
  // The conformance fixtures resolve from the repository (its node_modules link the workspace packages).
  sourceRoot: repo,
  workDir: join(repo, ".test-tmp"),
  timeoutMs: 300_000,
  create: async () => {
    engine = await ensureDockerEngine();
    const { nodeImage } = await ensureBaseImage(dockerClient(engine.dockerHost));
    const Orchestrator = await dockerOrchestratorFlavor.implementation();
    // The test engine has no bridge network: the steps use the host's, chosen explicitly.
    const config = dockerOrchestratorFlavor.configSchema.parse({ docker_host: engine.dockerHost, parent_image: nodeImage, network_mode: "host" });
    return new Orchestrator({ id: "conformance", name: "conformance", flavor: "docker", config, sourceRoot: repo });
  },
});
