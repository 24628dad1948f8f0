// The orchestrator's AWS calls against moto, in asynchronous mode (moto's
// Step Functions runs no ECS tasks): image pushed, task definitions
// registered and reused, state machine created and updated, execution
// started with the run id as its name, status read back, stopped.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from "@aws-sdk/client-ecs";
import { DescribeExecutionCommand, DescribeStateMachineCommand, SFNClient } from "@aws-sdk/client-sfn";
import { S3ArtifactStore } from "@stackyard/artifact-store-s3/implementation";
import { EcrContainerRegistry } from "@stackyard/container-registry-ecr/implementation";
import { type CompileStack, EntrypointConfiguration, MemoryRunStore, type Pipeline, type RunRecord, type Stack, type SubmitContext } from "@stackyard/core";
import { connectDocker } from "@stackyard/image-builder";
import { type DockerEngine, ensureBaseImage, ensureDockerEngine, ensureRegistry, type LocalRegistry } from "@stackyard/tools/engines";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";
import { ensureTaskDefinition } from "../src/deploy/task-definitions.js";
import { StepFunctionsExecutionBackend, StepFunctionsOrchestrator } from "../src/implementation.js";
import { stepFunctionsOrchestratorFlavor } from "../src/index.js";
import { assertValidAsl } from "./compiler.helpers.js";
import {
  ACCOUNT,
  awsEnvironment,
  CREDENTIALS,
  ECR_URI,
  EXECUTION_ROLE,
  makeAwsResources,
  newProject,
  REGION,
  removeProject,
  SECURITY_GROUPS,
  SUBNETS,
  TASK_ROLE,
} from "./harness.js";

const BUCKET = "stackyard-moto-deploy";
let moto: MotoServer;
let engine: DockerEngine;
let registry: LocalRegistry;
let nodeImage: string;
let dir: string;
let clusterArn: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  moto = await ensureMoto();
  engine = await ensureDockerEngine();
  ({ nodeImage } = await ensureBaseImage(connectDocker(engine.dockerHost)));
  registry = await ensureRegistry();
  Object.assign(process.env, awsEnvironment());
  ({ clusterArn } = await makeAwsResources(moto.endpoint, BUCKET));
  dir = newProject("sfn-moto");
});

afterAll(async () => {
  process.env = savedEnv;
  removeProject(dir);
  await registry?.stop();
  await engine?.stop();
  await moto?.stop();
});

describe("the Step Functions orchestrator against moto", () => {
  it("deploys a run: pushed image, registered task definitions, the compiled state machine, an execution named by the run id; status and stop", async () => {
    const config = stepFunctionsOrchestratorFlavor.configSchema.parse({
      ecs_cluster_arn: clusterArn,
      execution_role: EXECUTION_ROLE,
      task_role: TASK_ROLE,
      subnet_ids: SUBNETS,
      security_group_ids: SECURITY_GROUPS,
      account_id: ACCOUNT,
      region: REGION,
      endpoint_url: moto.endpoint,
      synchronous: false,
      docker_host: engine.dockerHost,
      parent_image: nodeImage,
    });
    const orchestrator = new StepFunctionsOrchestrator({ id: "o1", name: "sfn", flavor: "aws_step_functions", config, sourceRoot: dir });
    expect(orchestrator.capabilities).toMatchObject({ remote: true, synchronous: false, honoursResources: true, parallel: true });
    const artifactConfig = { path: `s3://${BUCKET}`, endpoint_url: moto.endpoint, region: REGION };
    const artifactStore = new S3ArtifactStore({ id: "a1", name: "s3_store", flavor: "s3", config: artifactConfig as never, sourceRoot: dir });
    const containerRegistry = new EcrContainerRegistry({
      id: "r1",
      name: "ecr_registry",
      flavor: "aws",
      config: { uri: ECR_URI, registry_address: registry.address, endpoint_url: moto.endpoint } as never,
      sourceRoot: dir,
    });
    const stack: Stack = { name: "aws_stack", orchestrator, artifactStore, containerRegistry };
    const compileStack: CompileStack = {
      name: "aws_stack",
      components: {
        orchestrator: {
          id: "o1",
          name: "sfn",
          flavor: "aws_step_functions",
          flavor_source: "@stackyard/orchestrator-aws-stepfunctions#stepFunctionsOrchestratorFlavor",
          config: {},
          settingsSchema: stepFunctionsOrchestratorFlavor.settingsSchema,
        },
        artifact_store: {
          id: "a1",
          name: "s3_store",
          flavor: "s3",
          flavor_source: "@stackyard/artifact-store-s3#s3ArtifactStoreFlavor",
          config: artifactStore.config as Record<string, unknown>,
        },
      },
    };
    const pipeline = (await import(pathToFileURL(join(dir, "pipelines/training.ts")).href)).trainingPipeline as Pipeline;
    const snapshot = pipeline.compile({
      source: "./pipelines/training.ts#trainingPipeline",
      stack: compileStack,
      sourceRoot: dir,
      config: join(dir, "configs/training_pipeline.yaml"),
    });
    const snapshotUri = artifactStore.uri(`snapshots/${snapshot.id}.json`);
    await artifactStore.writeFile(snapshotUri, JSON.stringify(snapshot));
    const store = new MemoryRunStore();
    await store.saveSnapshot(snapshot, snapshotUri);
    const messages: string[] = [];
    const contextFor = (runId: string): SubmitContext => ({
      runId,
      runName: runId,
      snapshotUri,
      stack,
      sourceRoot: dir,
      store,
      events: { stepStatus: () => {}, stepLog: () => {}, info: (m) => messages.push(m), warn: (m) => messages.push(`WARN ${m}`) },
      signal: new AbortController().signal,
      runStepInProcess: () => Promise.reject(new Error("not in process")),
      stepCommand: (stepId) => EntrypointConfiguration.commandFor({ snapshot: snapshotUri, step: stepId, run: runId }),
      stepEnvironment: () => ({}),
      markStep: async () => {},
    });
    const sfn = new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });
    const ecs = new ECSClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });

    const runId = randomUUID();
    const handle = await orchestrator.submit(snapshot, contextFor(runId));
    expect(await handle.wait()).toEqual([]);
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: handle.orchestratorRunId! }));
    expect(execution).toMatchObject({ name: runId, status: "RUNNING" });

    // The state machine moto holds is a valid ASL definition whose Task states run the registered task definition.
    const machine = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: execution.stateMachineArn! }));
    expect(machine.name).toBe("stackyard-training_pipeline");
    expect(machine.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/stackyard-state-machine`);
    assertValidAsl(machine.definition!);
    const states = JSON.parse(machine.definition!).States as Record<string, { Type: string; Parameters?: Record<string, any> }>;
    const tasks = Object.values(states).filter((s) => s.Type === "Task");
    expect(tasks).toHaveLength(4);
    const taskDefinitionArn = tasks[0]!.Parameters!.TaskDefinition as string;
    const environment = tasks[0]!.Parameters!.Overrides.ContainerOverrides[0].Environment as Array<{ Name: string; Value: string }>;
    expect(JSON.parse(environment.find((e) => e.Name === "STACKYARD_ARTIFACT_STORE")!.Value)).toEqual({
      id: "a1",
      name: "s3_store",
      flavor: "s3",
      flavor_source: "@stackyard/artifact-store-s3#s3ArtifactStoreFlavor",
      config: artifactStore.config,
    });
    expect(environment.find((e) => e.Name === "STACKYARD_SOURCE_ROOT")!.Value).toMatch(/^\/app\/\.test-tmp\/sfn-moto-/);
    const registered = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }))).taskDefinition!;
    expect(registered.family).toBe("stackyard-training_pipeline-1024cpu-2048mib");
    expect(registered).toMatchObject({
      cpu: "1024",
      memory: "2048",
      networkMode: "awsvpc",
      executionRoleArn: EXECUTION_ROLE,
      taskRoleArn: TASK_ROLE,
      requiresCompatibilities: ["FARGATE"],
    });
    expect(registered.containerDefinitions![0]).toMatchObject({ name: "step", memory: 2048, essential: true });
    expect(registered.containerDefinitions![0]!.image).toMatch(new RegExp(`^${registry.address.replace(/\./g, "\\.")}/stackyard:[0-9a-f]{16}$`));

    // A second run reuses the state machine; what moto stores is exactly what the compiler made, and every
    // step runs a task definition of the image it was built for (a new revision only when the image changed).
    const clients = { region: REGION, endpoint: moto.endpoint, sfn, ecs, logs: undefined as never, scheduler: undefined as never, destroy: () => {} };
    const second = await orchestrator.startRun(snapshot, contextFor(randomUUID()), clients, new StepFunctionsExecutionBackend(sfn));
    expect(second.stateMachineArn).toBe(execution.stateMachineArn);
    expect((await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: second.stateMachineArn }))).definition).toBe(second.compiled!.json);
    assertValidAsl(second.compiled!.json);
    for (const step of snapshot.steps) {
      const used = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: second.taskDefinitions[step.id] }))).taskDefinition!;
      expect(used.containerDefinitions![0]!.image).toBe(second.images[step.id]);
    }

    // Task definitions are reused while identical (family, image, size, roles, logs), else a new revision.
    const spec = {
      family: "stackyard-reuse",
      image: "127.0.0.1:5001/stackyard:0000000000000001",
      shape: { cpu: 512, memoryMiB: 1024 },
      containerName: "step",
      launchType: "FARGATE" as const,
      awsvpc: true,
      executionRoleArn: EXECUTION_ROLE,
      taskRoleArn: TASK_ROLE,
      logs: { group: "/stackyard/steps", region: REGION, streamPrefix: "stackyard" },
    };
    const first = await ensureTaskDefinition(ecs, spec);
    expect(first.registered).toBe(true);
    expect(await ensureTaskDefinition(ecs, spec)).toEqual({ arn: first.arn, registered: false });
    const newImage = await ensureTaskDefinition(ecs, { ...spec, image: "127.0.0.1:5001/stackyard:0000000000000002" });
    expect(newImage.registered).toBe(true);
    expect(newImage.arn).toMatch(/stackyard-reuse:2$/);
    expect(
      (await ensureTaskDefinition(ecs, { ...spec, image: "127.0.0.1:5001/stackyard:0000000000000002", shape: { cpu: 512, memoryMiB: 2048 } })).arn,
    ).toMatch(/stackyard-reuse:3$/);
    expect((await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "stackyard-reuse" }))).taskDefinitionArns).toHaveLength(3);

    // Status and stop, as `runs describe` and `runs stop` use them.
    const run: RunRecord = {
      id: runId,
      name: runId,
      pipeline: snapshot.pipeline.name,
      snapshotId: snapshot.id,
      snapshotUri,
      stack: "aws_stack",
      orchestrator: "sfn",
      status: "running",
      orchestratorRunId: handle.orchestratorRunId,
      created: new Date().toISOString(),
    };
    expect(await orchestrator.fetchStatus(run, { store, stack })).toEqual({ status: "running", steps: [] });
    await orchestrator.stop(run);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: handle.orchestratorRunId! }))).status).toBe("ABORTED");
    const stopped = await orchestrator.fetchStatus(run, { store, stack });
    expect(stopped.status).toBe("stopped");
    expect(stopped.steps?.map((s) => s.status)).toEqual(["stopped", "stopped", "stopped", "stopped"]);
    expect(await orchestrator.fetchLogs(run, "load_data")).toBeUndefined();
    sfn.destroy();
    ecs.destroy();
  }, 600_000);
});
