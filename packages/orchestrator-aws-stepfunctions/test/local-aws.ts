// What the tests that execute state machines share: the real engines (moto,
// the Docker engine with the Node base image, the local registry), the AWS
// resources the orchestrator needs on moto, and the orchestrator with its one
// seam replaced so that executions run in aws-local-stepfunctions with each
// Task state played by LocalEcs.
import { CloudWatchLogsClient, CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { connectDocker } from "@stackyard/image-builder";
import {
  type DockerEngine,
  ensureBaseImage,
  ensureDockerEngine,
  ensureMoto,
  ensureRegistry,
  type LocalRegistry,
  type MotoServer,
} from "@stackyard/tools/engines";
import type Docker from "dockerode";
import { type AwsClients, type ExecutionBackend, StepFunctionsOrchestrator } from "../src/implementation.js";
import type { StepFunctionsOrchestratorConfigInput } from "../src/index.js";
import {
  ACCOUNT,
  awsEnvironment,
  CREDENTIALS,
  ECR_URI,
  EXECUTION_ROLE,
  makeAwsResources,
  polyfillWithResolvers,
  REGION,
  SECURITY_GROUPS,
  SUBNETS,
  TASK_ROLE,
} from "./harness.js";
import { type LocalExecution, LocalExecutionBackend, type LocalExecutionOptions, type RunTaskHandler } from "./local-execution-backend.js";

/** The orchestrator with executions in {@link backend} instead of Step Functions; everything else is the production path. */
export class LocallyExecutedOrchestrator extends StepFunctionsOrchestrator {
  backend: ExecutionBackend | undefined;

  protected override createExecutionBackend(_clients: AwsClients): ExecutionBackend {
    if (!this.backend) throw new Error("LocallyExecutedOrchestrator: set `backend` first");
    return this.backend;
  }
}

/** The engines and AWS resources of one test file. */
export interface LocalAws {
  moto: MotoServer;
  engine: DockerEngine;
  docker: Docker;
  nodeImage: string;
  registry: LocalRegistry;
  clusterArn: string;
  bucket: string;
  logGroup: string;
  /** A backend that executes state machines stored on this moto, each task through `runTask`. */
  executionBackend(
    runTask: RunTaskHandler,
    onEnd?: (execution: LocalExecution) => void,
    options?: Pick<LocalExecutionOptions, "distributedMaps">,
  ): Promise<LocalExecutionBackend>;
  /** Orchestrator config for these engines (EC2 or Fargate, with subnets), with `overrides`. */
  orchestratorConfig(overrides?: Partial<StepFunctionsOrchestratorConfigInput>): StepFunctionsOrchestratorConfigInput;
  /** Config of an `aws` (ECR) container registry that pushes to the local registry. */
  registryConfig(): { uri: string; registry_address: string; endpoint_url: string };
  /** Config of an S3 artifact store in `bucket` on moto. */
  artifactStoreConfig(): { path: string; endpoint_url: string; force_path_style: boolean; region: string };
  /** Lets go of the engines and restores the environment. */
  stop(): Promise<void>;
}

/**
 * Brings up moto, the Docker engine (with the Node base image) and the
 * registry, makes the bucket, the ECS cluster and the log group on moto, and
 * puts moto's credentials into `process.env` (as a user's shell would have
 * them). Engines that cannot come up throw, never skip.
 */
export async function startLocalAws(options: { bucket: string; logGroup?: string }): Promise<LocalAws> {
  polyfillWithResolvers();
  const savedEnv = { ...process.env };
  const logGroup = options.logGroup ?? "/stackyard/steps";
  // What came up, let go of in reverse order (also when a later engine fails).
  const started: Array<{ stop(): Promise<void> }> = [];
  const letGo = async () => {
    process.env = savedEnv;
    for (const engine of started.reverse()) await engine.stop();
  };
  let moto: MotoServer, engine: DockerEngine, docker: Docker, nodeImage: string, registry: LocalRegistry, clusterArn: string;
  try {
    started.push((moto = await ensureMoto()));
    started.push((engine = await ensureDockerEngine()));
    docker = connectDocker(engine.dockerHost);
    ({ nodeImage } = await ensureBaseImage(docker));
    started.push((registry = await ensureRegistry()));
    Object.assign(process.env, awsEnvironment());
    ({ clusterArn } = await makeAwsResources(moto.endpoint, options.bucket));
    const logs = new CloudWatchLogsClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });
    await logs.send(new CreateLogGroupCommand({ logGroupName: logGroup })).finally(() => logs.destroy());
  } catch (error) {
    await letGo();
    throw error;
  }
  const clients: Array<SFNClient | S3Client> = [];
  return {
    moto,
    engine,
    docker,
    nodeImage,
    registry,
    clusterArn,
    bucket: options.bucket,
    logGroup,
    async executionBackend(runTask, onEnd, options) {
      const sfnModule = await import("aws-local-stepfunctions");
      const sfn = new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });
      const s3 = new S3Client({ region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: CREDENTIALS });
      clients.push(sfn, s3);
      return new LocalExecutionBackend(sfnModule, sfn, runTask, onEnd, { ...options, s3 });
    },
    orchestratorConfig(overrides = {}) {
      return {
        ecs_cluster_arn: clusterArn,
        execution_role: EXECUTION_ROLE,
        task_role: TASK_ROLE,
        subnet_ids: SUBNETS,
        security_group_ids: SECURITY_GROUPS,
        account_id: ACCOUNT,
        region: REGION,
        endpoint_url: moto.endpoint,
        log_group: logGroup,
        docker_host: engine.dockerHost,
        parent_image: nodeImage,
        poll_interval: 0.2,
        ...overrides,
      };
    },
    registryConfig: () => ({ uri: ECR_URI, registry_address: registry.address, endpoint_url: moto.endpoint }),
    artifactStoreConfig: () => ({ path: `s3://${options.bucket}`, endpoint_url: moto.endpoint, force_path_style: true, region: REGION }),
    async stop() {
      for (const client of clients) client.destroy();
      await letGo();
    },
  };
}
