import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testOrchestrator } from "@stackyard/conformance";
import { type DockerEngine, dockerClient, ensureBaseImage, ensureDockerEngine } from "@stackyard/tools/engines";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalDockerOrchestratorFlavor } from "../orchestrator/my-docker-flavor.js";
import { MyDockerEntrypoint } from "../orchestrator/my-entrypoint.js";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const example = fileURLToPath(new URL("..", import.meta.url));

/** The shell commands of the README's `sh` code blocks, in order, as written. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(example, "README.md"), "utf8");
  return [...readme.matchAll(/^```(?:sh|shell|bash)\n([\s\S]*?)^```/gm)].flatMap((block) =>
    block[1]!
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#")),
  );
}

let engine: DockerEngine;
beforeAll(async () => {
  engine = await ensureDockerEngine();
  await ensureBaseImage(dockerClient(engine.dockerHost));
  // The orchestrator (in this process, for the conformance suite) talks to the same engine as the commands.
  process.env.DOCKER_HOST = engine.dockerHost;
}, 600_000);
afterAll(async () => {
  await engine?.stop();
});

describe("the custom-orchestrator tutorial, as the README runs it", () => {
  let dir: string;
  const outputs: Array<{ command: string; code: number | null; stdout: string; stderr: string }> = [];

  beforeAll(() => {
    mkdirSync(join(repo, ".test-tmp"), { recursive: true });
    dir = mkdtempSync(join(repo, ".test-tmp", "custom-orchestrator-"));
    cpSync(example, dir, { recursive: true, filter: (src) => !/[/\\](\.stackyard|test|node_modules)$/.test(src) });
    for (const command of readmeCommands()) {
      const result = spawnSync("sh", ["-c", command], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, DOCKER_HOST: engine.dockerHost, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0" },
        timeout: 300_000,
      });
      outputs.push({ command, code: result.status, stdout: result.stdout, stderr: result.stderr });
      if (result.status !== 0) break;
    }
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has the tutorial's commands, and each of them succeeds", () => {
    expect(readmeCommands()).toEqual([
      "npx stackyard init",
      "npx stackyard orchestrator flavor register ./orchestrator/my-docker-flavor.ts#LocalDockerOrchestratorFlavor",
      "npx stackyard orchestrator register my_docker_orchestrator -f my_docker",
      "npx stackyard stack register my_stack -o my_docker_orchestrator -a default",
      "npx stackyard stack set my_stack",
      "npx tsx run.ts",
      "npx stackyard runs list",
    ]);
    for (const out of outputs) expect(out.code, `${out.command}\n${out.stdout}\n${out.stderr}`).toBe(0);
    expect(outputs).toHaveLength(7);
  });

  it("runs every step of the pipeline in its own container, with the orchestrator's settings and resources", () => {
    const run = outputs.find((o) => o.command === "npx tsx run.ts")!;
    const text = `${run.stdout}\n${run.stderr}`;
    expect(text).toMatch(/run training-\S+: completed/);
    expect(text).toContain('my_docker: some_setting = "some_value"');
    const containers = new Set([...text.matchAll(/my_docker: step (\w+) runs in container ([0-9a-f]{12})/g)].map((m) => `${m[1]} ${m[2]}`));
    expect([...containers].map((c) => c.split(" ")[0]).sort()).toEqual(["evaluate_model", "load_data", "split_data", "train_model"]);
    expect(new Set([...containers].map((c) => c.split(" ")[1])).size).toBe(4);
    // The step's own output, from inside its container.
    expect(text).toMatch(/load_data ran on \S+ as process \d+, inside a Docker container/);
    expect(text).toContain("some_setting seen by the step: some_value");
    expect(text).toMatch(/step train_model runs in container [0-9a-f]{12} \(stackyard\/node:[\d.]+; 1 CPU, 512MiB\)/);
    expect(text).toMatch(/test accuracy: \d+\.\d% \(\d+\/30\)/);
    // The entrypoint (orchestrator/my-entrypoint.ts) wrapped every step in its container, given the image by the orchestrator.
    for (const step of ["load_data", "split_data", "train_model", "evaluate_model"]) {
      expect(text).toMatch(new RegExp(`my_docker entrypoint: ${step} completed in \\d+\\.\\d s \\(image stackyard/node:[\\d.]+\\)`));
    }
  });

  it("records the run as completed in the project's store", () => {
    const list = spawnSync(process.execPath, [join(repo, "packages/cli/dist/bin.js"), "runs", "list", "--json"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "" },
    });
    const runs = JSON.parse(list.stdout) as Array<{ status: string; orchestrator: string; stack: string }>;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: "completed", stack: "my_stack" });
    const described = spawnSync(
      process.execPath,
      [join(repo, "packages/cli/dist/bin.js"), "runs", "describe", (runs[0] as unknown as { name: string }).name, "--json"],
      { cwd: dir, encoding: "utf8", env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "" } },
    );
    const steps = (JSON.parse(described.stdout) as { steps: Array<{ status: string }> }).steps;
    expect(steps.map((s) => s.status)).toEqual(["completed", "completed", "completed", "completed"]);
  });
});

// The shared orchestrator suite against this example's orchestrator, on the same engine.
testOrchestrator({
  name: "my_docker (examples/custom-orchestrator)",
  flavor: LocalDockerOrchestratorFlavor,
  entrypoint: MyDockerEntrypoint,
  parallel: true,
  honoursResources: true,
  sourceRoot: example,
  workDir: join(repo, ".test-tmp"),
  timeoutMs: 240_000,
});
