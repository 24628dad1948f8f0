import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliPath, newProject, removeProject, storeContent } from "./cli-harness.js";

describe("a step process given only the artifact store", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("step-process");
  });
  afterAll(() => removeProject(dir));

  it("reports a bad artifact store config as a config error (exit 2), not a crash", () => {
    const description = JSON.stringify({
      id: "a1",
      name: "shared",
      flavor: "local",
      flavor_source: "@stackyard/core#localArtifactStoreFlavor",
      config: { path: 42 },
    });
    const result = cli(dir, ["step", "run", "--snapshot", "snapshots/x.json", "--step", "s", "--run", "r"], { STACKYARD_ARTIFACT_STORE: description });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Invalid config for artifact store 'shared' (flavor local)");
    expect(result.stderr).toContain("path");
    expect(result.stderr).not.toMatch(/Unexpected error|\n\s+at /);
  });

  it("names the variable when the description is not JSON", () => {
    const result = cli(dir, ["step", "run", "--snapshot", "snapshots/x.json", "--step", "s", "--run", "r"], { STACKYARD_ARTIFACT_STORE: "{oops" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("STACKYARD_ARTIFACT_STORE is not a valid artifact store description");
  });
});

describe("a step process told nothing about its run", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("step-orphan");
  });
  afterAll(() => removeProject(dir));

  it("refuses to run (exit 2) instead of writing into the store of the folder it started in", () => {
    const before = storeContent(dir);
    const result = cli(dir, ["step", "run", "--snapshot", "snapshots/x.json", "--step", "s", "--run", "r"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("neither STACKYARD_STORE nor STACKYARD_ARTIFACT_STORE is set");
    expect(storeContent(dir)).toBe(before);
  });
});

describe("a step process whose orchestrator flavor names an entrypoint configuration", () => {
  let dir: string;
  let run: { id: string; snapshotUri: string };
  const stepRun = (...extra: string[]) => [...["step", "run", "--snapshot", run.snapshotUri, "--step", "sum_numbers", "--run", run.id], ...extra];
  const storeEnv = () => ({ STACKYARD_STORE: join(dir, ".stackyard", "stackyard.db") });

  beforeAll(() => {
    dir = newProject("step-entrypoint");
    for (const args of [
      ["orchestrator", "flavor", "register", "./flavors/subprocess-orchestrator.ts#SubprocessQueueOrchestratorFlavor"],
      ["orchestrator", "register", "queued", "-f", "subprocess_queue", `--bin=${cliPath}`],
      ["stack", "register", "queued_stack", "-o", "queued", "-a", "default"],
    ]) {
      const result = cli(dir, args);
      if (result.code !== 0) throw new Error(`${args.join(" ")}: ${result.stderr}`);
    }
  });
  afterAll(() => removeProject(dir));

  it("gets the orchestrator's option in every step command, and its wrap runs around each step", () => {
    const out = cli(dir, ["run", "./pipelines/hello.ts#hello", "--stack", "queued_stack", "--run-name", "queued", "--no-cache"]);
    expect(out.code, out.stderr).toBe(0);
    const output = out.stdout + out.stderr;
    expect(output).toContain("queue-entrypoint: make_numbers from queue gpu");
    expect(output).toContain("queue-entrypoint: sum_numbers ended completed");
    run = JSON.parse(cli(dir, ["runs", "describe", "queued", "--json"]).stdout) as { id: string; snapshotUri: string };
    expect(run.snapshotUri).toMatch(/snapshots\/.+\.json$/);
  });

  it("refuses an unknown option or a missing required one with exit code 2, writing nothing", () => {
    const before = storeContent(dir);
    const typo = cli(dir, stepRun("--queu", "gpu"), storeEnv());
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("Unknown option --queu for entrypoint QueueEntrypoint");
    expect(typo.stderr).toContain("--queue VALUE: the queue the step was sent to");
    expect(typo.stdout).not.toContain("queue-entrypoint:");
    const missing = cli(dir, stepRun(), storeEnv());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("entrypoint QueueEntrypoint needs --queue (the queue the step was sent to)");
    const valueless = cli(dir, stepRun("--queue"), storeEnv());
    expect(valueless.code).toBe(2);
    expect(valueless.stderr).toContain("Option --queue of entrypoint QueueEntrypoint needs a value");
    expect(storeContent(dir)).toBe(before);
  });

  it("runs the step again with the option given, and fails it when the wrapper throws", () => {
    const again = cli(dir, stepRun("--queue", "cpu"), storeEnv());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("queue-entrypoint: sum_numbers from queue cpu");
    const refused = cli(dir, stepRun("--queue", "cpu", "--refuse", "maintenance"), storeEnv());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("[stackyard] sum_numbers: failed (entrypoint QueueEntrypoint.wrap failed: refused: maintenance)");
    const described = JSON.parse(cli(dir, ["runs", "describe", "queued", "--json"]).stdout) as {
      steps: Array<{ stepId: string; status: string; error?: string }>;
    };
    expect(described.steps.find((s) => s.stepId === "sum_numbers")).toMatchObject({
      status: "failed",
      error: "entrypoint QueueEntrypoint.wrap failed: refused: maintenance",
    });
  });

  it("refuses a flavor whose entrypoint is not an EntrypointConfiguration before the run starts", () => {
    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/subprocess-orchestrator.ts#SubprocessStrangerFlavor"]).code).toBe(0);
    expect(cli(dir, ["orchestrator", "register", "stranger", "-f", "subprocess_stranger", `--bin=${cliPath}`]).code).toBe(0);
    expect(cli(dir, ["stack", "register", "stranger_stack", "-o", "stranger", "-a", "default"]).code).toBe(0);
    const before = cli(dir, ["runs", "list", "--json"]).stdout;
    const out = cli(dir, ["run", "./pipelines/hello.ts#hello", "--stack", "stranger_stack"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(
      "The entrypoint configuration './flavors/queue-entrypoint.ts#NotAnEntrypoint' of flavor 'subprocess_stranger' (./flavors/subprocess-orchestrator.ts#SubprocessStrangerFlavor) is not usable: expected a class extending EntrypointConfiguration, got 'NotAnEntrypoint', a function or class that does not extend it",
    );
    expect(cli(dir, ["runs", "list", "--json"]).stdout).toBe(before);
  });
});
