import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The monorepo root. */
export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const bin = join(repoRoot, "packages/cli/dist/bin.js");
const quickstart = join(repoRoot, "examples/quickstart");
const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time in ms. */
  ms: number;
}

/** Runs the built `stackyard` binary in `cwd` as a user would. */
export function cli(cwd: string, args: string[], env: Record<string, string> = {}, timeout = 300_000): CliResult {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npx nx run-many -t build)`);
  const started = performance.now();
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", STACKYARD_SOURCE_ROOT: "", FORCE_COLOR: "0", ...env },
    timeout,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, ms: performance.now() - started };
}

/** Like {@link cli}, without blocking: for runs that are stopped half-way. */
export function cliAsync(cwd: string, args: string[]): { done: Promise<CliResult>; pid: number; output(): string } {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", STACKYARD_SOURCE_ROOT: "", FORCE_COLOR: "0" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - started })));
  return { done, pid: child.pid!, output: () => stdout + stderr };
}

/** Throws with the command's output unless it exited 0. */
export function ok(result: CliResult, what = "command"): CliResult {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

/**
 * A fresh project under `<repo>/.test-tmp` (so it resolves the workspace's
 * packages, as a user's project resolves its own node_modules) with the
 * quickstart's pipelines, steps and configs plus this package's test
 * pipelines, initialised. Its build context is the repository root; the
 * `docker.ignore` file written here keeps other test projects and the
 * build-only tooling out of the image (settings.docker.dockerignore).
 */
export function newProject(prefix = "docker"): string {
  const base = join(repoRoot, ".test-tmp");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${prefix}-`));
  // The quickstart's own files (pipelines, steps, materializers, configs), not its installs or tests.
  for (const entry of readdirSync(quickstart)) {
    if (["node_modules", "test", ".stackyard", "package.json"].includes(entry)) continue;
    cpSync(join(quickstart, entry), join(dir, entry), { recursive: true });
  }
  cpSync(fixtures, dir, { recursive: true });
  writeFileSync(join(dir, "docker.ignore"), dockerIgnore(basename(dir)));
  // The quickstart's run configuration, with the ignore file for the image build.
  const config = readFileSync(join(dir, "configs/training_pipeline.yaml"), "utf8").replace(
    "    requirements: []",
    "    requirements: []\n    dockerignore: docker.ignore",
  );
  if (!config.includes("dockerignore"))
    throw new Error("the quickstart's configs/training_pipeline.yaml changed shape: settings.docker.requirements not found");
  writeFileSync(join(dir, "configs/training_pipeline.yaml"), config);
  ok(cli(dir, ["init"]), "stackyard init");
  return dir;
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
    ].map((m) => `node_modules/${m}`),
    "bench",
    "docs",
    "examples",
    "tools",
    "packages/*/src",
    "packages/*/test",
    "# The exception above would bring the project's store back in (image-builder applies its built-in",
    "# excludes before these patterns): the live SQLite file must never be read by the build.",
    "**/.stackyard",
    "**/*.log",
    "",
  ].join("\n");
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Registers a `docker` orchestrator and a stack with it (set active). The test
 * engine runs without a bridge, so its steps use the host's network
 * (`--network_mode=host`, chosen explicitly: the flavor's default is `bridge`).
 */
export function registerDockerStack(
  dir: string,
  dockerHost: string,
  parentImage: string,
  extra: string[] = [],
  stack = "docker_stack",
  orchestrator = "docker_orch",
): void {
  ok(
    cli(dir, [
      "orchestrator",
      "register",
      orchestrator,
      "-f",
      "docker",
      `--docker_host=${dockerHost}`,
      `--parent_image=${parentImage}`,
      "--network_mode=host",
      ...extra,
    ]),
    "orchestrator register",
  );
  ok(cli(dir, ["stack", "register", stack, "-o", orchestrator, "-a", "default", "--set"]), "stack register");
}
