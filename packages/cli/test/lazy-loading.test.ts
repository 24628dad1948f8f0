/**
 * Commands that do not use a component never load its implementation's
 * dependencies. Measured: the CLI runs with a module hook that records every
 * module it resolves (ESM) or requires (CommonJS), with every flavor package
 * of the workspace installed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPath, newProject, removeProject, repoRoot } from "./cli-harness.js";

/** Heavy dependencies of flavor implementations (AWS SDK, Docker client) and what they pull in. */
const HEAVY = /\/node_modules\/(@aws-sdk|@smithy|dockerode|docker-modem|ssh2|tar-fs)\//;

const HOOKS = `import { appendFileSync } from "node:fs";
let out;
export async function initialize(data) {
  out = data.out;
}
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(out, result.url + "\\n");
  return result;
}
`;

// Registers the hooks, and at exit also records the CommonJS modules loaded
// (require() inside CommonJS packages does not pass through ESM hooks on Node 20).
const REGISTER = `import { register, createRequire } from "node:module";
import { appendFileSync } from "node:fs";
const out = process.env.STACKYARD_TRACE_FILE;
register("./trace-hooks.mjs", import.meta.url, { data: { out } });
const cache = createRequire(import.meta.url).cache;
process.on("exit", () => appendFileSync(out, Object.keys(cache).map((f) => "cjs:" + f).join("\\n") + "\\n"));
`;

let project: string;
let register: string;
let traceCount = 0;

/** Runs the built CLI with module tracing; returns its result and every module it loaded. */
function traced(args: string[]): { code: number; stderr: string; stdout: string; modules: string[] } {
  const trace = join(project, `trace-${++traceCount}.txt`);
  const result = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, cliPath, ...args], {
    cwd: project,
    encoding: "utf8",
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", STACKYARD_TRACE_FILE: trace, FORCE_COLOR: "0", NODE_OPTIONS: "" },
    timeout: 60_000,
  });
  const modules = existsSync(trace) ? readFileSync(trace, "utf8").split("\n").filter(Boolean) : [];
  rmSync(trace, { force: true });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, modules };
}

const heavy = (modules: string[]) => [...new Set(modules.filter((m) => HEAVY.test(m)).map((m) => m.replace(/^.*\/node_modules\//, "")))];

beforeAll(() => {
  for (const pkg of ["orchestrator-docker", "artifact-store-s3", "container-registry-ecr", "orchestrator-aws-stepfunctions", "connector-aws"]) {
    if (!existsSync(join(repoRoot, "node_modules/@stackyard", pkg, "package.json"))) throw new Error(`@stackyard/${pkg} is not installed in the workspace`);
  }
  project = newProject("lazy");
  writeFileSync(join(project, "trace-hooks.mjs"), HOOKS);
  register = join(project, "trace-register.mjs");
  writeFileSync(register, REGISTER);
});

afterAll(() => {
  if (project) removeProject(project);
});

describe("lazy loading, measured", () => {
  it("the trace sees what a module really loads (control: the docker and S3 implementations)", () => {
    const control = join(project, "control.mjs");
    writeFileSync(
      control,
      `await import(${JSON.stringify(pathToFileURL(join(repoRoot, "packages/orchestrator-docker/dist/implementation.js")).href)});
await import(${JSON.stringify(pathToFileURL(join(repoRoot, "packages/artifact-store-s3/dist/implementation.js")).href)});\n`,
    );
    const trace = join(project, "trace-control.txt");
    const result = spawnSync(process.execPath, ["--import", pathToFileURL(register).href, control], {
      cwd: project,
      encoding: "utf8",
      env: { ...process.env, STACKYARD_TRACE_FILE: trace, NODE_OPTIONS: "" },
    });
    expect(result.status, result.stderr).toBe(0);
    const loaded = heavy(readFileSync(trace, "utf8").split("\n"));
    expect(loaded.some((m) => m.startsWith("dockerode/"))).toBe(true);
    expect(loaded.some((m) => m.startsWith("@aws-sdk/client-s3/"))).toBe(true);
  });

  const commands: string[][] = [
    ["flavor", "list"],
    ["flavor", "list", "--json"],
    ["orchestrator", "flavor", "list"],
    ["orchestrator", "flavor", "describe", "docker"],
    ["artifact-store", "flavor", "describe", "s3"],
    ["orchestrator", "register", "d", "-f", "docker", "--network_mode=none"],
    ["artifact-store", "register", "s", "-f", "s3", "--path=s3://some-bucket/prefix", "--region=eu-west-1"],
    ["container-registry", "register", "e", "-f", "aws", "--uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com"],
    ["stack", "register", "remote", "-o", "d", "-a", "s", "-c", "e"],
    ["stack", "list"],
    ["stack", "describe"],
    ["stack", "describe", "remote", "--json"],
    ["orchestrator", "describe", "d"],
    ["artifact-store", "describe", "s", "--json"],
    ["container-registry", "list"],
    ["orchestrator", "update", "d", "--concurrency=2"],
  ];

  it.each(commands.map((args) => [args.join(" "), args]))("`stackyard %s` loads no AWS SDK, Docker client or dashboard module", (_, args) => {
    const result = traced(args as string[]);
    expect(result.code, result.stderr).toBe(0);
    // The trace worked: it saw the CLI's own modules.
    expect(result.modules.some((m) => m.includes("/packages/cli/dist/"))).toBe(true);
    expect(heavy(result.modules)).toEqual([]);
    // The dashboard is loaded by `stackyard up` alone.
    expect(result.modules.filter((m) => /\/(packages\/dashboard|@stackyard\/dashboard)\//.test(m))).toEqual([]);
  });

  it("registration loads the flavor module and nothing of the implementation", () => {
    const result = traced(["container-registry", "register", "e2", "-f", "aws", "--uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com"]);
    expect(result.code, result.stderr).toBe(0);
    const ours = result.modules.filter((m) => /\/packages\/container-registry-ecr\//.test(m));
    expect(ours.some((m) => m.endsWith("/dist/index.js"))).toBe(true);
    expect(ours.filter((m) => /implementation/.test(m))).toEqual([]);
  });
});
