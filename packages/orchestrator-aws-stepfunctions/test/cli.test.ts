// Seed 001 through the built `stackyard` binary, as a user types it: a
// service connector to moto, an S3 artifact store, an ECR registry pushing to
// the local registry, the Step Functions orchestrator with seed 001's flags,
// the stack (and its validation), then an asynchronous run that `runs
// describe` reconciles from Step Functions and `runs stop` stops.
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { connectDocker } from "@stackyard/image-builder";
import { type DockerEngine, ensureBaseImage, ensureDockerEngine, ensureRegistry, type LocalRegistry } from "@stackyard/tools/engines";
import { registerAwsKeysConnector } from "@stackyard/tools/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";
import {
  ACCOUNT,
  CREDENTIALS,
  cli,
  ECR_URI,
  EXECUTION_ROLE,
  makeAwsResources,
  newProject,
  ok,
  REGION,
  removeProject,
  SECURITY_GROUPS,
  SUBNETS,
} from "./harness.js";

const BUCKET = "stackyard-cli";
let moto: MotoServer;
let engine: DockerEngine;
let registry: LocalRegistry;
let nodeImage: string;
let dir: string;
let clusterArn: string;

beforeAll(async () => {
  moto = await ensureMoto();
  engine = await ensureDockerEngine();
  ({ nodeImage } = await ensureBaseImage(connectDocker(engine.dockerHost)));
  registry = await ensureRegistry();
  ({ clusterArn } = await makeAwsResources(moto.endpoint, BUCKET));
  dir = newProject("sfn-cli");
  ok(cli(dir, ["init"]), "stackyard init");
});

afterAll(async () => {
  removeProject(dir);
  await registry?.stop();
  await engine?.stop();
  await moto?.stop();
});

describe("seed 001 with the stackyard CLI", () => {
  it("registers the AWS stack, validates it, runs asynchronously, reconciles and stops the run", () => {
    // Only loopback: the connector's endpoint is moto; DOCKER_HOST is the test engine.
    const env = { DOCKER_HOST: engine.dockerHost, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_REGION: "" };
    ok(cli(dir, registerAwsKeysConnector("aws", { region: REGION, ...CREDENTIALS, endpoint: moto.endpoint }), env), "service-connector register");
    ok(cli(dir, ["artifact-store", "register", "s3_store", "-f", "s3", `--path=s3://${BUCKET}`, "--connector", "aws"], env), "artifact-store register");
    ok(
      cli(
        dir,
        ["container-registry", "register", "ecr_registry", "-f", "aws", `--uri=${ECR_URI}`, `--registry_address=${registry.address}`, "--connector", "aws"],
        env,
      ),
      "container-registry register",
    );
    ok(
      cli(
        dir,
        [
          "orchestrator",
          "register",
          "sfn",
          "-f",
          "aws_step_functions",
          `--ecs_cluster_arn=${clusterArn}`,
          `--execution_role=${EXECUTION_ROLE}`,
          `--subnet_ids=${JSON.stringify(SUBNETS)}`,
          `--security_group_ids=${JSON.stringify(SECURITY_GROUPS)}`,
          `--account_id=${ACCOUNT}`,
          `--region=${REGION}`,
          "--synchronous=false",
          `--parent_image=${nodeImage}`,
          "--connector",
          "aws",
        ],
        env,
      ),
      "orchestrator register",
    );

    // Without a container registry the stack names what is missing.
    const invalid = cli(dir, ["stack", "register", "no_registry", "-o", "sfn", "-a", "s3_store"], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/orchestrator 'sfn': needs a container registry/);
    const local = cli(dir, ["stack", "register", "local_store", "-o", "sfn", "-a", "default", "-c", "ecr_registry"], env);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/needs a remote artifact store, but 'default'/);

    ok(cli(dir, ["stack", "register", "aws_stack", "-o", "sfn", "-a", "s3_store", "-c", "ecr_registry", "--set"], env), "stack register");
    const described = JSON.parse(ok(cli(dir, ["orchestrator", "describe", "sfn", "--json"], env), "orchestrator describe").stdout) as {
      config: Record<string, unknown>;
    };
    expect(described.config).toMatchObject({ subnet_ids: SUBNETS, security_group_ids: SECURITY_GROUPS, launch_type: "FARGATE", synchronous: false });

    const run = cli(
      dir,
      ["run", "./pipelines/training.ts#trainingPipeline", "--config", "configs/training_pipeline.yaml", "--run-name", "sfn-async"],
      env,
      600_000,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Started execution arn:aws:states:us-east-1:\d{12}:execution:stackyard-training_pipeline:/);

    const runs = JSON.parse(ok(cli(dir, ["runs", "describe", "sfn-async", "--json"], env), "runs describe").stdout) as {
      id: string;
      status: string;
      orchestratorRunId: string;
    };
    expect(runs.status).toBe("running");
    expect(runs.orchestratorRunId).toMatch(new RegExp(`:execution:stackyard-training_pipeline:${runs.id}$`));

    ok(cli(dir, ["runs", "stop", "sfn-async"], env), "runs stop");
    const after = JSON.parse(ok(cli(dir, ["runs", "describe", "sfn-async", "--json"], env), "runs describe").stdout) as { status: string };
    expect(after.status).toBe("stopped");
    return checkAborted(runs.orchestratorRunId);
  }, 900_000);
});

async function checkAborted(executionArn: string): Promise<void> {
  const sfn = new SFNClient({ region: REGION, endpoint: moto.endpoint, credentials: CREDENTIALS });
  expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe("ABORTED");
  sfn.destroy();
}
