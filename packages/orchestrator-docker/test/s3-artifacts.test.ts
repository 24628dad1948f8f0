// Docker steps on a stack whose artifact store is S3 (moto): the containers get the store's credentials only in their environment.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { type DockerEngine, dockerClient, ensureBaseImage, ensureDockerEngine, ensureMoto, type MotoServer } from "@stackyard/tools/engines";
import { registerAwsKeysConnector } from "@stackyard/tools/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, cli, newProject, ok, registerDockerStack, removeProject } from "./harness.js";

// Values that must never show up anywhere but the project's secrets file and the containers' environment.
const ACCESS_KEY = "AKIADOCKERSTEPS0S3KEY";
const SECRET_KEY = "docker/Steps+S3/never-printed-0123456789";
const BUCKET = "docker-step-artifacts";

let engine: DockerEngine;
let moto: MotoServer;
let dir: string;
const outputs: string[] = [];

/** The CLI with no AWS variables of the test's own: credentials come from the connector only. */
function run(args: string[]): CliResult {
  const result = cli(dir, args, { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_SESSION_TOKEN: "", AWS_PROFILE: "", AWS_REGION: "" });
  outputs.push(result.stdout, result.stderr);
  return result;
}

beforeAll(async () => {
  engine = await ensureDockerEngine();
  const { nodeImage } = await ensureBaseImage(dockerClient(engine.dockerHost));
  moto = await ensureMoto();
  await s3().send(new CreateBucketCommand({ Bucket: BUCKET }));
  dir = newProject("docker-s3");
  registerDockerStack(dir, engine.dockerHost, nodeImage);
  ok(
    run(registerAwsKeysConnector("aws_keys", { region: "us-east-1", accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, endpoint: moto.endpoint })),
    "connector register",
  );
  ok(run(["artifact-store", "register", "s3_store", "-f", "s3", `--path=s3://${BUCKET}/stackyard`, "--connector", "aws_keys"]), "artifact-store register");
  ok(run(["stack", "register", "s3_stack", "-o", "docker_orch", "-a", "s3_store", "--set"]), "stack register");
}, 600_000);

afterAll(async () => {
  if (dir) removeProject(dir);
  await moto?.stop();
  await engine?.stop();
});

function s3(): S3Client {
  return new S3Client({
    region: "us-east-1",
    endpoint: moto.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });
}

describe("docker steps with an S3 artifact store", () => {
  it("read and write their artifacts in the bucket with the connector's credentials, which reach only the containers' environment", async () => {
    const result = run(["run", "./pipelines/probe.ts#flakyMapPipeline", "-c", "configs/probe.yaml"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const name = /as run '([^']+)'/.exec(result.stdout + result.stderr)![1]!;
    const described = JSON.parse(ok(run(["runs", "describe", name, "--json"]), "runs describe").stdout) as {
      id: string;
      status: string;
      steps: Array<{ stepId: string; status: string }>;
      artifacts: Array<{ step: string; output: string; uri: string }>;
    };
    expect(described.status).toBe("completed");
    expect(described.steps.map((s) => `${s.stepId}:${s.status}`).sort()).toEqual(
      ["numbers", "flaky_square", "flaky_square[0]", "flaky_square[1]", "flaky_square[2]", "flaky_square[3]", "sum_all"].map((s) => `${s}:completed`).sort(),
    );
    for (const artifact of described.artifacts) expect(artifact.uri.startsWith(`s3://${BUCKET}/stackyard/runs/${described.id}/`)).toBe(true);

    // The collector read every item's output from the bucket: 1 + 4 + 9 + 16.
    const sum = described.artifacts.find((a) => a.step === "sum_all")!;
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "stackyard/" }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    const sumKey = keys.find((k) => k.startsWith(`${sum.uri.slice(`s3://${BUCKET}/`.length)}/`) && k.endsWith(".json"))!;
    expect(sumKey).toBeDefined();
    const body = await (await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: sumKey }))).Body!.transformToString();
    expect(JSON.parse(body)).toBe(30);
    // Each step's record and log were written from its container.
    expect(keys).toContain(`stackyard/runs/${described.id}/sum_all/step.json`);
    expect(keys).toContain(`stackyard/runs/${described.id}/flaky_square[2]/step.json`);
    expect(ok(run(["runs", "logs", name, "--step", "sum_all"]), "runs logs").code).toBe(0);

    // The secret is nowhere but the secrets file: not in any output, the store, the snapshot, records or logs in the bucket.
    const leaks = (text: string) => text.includes(SECRET_KEY) || text.includes(ACCESS_KEY);
    expect(outputs.filter(leaks)).toEqual([]);
    const stackyardDir = join(dir, ".stackyard");
    const files = readdirSync(stackyardDir, { recursive: true, encoding: "utf8" }).filter(
      (f) => f !== "secrets.json" && statSync(join(stackyardDir, f)).isFile(),
    );
    for (const file of files) expect(leaks(readFileSync(join(stackyardDir, file)).toString("latin1")), file).toBe(false);
    expect(keys.some((k) => /^stackyard\/snapshots\/.+\.json$/.test(k))).toBe(true);
    for (const key of keys) {
      const text = await (await s3().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString("latin1");
      expect(leaks(text), key).toBe(false);
    }
  }, 600_000);
});
