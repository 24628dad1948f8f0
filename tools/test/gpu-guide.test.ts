/**
 * docs/gpu.md, checked without a GPU or a cloud: the guide's pipeline (taken
 * from its code block) compiles; the Docker orchestrator's container create
 * request for the GPU step carries the device request, CPU and memory; only
 * the GPU step is built on the CUDA parent image; the Step Functions state
 * machine asks ECS for the GPU on EC2, its task definition request is for EC2
 * with the step's size, and Fargate refuses the step by name.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CompileStack, Pipeline, PipelineSnapshot, SnapshotStep, SubmitContext } from "@stackyard/core";
import { type BuildImageOptions, type BuiltImage, prepareStepImages } from "@stackyard/image-builder";
import { stepFunctionsOrchestratorFlavor } from "@stackyard/orchestrator-aws-stepfunctions";
import { familyFor, taskDefinitionRequest } from "@stackyard/orchestrator-aws-stepfunctions/implementation";
import { dockerOrchestratorFlavor } from "@stackyard/orchestrator-docker";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileStateMachine, resolveTaskResources, StepResourceError } from "../../packages/orchestrator-aws-stepfunctions/src/compiler/index.js";
import { repoRoot } from "../src/release/workspace.js";

const GUIDE = join(repoRoot, "docs/gpu.md");
const CUDA_IMAGE = "registry.example.com/ml/cuda-node:12.6-node20";

/** The guide's code block that starts with `// <path>`. */
function guideBlock(path: string): string {
  const guide = readFileSync(GUIDE, "utf8");
  const block = [...guide.matchAll(/^```\w+\n([\s\S]*?)^```/gm)]
    .map((m) => m[1]!)
    .find((text) => text.startsWith(`// ${path}\n`) || text.startsWith(`# ${path}\n`));
  if (!block) throw new Error(`docs/gpu.md has no code block for ${path}`);
  return block;
}

const stackOf = (orchestrator: { flavor: string; source: string; config: Record<string, unknown> }): CompileStack => ({
  name: "gpu_stack",
  components: {
    orchestrator: { id: "o1", name: "gpu", flavor: orchestrator.flavor, flavor_source: orchestrator.source, config: orchestrator.config },
    artifact_store: {
      id: "a1",
      name: "s3",
      flavor: "s3",
      flavor_source: "@stackyard/artifact-store-s3#s3ArtifactStoreFlavor",
      config: { path: "s3://ml/artifacts" },
    },
  },
});

let dir: string;
let trainOnGpu: Pipeline<any>;

beforeAll(async () => {
  // Inside the repository, so the guide's imports resolve from the workspace.
  mkdirSync(join(repoRoot, ".test-tmp"), { recursive: true });
  dir = mkdtempSync(join(repoRoot, ".test-tmp", "gpu-guide-"));
  const file = join(dir, "pipelines/train-on-gpu.ts");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, guideBlock("pipelines/train-on-gpu.ts"));
  ({ trainOnGpu } = (await import(pathToFileURL(file).href)) as { trainOnGpu: Pipeline<any> });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const compileFor = (orchestrator: { flavor: string; source: string; config: Record<string, unknown> }): PipelineSnapshot =>
  trainOnGpu.compile({ source: "./pipelines/train-on-gpu.ts#trainOnGpu", sourceRoot: dir, stack: stackOf(orchestrator), enableCache: false });

describe("the guide's pipeline", () => {
  it("asks for a GPU, 4 CPUs and 16 GiB in the train step only, on the CUDA parent image", () => {
    const snapshot = compileFor({ flavor: "docker", source: "@stackyard/orchestrator-docker#dockerOrchestratorFlavor", config: {} });
    const steps = Object.fromEntries(snapshot.steps.map((s) => [s.id, s]));
    expect(steps.train!.resources).toEqual({ gpu_count: 1, cpu_count: 4, memory: "16GiB" });
    expect(steps.train!.settings.docker).toEqual({ parent_image: CUDA_IMAGE });
    expect(steps.prepare!.resources).toEqual({});
    expect(steps.prepare!.settings.docker).toBeUndefined();
  });

  it("gives a CUDA Dockerfile with Node copied in", () => {
    expect(guideBlock("docker/cuda-node.Dockerfile")).toMatch(
      /^FROM nvidia\/cuda:\S+-ubuntu24\.04\nCOPY --from=node:20-bookworm-slim \/usr\/local\/bin\/node \/usr\/local\/bin\/node\n$/m,
    );
  });
});

describe("on the Docker orchestrator", () => {
  async function containerRequests(): Promise<Record<string, Docker.ContainerCreateOptions>> {
    const config = dockerOrchestratorFlavor.configSchema.parse({ pull_parent_image: true });
    const snapshot = compileFor({ flavor: "docker", source: "@stackyard/orchestrator-docker#dockerOrchestratorFlavor", config });
    const Orchestrator = await dockerOrchestratorFlavor.implementation();
    const orchestrator = new Orchestrator({ id: "o1", name: "gpu_docker", flavor: "docker", config, sourceRoot: dir });
    const context = {
      runId: "r1",
      sourceRoot: dir,
      stack: { artifactStore: { config: { path: "s3://ml/artifacts" } } },
      stepEnvironment: () => ({}),
      stepCommand: (stepId: string) => ["stackyard", "step", "run", "--step", stepId],
      events: { warn: () => {}, info: () => {} },
      signal: new AbortController().signal,
    } as unknown as SubmitContext;
    return Object.fromEntries(
      snapshot.steps.map((step: SnapshotStep) => [
        step.id,
        orchestrator.containerOptions(snapshot, step, { image: `img-${step.id}`, sourceRoot: "/app" }, context),
      ]),
    );
  }

  it("creates the GPU step's container with a device request for one GPU, 4 CPUs and a 16 GiB limit, as the guide shows", async () => {
    const { train, prepare } = await containerRequests();
    expect(train!.HostConfig).toMatchObject({
      DeviceRequests: [{ Driver: "", Count: 1, Capabilities: [["gpu"]] }],
      NanoCpus: 4_000_000_000,
      Memory: 16 * 1024 ** 3,
      MemorySwap: 16 * 1024 ** 3,
    });
    // The guide's JSON is the request's HostConfig, as sent.
    const shown = JSON.parse(`{${/^"HostConfig": .*$/m.exec(readFileSync(GUIDE, "utf8"))![0]}}`) as { HostConfig: Record<string, unknown> };
    expect(train!.HostConfig).toMatchObject(shown.HostConfig);
    expect(prepare!.HostConfig?.DeviceRequests).toBeUndefined();
    expect(prepare!.HostConfig?.NanoCpus).toBeUndefined();
  });

  it("builds the GPU step on the CUDA parent image and the other on the orchestrator's default", async () => {
    const snapshot = compileFor({ flavor: "docker", source: "@stackyard/orchestrator-docker#dockerOrchestratorFlavor", config: {} });
    const builds: BuildImageOptions[] = [];
    const build = async (options: BuildImageOptions): Promise<BuiltImage> => {
      builds.push(options);
      const parent = options.settings.parent_image ?? options.parentImage;
      const tag = `${parent.includes("cuda") ? "cuda" : "plain"}:0123456789abcdef`;
      return { image: tag, tag, built: true, pushed: false };
    };
    // An engine that knows the built images.
    const docker = { getImage: () => ({ inspect: async () => ({ Id: "sha256:x", Config: { WorkingDir: "/app" } }) }) } as unknown as Docker;
    const images = await prepareStepImages({
      docker,
      snapshot,
      sourceRoot: dir,
      parentImage: "node:20-bookworm-slim",
      local: true,
      events: { info: () => {}, warn: () => {} },
      build,
    });
    expect(builds).toHaveLength(2);
    expect(images.get("train")!.image).toBe("cuda:0123456789abcdef");
    expect(images.get("prepare")!.image).toBe("plain:0123456789abcdef");
    expect(builds.find((b) => b.settings.parent_image === CUDA_IMAGE)).toBeDefined();
  });
});

describe("on AWS Step Functions", () => {
  const EC2 = stepFunctionsOrchestratorFlavor.configSchema.parse({
    ecs_cluster_arn: "arn:aws:ecs:eu-west-1:123456789012:cluster/gpu",
    launch_type: "EC2",
    task_role: "arn:aws:iam::123456789012:role/stackyard-step",
    account_id: "123456789012",
  });
  const compileOptions = {
    stateMachineName: "stackyard-train_on_gpu",
    clusterArn: EC2.ecs_cluster_arn,
    taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/stackyard-train_on_gpu-4096cpu-16384mib:1",
    containerName: EC2.container_name,
    subnets: [],
    securityGroups: [],
    assignPublicIp: false,
    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/stackyard:abc",
    snapshotUri: "s3://ml/artifacts/snapshots/s1.json",
    environment: {},
  };
  const snapshot = () =>
    compileFor({ flavor: "aws_step_functions", source: "@stackyard/orchestrator-aws-stepfunctions#stepFunctionsOrchestratorFlavor", config: EC2 });

  it("asks ECS for one GPU in the train step's container override on EC2, and none for the other step", () => {
    const compiled = compileStateMachine(snapshot(), { ...compileOptions, launchType: "EC2" });
    const states = (compiled.definition as { States: Record<string, any> }).States;
    expect(states.train!.Parameters.LaunchType).toBe("EC2");
    expect(states.train!.Parameters.Overrides.ContainerOverrides[0]).toMatchObject({
      ResourceRequirements: [{ Type: "GPU", Value: "1" }],
      Cpu: 4096,
      Memory: 16384,
    });
    expect(states.prepare!.Parameters.Overrides.ContainerOverrides[0].ResourceRequirements).toBeUndefined();
  });

  it("registers the step's task definition for EC2 with its size", () => {
    const train = snapshot().steps.find((s) => s.id === "train")!;
    const size = resolveTaskResources("train", train.resources, "EC2");
    expect(size).toEqual({ cpu: 4096, memoryMiB: 16384, gpus: 1 });
    const shape = { cpu: size.cpu!, memoryMiB: size.memoryMiB! };
    const request = taskDefinitionRequest({
      family: familyFor("stackyard-train_on_gpu", shape),
      image: compileOptions.image,
      shape,
      containerName: EC2.container_name,
      launchType: "EC2",
      awsvpc: false,
      taskRoleArn: EC2.task_role,
    });
    expect(request).toMatchObject({
      family: "stackyard-train_on_gpu-4096cpu-16384mib",
      requiresCompatibilities: ["EC2"],
      cpu: "4096",
      memory: "16384",
      containerDefinitions: [{ name: "step", image: compileOptions.image, memory: 16384 }],
    });
    expect(request.networkMode).toBeUndefined();
  });

  it("refuses the GPU step on Fargate, naming it and the fix", () => {
    let error: unknown;
    try {
      compileStateMachine(snapshot(), { ...compileOptions, launchType: "FARGATE", subnets: ["subnet-0123456789abcdef0"] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StepResourceError);
    expect((error as StepResourceError).message).toBe("Step 'train' asks for 1 GPU(s), but Fargate tasks have no GPUs");
    expect((error as StepResourceError).hint).toMatch(/launch type EC2/);
  });
});
