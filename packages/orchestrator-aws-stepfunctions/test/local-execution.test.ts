// The compiled state machine, as Step Functions (moto) stored it, executed by
// aws-local-stepfunctions: each ECS Task state runs the step's REAL container
// (the image the orchestrator built and pushed, the command and environment
// of the state's Overrides) in the local Docker engine, with artifacts in S3
// on moto. Everything but the executor is the orchestrator's production path.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeTaskDefinitionCommand, ECSClient } from "@aws-sdk/client-ecs";
import { SFNClient } from "@aws-sdk/client-sfn";
import { S3ArtifactStore } from "@stackyard/artifact-store-s3/implementation";
import { EcrContainerRegistry } from "@stackyard/container-registry-ecr/implementation";
import {
  EntrypointConfiguration,
  LocalArtifactStore,
  MemoryRunStore,
  runStep,
  type CompileStack,
  type Pipeline,
  type PipelineSnapshot,
  type RunRecord,
  type RunStatus,
  type Stack,
  type SubmitContext,
} from "@stackyard/core";
import { connectDocker } from "@stackyard/image-builder";
import { ensureBaseImage, ensureDockerEngine, ensureRegistry, runContainer, type DockerEngine, type LocalRegistry } from "@stackyard/tools/engines";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";
import { stepFunctionsOrchestratorFlavor, type StepFunctionsOrchestratorConfigInput } from "../src/index.js";
import { StepFunctionsOrchestrator, type AwsClients, type ExecutionBackend } from "../src/implementation.js";
import { ACCOUNT, awsEnvironment, CREDENTIALS, ECR_URI, EXECUTION_ROLE, makeAwsResources, newProject, polyfillWithResolvers, REGION, removeProject, SECURITY_GROUPS, SUBNETS, TASK_ROLE } from "./harness.js";
import { LocalExecutionBackend } from "./local-execution-backend.js";

polyfillWithResolvers();

const LOG_GROUP = "/stackyard/steps";
const BUCKET = "stackyard-local-exec";

interface TaskRun {
  stateName: string;
  image: string;
  command: string[];
  exitCode: number;
}

let moto: MotoServer;
let engine: DockerEngine;
let registry: LocalRegistry;
let docker: Docker;
let nodeImage: string;
let dir: string;
let backend: LocalExecutionBackend;
let clusterArn: string;
const tasks: TaskRun[] = [];
const savedEnv = { ...process.env };

/** The orchestrator with the one seam replaced: executions run in aws-local-stepfunctions. */
class LocallyExecutedOrchestrator extends StepFunctionsOrchestrator {
  protected override createExecutionBackend(_clients: AwsClients): ExecutionBackend {
    return backend;
  }
}

/** What ECS would do for an `ecs:runTask.sync` state: run the task definition's image with the state's overrides. */
async function runTask(parameters: Record<string, any>, stateName: string): Promise<Record<string, unknown>> {
  const ecs = new ECSClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });
  const logs = new CloudWatchLogsClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });
  try {
    const definition = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: parameters.TaskDefinition }))).taskDefinition!;
    const override = parameters.Overrides.ContainerOverrides[0];
    const container = definition.containerDefinitions!.find((c) => c.name === override.Name)!;
    const env = Object.fromEntries((override.Environment ?? []).map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
    const taskId = randomUUID().replaceAll("-", "");
    const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/stackyard/${taskId}`;
    // The task role's credentials, as ECS would provide them; network host reaches moto on 127.0.0.1.
    const result = await runContainer(docker, container.image!, override.Command, { network: "host", env: { ...env, ...awsEnvironment() } });
    tasks.push({ stateName, image: container.image!, command: override.Command, exitCode: result.exitCode });
    // The awslogs driver's part: the container's output into <group>/<prefix>/<container>/<task id>.
    const options = container.logConfiguration?.options;
    if (options) {
      const stream = `${options["awslogs-stream-prefix"]}/${container.name}/${taskId}`;
      await logs.send(new CreateLogStreamCommand({ logGroupName: options["awslogs-group"], logStreamName: stream }));
      const lines = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.length > 0);
      if (lines.length) {
        const now = Date.now();
        await logs.send(new PutLogEventsCommand({ logGroupName: options["awslogs-group"], logStreamName: stream, logEvents: lines.map((message, i) => ({ message, timestamp: now + i })) }));
      }
    }
    if (result.exitCode !== 0) {
      const error = new Error(JSON.stringify({ TaskArn: taskArn, StoppedReason: "Essential container in task exited", Containers: [{ Name: container.name, ExitCode: result.exitCode }] }));
      error.name = "States.TaskFailed";
      throw error;
    }
    return { TaskArn: taskArn, LastStatus: "STOPPED", Containers: [{ Name: container.name, ExitCode: 0 }] };
  } finally {
    ecs.destroy();
    logs.destroy();
  }
}

beforeAll(async () => {
  const sfnModule = await import("aws-local-stepfunctions");
  moto = await ensureMoto();
  engine = await ensureDockerEngine();
  docker = connectDocker(engine.dockerHost);
  ({ nodeImage } = await ensureBaseImage(docker));
  registry = await ensureRegistry();
  Object.assign(process.env, awsEnvironment());
  ({ clusterArn } = await makeAwsResources(moto.endpoint, BUCKET));
  const logs = new CloudWatchLogsClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });
  await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
  logs.destroy();
  backend = new LocalExecutionBackend(sfnModule, new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS }), runTask);
  dir = newProject("sfn-local");
});

afterAll(async () => {
  process.env = savedEnv;
  removeProject(dir);
  await registry?.stop();
  await engine?.stop();
  await moto?.stop();
});

function components() {
  const artifactConfig = { path: `s3://${BUCKET}`, endpoint_url: moto.endpoint, force_path_style: true, region: REGION };
  const registryConfig = { uri: ECR_URI, registry_address: registry.address, endpoint_url: moto.endpoint };
  const orchestratorConfig: StepFunctionsOrchestratorConfigInput = {
    ecs_cluster_arn: clusterArn,
    execution_role: EXECUTION_ROLE,
    task_role: TASK_ROLE,
    subnet_ids: SUBNETS,
    security_group_ids: SECURITY_GROUPS,
    account_id: ACCOUNT,
    region: REGION,
    endpoint_url: moto.endpoint,
    log_group: LOG_GROUP,
    docker_host: engine.dockerHost,
    parent_image: nodeImage,
    poll_interval: 0.2,
  };
  const config = stepFunctionsOrchestratorFlavor.configSchema.parse(orchestratorConfig);
  const orchestrator = new LocallyExecutedOrchestrator({ id: "o1", name: "sfn", flavor: "aws_step_functions", config, sourceRoot: dir });
  const artifactStore = new S3ArtifactStore({ id: "a1", name: "s3_store", flavor: "s3", config: artifactConfig as never, sourceRoot: dir });
  const containerRegistry = new EcrContainerRegistry({ id: "r1", name: "ecr_registry", flavor: "aws", config: registryConfig as never, sourceRoot: dir });
  const stack: Stack = { name: "aws_stack", orchestrator, artifactStore, containerRegistry };
  const compileStack: CompileStack = {
    name: "aws_stack",
    components: {
      orchestrator: { id: "o1", name: "sfn", flavor: "aws_step_functions", flavor_source: "@stackyard/orchestrator-aws-stepfunctions#stepFunctionsOrchestratorFlavor", config: orchestratorConfig as Record<string, unknown>, settingsSchema: stepFunctionsOrchestratorFlavor.settingsSchema },
      artifact_store: { id: "a1", name: "s3_store", flavor: "s3", flavor_source: "@stackyard/artifact-store-s3#s3ArtifactStoreFlavor", config: artifactStore.config as Record<string, unknown> },
      container_registry: { id: "r1", name: "ecr_registry", flavor: "aws", flavor_source: "@stackyard/container-registry-ecr#ecrContainerRegistryFlavor", config: registryConfig },
    },
  };
  return { orchestrator, artifactStore, stack, compileStack };
}

async function loadPipeline(file: string, name: string): Promise<Pipeline> {
  return (await import(pathToFileURL(join(dir, file)).href))[name] as Pipeline;
}

/** Submits a snapshot as the CLI does (snapshot in the artifact store and the store, run created) and waits for it. */
async function submitAndWait(snapshot: PipelineSnapshot, parts: ReturnType<typeof components>) {
  const { orchestrator, artifactStore, stack } = parts;
  const store = new MemoryRunStore();
  const runId = randomUUID();
  const snapshotUri = artifactStore.uri(`snapshots/${snapshot.id}.json`);
  await artifactStore.writeFile(snapshotUri, JSON.stringify(snapshot));
  await store.saveSnapshot(snapshot, snapshotUri);
  const run: RunRecord = { id: runId, name: `run-${runId.slice(0, 8)}`, pipeline: snapshot.pipeline.name, snapshotId: snapshot.id, snapshotUri, stack: stack.name, orchestrator: "sfn", status: "running", created: new Date().toISOString() };
  await store.createRun(run);
  const statuses: Array<[string, RunStatus]> = [];
  const messages: string[] = [];
  const context: SubmitContext = {
    runId,
    runName: run.name,
    snapshotUri,
    stack,
    sourceRoot: dir,
    store,
    events: { stepStatus: (stepId, status) => statuses.push([stepId, status]), stepLog: () => {}, info: (m) => messages.push(m), warn: (m) => messages.push(`WARN ${m}`) },
    signal: new AbortController().signal,
    runStepInProcess: () => Promise.reject(new Error("a remote orchestrator never runs steps in process")),
    stepCommand: (stepId) => EntrypointConfiguration.commandFor({ snapshot: snapshotUri, step: stepId, run: runId }),
    stepEnvironment: () => ({}),
    markStep: async (stepId, status, error) => {
      const step = snapshot.steps.find((s) => s.id === stepId)!;
      await store.putStepRun({ runId, stepId, stepName: step.name, attempt: 0, outputs: {}, status, error });
      statuses.push([stepId, status]);
    },
  };
  const handle = await orchestrator.submit(snapshot, context);
  const outcomes = await handle.wait();
  return { handle, outcomes, store, run: { ...run, orchestratorRunId: handle.orchestratorRunId }, statuses, messages };
}

describe("a run on the Step Functions orchestrator, executed locally with real step containers", () => {
  it("runs the quickstart to the same artifacts (sha256 per output) as the local stack, reporting each step", async () => {
    const parts = components();
    const pipeline = await loadPipeline("pipelines/training.ts", "trainingPipeline");
    const snapshot = pipeline.compile({ source: "./pipelines/training.ts#trainingPipeline", stack: parts.compileStack, sourceRoot: dir, config: join(dir, "configs/training_pipeline.yaml") });

    // The same snapshot on the local stack, in this process.
    const localStore = new MemoryRunStore();
    const local = new LocalArtifactStore({ id: "l1", name: "default", flavor: "local", config: { path: join(dir, ".local-artifacts") }, sourceRoot: dir });
    for (const step of snapshot.steps) {
      const outcome = await runStep({ snapshot, stepId: step.id, runId: "local-run", store: localStore, artifactStore: local, pipeline, sourceRoot: dir, importModule: (s) => import(s) });
      expect(outcome.status, outcome.error).toBe("completed");
    }
    const localHashes = Object.fromEntries((await localStore.listArtifacts("local-run")).map((a) => [`${a.stepId}.${a.output}`, a.sha256]));
    expect(Object.keys(localHashes)).toHaveLength(6);

    const { outcomes, store, run, statuses, handle } = await submitAndWait(snapshot, parts);
    expect(outcomes.map((o) => [o.stepId, o.status, o.error])).toEqual(snapshot.steps.map((s) => [s.id, "completed", undefined]));
    expect(handle.orchestratorRunId).toMatch(new RegExp(`^arn:aws:states:${REGION}:\\d{12}:execution:stackyard-training_pipeline:${run.id}$`));

    // Each step ran once, in its own container, from the image pushed to the registry.
    expect(tasks.map((t) => t.stateName).sort()).toEqual(snapshot.steps.map((s) => s.id).sort());
    for (const task of tasks) {
      expect(task.image).toMatch(new RegExp(`^${registry.address.replace(/\./g, "\\.")}/stackyard:[0-9a-f]{16}$`));
      expect(task.command.slice(0, 3)).toEqual(["stackyard", "step", "run"]);
      expect(task.command.at(-1)).toBe(run.id);
    }

    // Records and artifacts were copied into the client's store, with the local stack's hashes.
    const remoteHashes = Object.fromEntries((await store.listArtifacts(run.id)).map((a) => [`${a.stepId}.${a.output}`, a.sha256]));
    expect(remoteHashes).toEqual(localHashes);
    expect((await store.listArtifacts(run.id)).every((a) => a.uri.startsWith(`s3://${BUCKET}/runs/${run.id}/`))).toBe(true);
    for (const step of snapshot.steps) {
      expect(statuses).toContainEqual([step.id, "running"]);
      expect(statuses).toContainEqual([step.id, "completed"]);
    }

    // Status and logs read back later, as `runs describe` / `runs logs` do.
    const later = new MemoryRunStore();
    await later.saveSnapshot(snapshot, run.snapshotUri);
    const status = await parts.orchestrator.fetchStatus(run, { store: later, stack: parts.stack });
    expect(status.status).toBe("completed");
    expect(status.steps?.map((s) => s.status)).toEqual(["completed", "completed", "completed", "completed"]);
    expect((await later.listArtifacts(run.id)).length).toBe(6);
    const logs = await parts.orchestrator.fetchLogs(run, "evaluate_model");
    expect(logs).toMatch(/test accuracy: \d+\.\d% \(\d+\/30\)/);
  }, 600_000);

  it("takes the Catch path of a failing step: the run fails naming it, and nothing after it runs", async () => {
    const parts = components();
    const pipeline = await loadPipeline("pipelines/failing.ts", "failingPipeline");
    const snapshot = pipeline.compile({ source: "./pipelines/failing.ts#failingPipeline", stack: parts.compileStack, sourceRoot: dir, config: join(dir, "configs/failing_pipeline.yaml") });
    const before = tasks.length;
    const { outcomes, run, statuses } = await submitAndWait(snapshot, parts);
    expect(outcomes.map((o) => [o.stepId, o.status])).toEqual([
      ["make_numbers", "completed"],
      ["explode", "failed"],
      ["after", "skipped"],
    ]);
    expect(outcomes[1]!.error).toMatch(/the numbers are on fire/);
    expect(outcomes[2]!.error).toBe("not run: step 'explode' failed");
    expect(tasks.slice(before).map((t) => [t.stateName, t.exitCode])).toEqual([
      ["make_numbers", 0],
      ["explode", 1],
    ]);
    expect(statuses).toContainEqual(["explode", "failed"]);

    const execution = await backend.describe(run.orchestratorRunId!);
    expect(execution.status).toBe("FAILED");
    expect(execution.error).toBe("Stackyard.StepFailed");
    const history = (await backend.history(run.orchestratorRunId!)).events.map((e) => e.type);
    expect(history).toContain("TaskFailed");

    const later = new MemoryRunStore();
    await later.saveSnapshot(snapshot, run.snapshotUri);
    const status = await parts.orchestrator.fetchStatus(run, { store: later, stack: parts.stack });
    expect(status.status).toBe("failed");
    expect(status.error).toMatch(/^step 'explode' failed: .*the numbers are on fire/);
    expect(status.steps?.find((s) => s.stepId === "after")?.status).toBe("skipped");
  }, 600_000);
});
