// The behaviour every orchestrator must have, with every run a real
// execution: the orchestrator builds and pushes the image, registers task
// definitions and creates the state machine on moto; the definition Step
// Functions stored runs in aws-local-stepfunctions, each Task state as the
// step's container in the local Docker engine, limited as ECS limits it.
//
// The suite's artifact store is a local folder: the step containers get it
// mounted at the same path, as a task would get a shared file system.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { S3ArtifactStore } from "@stackyard/artifact-store-s3/implementation";
import { testOrchestrator } from "@stackyard/conformance";
import { EcrContainerRegistry } from "@stackyard/container-registry-ecr/implementation";
import type { BaseContainerRegistry, PipelineSnapshot, RunHandle, SubmitContext } from "@stackyard/core";
import { afterAll } from "vitest";
import { stepFunctionsOrchestratorFlavor } from "../src/index.js";
import { type LocalAws, LocallyExecutedOrchestrator, startLocalAws } from "./local-aws.js";
import { LocalEcs } from "./local-ecs.js";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const workDir = join(repo, ".test-tmp");
let aws: LocalAws | undefined;
afterAll(async () => {
  await aws?.stop();
});

/**
 * A stack made by `runSnapshotInProcess` has an orchestrator and an artifact
 * store only; this orchestrator's stacks need a container registry to push
 * the pipeline image to, so it brings its own when the stack has none.
 */
class ConformanceOrchestrator extends LocallyExecutedOrchestrator {
  registry: BaseContainerRegistry | undefined;

  override submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle> {
    const stack = context.stack.containerRegistry ? context.stack : { ...context.stack, containerRegistry: this.registry };
    return super.submit(snapshot, { ...context, stack });
  }
}

testOrchestrator({
  name: "aws_step_functions",
  // Branches of Parallel states run at the same time; ECS enforces task sizes.
  parallel: true,
  honoursResources: true,
  // The conformance fixtures resolve from the repository (its node_modules link the workspace packages).
  sourceRoot: repo,
  workDir,
  timeoutMs: 300_000,
  // The state machine reads a map's item manifest from S3: the map test runs with the S3 store on moto.
  mapArtifactStore: async () => ({
    artifactStore: new S3ArtifactStore({ id: "conformance-s3", name: "s3_store", flavor: "s3", config: aws!.artifactStoreConfig() as never, sourceRoot: repo }),
    flavorSource: "@stackyard/artifact-store-s3#s3ArtifactStoreFlavor",
  }),
  create: async () => {
    aws = await startLocalAws({ bucket: "stackyard-conformance" });
    const uid = typeof process.getuid === "function" ? `${process.getuid()}:${process.getgid!()}` : undefined;
    const ecs = new LocalEcs({ docker: aws.docker, endpoint: aws.moto.endpoint, binds: [`${workDir}:${workDir}`], ...(uid ? { user: uid } : {}) });
    // EC2: tasks get the sizes steps ask for (Fargate rounds memory up to its CPU/memory pairs).
    const config = stepFunctionsOrchestratorFlavor.configSchema.parse(aws.orchestratorConfig({ launch_type: "EC2" }));
    const orchestrator = new ConformanceOrchestrator({ id: "conformance", name: "conformance", flavor: "aws_step_functions", config, sourceRoot: repo });
    orchestrator.backend = await aws.executionBackend(ecs.runTask);
    orchestrator.registry = new EcrContainerRegistry({
      id: "conformance-registry",
      name: "ecr_registry",
      flavor: "aws",
      config: aws.registryConfig() as never,
      sourceRoot: repo,
    });
    return orchestrator;
  },
});
