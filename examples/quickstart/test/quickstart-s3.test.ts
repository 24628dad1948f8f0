import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { ensureMoto, type MotoServer } from "@stackyard/tools/engines";
import { registerAwsKeysConnector } from "@stackyard/tools/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const example = fileURLToPath(new URL("..", import.meta.url));
const stackyard = join(repo, "packages/cli/dist/bin.js");
const tsx = join(repo, "node_modules/tsx/dist/cli.mjs");

// Values that must never show up anywhere but the secrets file.
const ACCESS_KEY = "AKIAQUICKSTARTLEAKTEST";
const SECRET_KEY = "quickstart/Secret+Key/never-printed-0123456789";

describe("the quickstart with its artifacts in S3 (emulated), through an aws service connector", () => {
  let moto: MotoServer;
  let dir: string;
  const outputs: string[] = [];
  const run = (args: string[]) => {
    // No AWS variables from the environment: credentials come from the connector only.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
    const result = spawnSync(process.execPath, args, {
      cwd: dir,
      encoding: "utf8",
      env: { ...env, STACKYARD_STORE: "", STACKYARD_STACK: "" },
      timeout: 180_000,
    });
    outputs.push(result.stdout, result.stderr);
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(async () => {
    moto = await ensureMoto();
    const s3 = new S3Client({
      region: "us-east-1",
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    });
    await s3.send(new CreateBucketCommand({ Bucket: "quickstart-artifacts" }));
    mkdirSync(join(repo, ".test-tmp"), { recursive: true });
    dir = mkdtempSync(join(repo, ".test-tmp", "quickstart-s3-"));
    cpSync(example, dir, { recursive: true, filter: (src) => !src.includes(".stackyard") && !src.includes("/test") });
    expect(run([stackyard, "init"]).code).toBe(0);
  });
  afterAll(async () => {
    await moto?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("registers, verifies and lists the connector's resources without printing its secret", () => {
    const register = run([
      stackyard,
      ...registerAwsKeysConnector("aws_keys", { region: "us-east-1", accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, endpoint: moto.endpoint }),
    ]);
    expect(register.code, register.stderr).toBe(0);
    const verify = run([stackyard, "service-connector", "verify", "aws_keys", "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
    const verified = JSON.parse(verify.stdout) as { identity: string; resources: Array<{ resourceType: string; resourceId: string }> };
    expect(verified.identity).toMatch(/^arn:aws:/);
    expect(verified.resources).toContainEqual({ resourceType: "s3-bucket", resourceId: "s3://quickstart-artifacts" });
    const resources = run([stackyard, "service-connector", "list-resources", "aws_keys", "--resource-type", "s3-bucket"]);
    expect(resources.stdout).toContain("s3://quickstart-artifacts");
    for (const args of [
      ["service-connector", "describe", "aws_keys"],
      ["service-connector", "describe", "aws_keys", "--json"],
      ["service-connector", "list"],
      ["service-connector", "list", "--json"],
    ]) {
      expect(run([stackyard, ...args]).code).toBe(0);
    }
  });

  it("runs the quickstart on a stack with the s3 artifact store, every artifact in the bucket", async () => {
    expect(
      run([stackyard, "artifact-store", "register", "s3_store", "-f", "s3", "--path=s3://quickstart-artifacts/stackyard", "--connector", "aws_keys"]).code,
    ).toBe(0);
    expect(run([stackyard, "stack", "register", "s3_stack", "-o", "default", "-a", "s3_store", "--set"]).code).toBe(0);
    const out = run([tsx, "run.ts"]);
    expect(out.code, out.stderr).toBe(0);
    const runs = JSON.parse(run([stackyard, "runs", "list", "--json"]).stdout) as Array<{ name: string; status: string }>;
    expect(runs[0]!.status).toBe("completed");
    const described = JSON.parse(run([stackyard, "runs", "describe", runs[0]!.name, "--json"]).stdout) as {
      artifacts: Array<{ output: string; uri: string; sha256: string }>;
    };
    expect(described.artifacts).toHaveLength(7);
    for (const artifact of described.artifacts) expect(artifact.uri.startsWith("s3://quickstart-artifacts/stackyard/runs/")).toBe(true);
    const s3 = new S3Client({
      region: "us-east-1",
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "quickstart-artifacts", Prefix: "stackyard/" }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys.some((k) => /^stackyard\/snapshots\/.+\.json$/.test(k))).toBe(true);
    expect(keys.some((k) => k.endsWith("/model/model.json"))).toBe(true);
    expect(keys.some((k) => k.endsWith("/confusion_matrix/image.svg"))).toBe(true);
    // Versions in the bucket load through the connector's credentials, as on the local store.
    const saved = run([stackyard, "artifact", "visualize", "training_pipeline.evaluate_model.confusion_matrix", "--out", "views"]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(readFileSync(saved.stdout.trim(), "utf8")).toMatch(/^<svg /);
    expect(Number(run([stackyard, "artifact", "show", "training_pipeline.evaluate_model.accuracy"]).stdout)).toBeGreaterThan(0.5);
    expect(run([stackyard, "runs", "logs", runs[0]!.name, "--step", "evaluate_model"]).stdout).toMatch(/test accuracy: \d+\.\d%/);

    // Secrets never leak: not in any output, the store (outside the secrets file), snapshots or artifacts.
    const leaks = (text: string) => text.includes(SECRET_KEY) || text.includes(ACCESS_KEY);
    expect(outputs.filter(leaks)).toEqual([]);
    const stackyardDir = join(dir, ".stackyard");
    const files = readdirSync(stackyardDir, { recursive: true })
      .map(String)
      .filter((f) => f !== "secrets.json" && statSync(join(stackyardDir, f)).isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(leaks(readFileSync(join(stackyardDir, file)).toString("latin1")), file).toBe(false);
    expect(existsSync(join(stackyardDir, "secrets.json"))).toBe(true);
    for (const key of keys) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: "quickstart-artifacts", Key: key }))).Body!.transformToString("latin1");
      expect(leaks(body), key).toBe(false);
    }
  });

  it("gives one clear error naming the bucket when it does not exist, and changes nothing", () => {
    expect(run([stackyard, "artifact-store", "register", "missing_store", "-f", "s3", "--path=s3://no-such-bucket", "--connector", "aws_keys"]).code).toBe(0);
    expect(run([stackyard, "stack", "register", "missing_stack", "-o", "default", "-a", "missing_store"]).code).toBe(0);
    const out = run([stackyard, "run", "./pipelines/training.ts#trainingPipeline", "--stack", "missing_stack"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("no-such-bucket");
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });
});
