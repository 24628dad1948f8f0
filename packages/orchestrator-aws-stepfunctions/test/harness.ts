// Shared by the orchestrator's integration tests: a user project under
// <repo>/.test-tmp with the quickstart's pipeline, the real engines, the AWS
// resources the orchestrator needs on moto, and the built CLI.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";

/** The monorepo root. */
export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const quickstart = join(repoRoot, "examples/quickstart");
const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
const bin = join(repoRoot, "packages/cli/dist/bin.js");

export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";
export const CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
export const ECR_URI = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
export const SUBNETS = ["subnet-0123456789abcdef0"];
export const SECURITY_GROUPS = ["sg-0123456789abcdef0"];
export const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/stackyard-task-execution`;
export const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/stackyard-task`;

/** AWS environment of the test process and of step containers (moto accepts any key). */
export function awsEnvironment(endpoint?: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_REGION: REGION,
    ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}),
  };
}

/** `.dockerignore` syntax, relative to the build context (the repository root). */
export function dockerIgnore(projectFolder: string): string {
  return [
    "# Other test projects change all the time: only this one goes into the image.",
    ".test-tmp",
    `!.test-tmp/${projectFolder}`,
    "# Build and test tooling the steps never load.",
    ...[
      "nx",
      "@nx",
      "typescript",
      "@arethetypeswrong",
      "@rolldown",
      "prettier",
      "@napi-rs",
      "lightningcss*",
      "vite",
      "vitest",
      "@vitest",
      "rollup",
      "@rollup",
      "@types",
      "sinon",
      "aws-local-stepfunctions",
    ].map((m) => `node_modules/${m}`),
    "# Sources, tests and type declarations: the steps load built JavaScript only.",
    "packages/*/src",
    "packages/*/test",
    "packages/*/bench",
    "packages/*/docs",
    "**/*.map",
    "**/*.d.ts",
    "tools",
    "bench",
    "docs",
    "examples/*/.stackyard",
    "",
  ].join("\n");
}

/**
 * A user's project: the quickstart's pipelines, steps, materializers and
 * configs plus a failing pipeline, under `<repo>/.test-tmp` (so it resolves
 * the workspace's packages as a user's project resolves its own). Its run
 * configuration gives Task states a timeout (aws-local-stepfunctions
 * otherwise stops them after 60 s) and the image an ignore file.
 */
export function newProject(prefix: string): string {
  const base = join(repoRoot, ".test-tmp");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${prefix}-`));
  for (const folder of ["pipelines", "steps", "materializers", "configs"]) cpSync(join(quickstart, folder), join(dir, folder), { recursive: true });
  cpSync(fixtures, dir, { recursive: true });
  writeFileSync(join(dir, "docker.ignore"), dockerIgnore(basename(dir)));
  const original = readFileSync(join(dir, "configs/training_pipeline.yaml"), "utf8");
  const config = original
    .replace("    requirements: []", "    requirements: []\n    dockerignore: docker.ignore")
    .replace("  orchestrator: {}", "  orchestrator:\n    step_timeout: 600");
  if (!config.includes("dockerignore") || !config.includes("step_timeout")) {
    throw new Error("the quickstart's configs/training_pipeline.yaml changed shape: settings.docker.requirements or settings.orchestrator not found");
  }
  writeFileSync(join(dir, "configs/training_pipeline.yaml"), config);
  for (const name of ["failing_pipeline", "sleeping_pipeline", "retrying_pipeline", "map_pipeline", "flaky_pipeline"]) {
    writeFileSync(join(dir, `configs/${name}.yaml`), "settings:\n  docker:\n    dockerignore: docker.ignore\n  orchestrator:\n    step_timeout: 600\n");
  }
  return dir;
}

export function removeProject(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** The bucket and ECS cluster the stack uses, made on moto. */
export async function makeAwsResources(endpoint: string, bucket: string): Promise<{ clusterArn: string }> {
  const s3 = new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: CREDENTIALS });
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
    if (error.name !== "BucketAlreadyOwnedByYou") throw error;
  });
  s3.destroy();
  const ecs = new ECSClient({ region: REGION, endpoint, credentials: CREDENTIALS });
  const cluster = await ecs.send(new CreateClusterCommand({ clusterName: "stackyard" }));
  ecs.destroy();
  return { clusterArn: cluster.cluster!.clusterArn! };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `stackyard` command line and environment a user's shell would have, plus `env`. */
function cliCommand(args: string[], env: Record<string, string>): { argv: string[]; env: NodeJS.ProcessEnv } {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npx nx run-many -t build)`);
  return {
    argv: [bin, ...args],
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", STACKYARD_SOURCE_ROOT: "", STACKYARD_ARTIFACT_STORE: "", FORCE_COLOR: "0", ...env },
  };
}

/** Runs the built `stackyard` binary in `cwd` as a user would. */
export function cli(cwd: string, args: string[], env: Record<string, string> = {}, timeout = 300_000): CliResult {
  const command = cliCommand(args, env);
  const result = spawnSync(process.execPath, command.argv, { cwd, encoding: "utf8", env: command.env, timeout });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Starts the built `stackyard` binary in `cwd` and returns at once (for signals); stdout and stderr are pipes. */
export function startCli(cwd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const command = cliCommand(args, env);
  return spawn(process.execPath, command.argv, { cwd, env: command.env, stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * Runs the built `stackyard` binary in `cwd` without blocking this process:
 * moto's log is a pipe this process drains, so a long `stackyard run` that
 * talks to moto a lot must not run under spawnSync (moto stalls once the pipe
 * is full, and every S3 call with it).
 */
export async function cliAsync(cwd: string, args: string[], env: Record<string, string> = {}, timeout = 300_000): Promise<CliResult> {
  const child = startCli(cwd, args, env);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill("SIGTERM"), timeout);
  const code = await new Promise<number>((resolve) => child.on("close", (status) => resolve(status ?? -1)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Throws with the command's output unless it exited 0. */
export function ok(result: CliResult, what: string): CliResult {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

/** aws-local-stepfunctions 3 declares Node >= 22 and calls Promise.withResolvers. */
export function polyfillWithResolvers(): void {
  type WithResolvers = <T>() => { promise: Promise<T>; resolve: (value: T) => void; reject: (reason?: unknown) => void };
  const promiseCtor = Promise as unknown as { withResolvers?: WithResolvers };
  if (promiseCtor.withResolvers) return;
  promiseCtor.withResolvers = <T>() => {
    let resolve!: (value: T) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

/** `--key=value` flags of a config (arrays and objects as JSON). */
export function configFlags(config: Record<string, unknown>): string[] {
  return Object.entries(config).map(([key, value]) => `--${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
}

const localFlavorSource = `${fileURLToPath(new URL("./local-flavor.ts", import.meta.url))}#locallyExecutedStepFunctionsFlavor`;

/**
 * `stackyard init` in `dir` and an active stack `aws_stack` of S3 on moto, the
 * local registry and the `aws_step_functions_local` orchestrator
 * (local-flavor.ts: executions run in the CLI's process, each Task state a
 * container of the local Docker engine), configured as `orchestrator` says.
 */
export function registerLocallyExecutedStack(
  dir: string,
  configs: { artifactStore: Record<string, unknown>; registry: Record<string, unknown>; orchestrator: Record<string, unknown> },
): void {
  ok(cli(dir, ["init"]), "stackyard init");
  ok(cli(dir, ["orchestrator", "flavor", "register", localFlavorSource]), "orchestrator flavor register");
  ok(cli(dir, ["artifact-store", "register", "s3_store", "-f", "s3", ...configFlags(configs.artifactStore)]), "artifact-store register");
  ok(cli(dir, ["container-registry", "register", "ecr_registry", "-f", "aws", ...configFlags(configs.registry)]), "container-registry register");
  ok(cli(dir, ["orchestrator", "register", "sfn", "-f", "aws_step_functions_local", ...configFlags(configs.orchestrator)]), "orchestrator register");
  ok(cli(dir, ["stack", "register", "aws_stack", "-o", "sfn", "-a", "s3_store", "-c", "ecr_registry", "--set"]), "stack register");
}
