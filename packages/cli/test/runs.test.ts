import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliPath, newProject, removeProject } from "./cli-harness.js";

interface RunJson {
  id: string;
  snapshotUri: string;
  name: string;
  status: string;
  error?: string;
  steps: Array<{ stepId: string; status: string; outputs: Record<string, string>; error?: string; cachedFrom?: unknown }>;
  artifacts: Array<{ step: string; output: string; uri: string; sha256: string; size: number }>;
}

const describeRun = (dir: string, run: string): RunJson => {
  const out = cli(dir, ["runs", "describe", run, "--json"]);
  if (out.code !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout) as RunJson;
};

describe("running pipelines from the command line on the default stack", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("runs");
  });
  afterAll(() => removeProject(dir));

  it("runs a pipeline, records the run, its steps, artifacts and output", () => {
    const out = cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "first", "-p", "count=4"]);
    expect(out.code, out.stderr).toBe(0);
    const run = describeRun(dir, "first");
    expect(run.status).toBe("completed");
    expect(run.steps.map((s) => [s.stepId, s.status]).sort()).toEqual([
      ["make_numbers", "completed"],
      ["maybe_fail", "completed"],
      ["sum_numbers", "completed"],
    ]);
    const total = run.artifacts.find((a) => a.step === "sum_numbers" && a.output === "total")!;
    expect(total.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(total.size).toBe(2); // "10"
    const logs = cli(dir, ["runs", "logs", "first", "--step", "sum_numbers"]);
    expect(logs.stdout).toContain("total is 10");
    const list = JSON.parse(cli(dir, ["runs", "list", "--json"]).stdout) as Array<{ name: string; status: string }>;
    expect(list).toContainEqual(expect.objectContaining({ name: "first", status: "completed" }));
  });

  it("reuses cached steps when nothing changed, and not when a parameter did", () => {
    expect(cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "second", "-p", "count=4"]).code).toBe(0);
    expect(describeRun(dir, "second").steps.every((s) => s.status === "cached")).toBe(true);
    expect(cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "third", "-p", "count=6"]).code).toBe(0);
    const third = describeRun(dir, "third");
    expect(third.steps.find((s) => s.stepId === "make_numbers")!.status).toBe("completed");
    expect(third.artifacts.find((a) => a.output === "total")!.size).toBe(2); // "21"
  });

  it("marks a run failed when a step throws, exits 1, and keeps finished artifacts", () => {
    const out = cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "failing", "-p", "fail=true", "--no-cache"]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("step 'maybe_fail' failed: refusing total 15");
    const run = describeRun(dir, "failing");
    expect(run.status).toBe("failed");
    expect(run.steps.find((s) => s.stepId === "maybe_fail")!.status).toBe("failed");
    expect(run.artifacts.map((a) => a.output).sort()).toEqual(["numbers", "total"]);
  });

  it("runs every step in a fresh process through `stackyard step run`", () => {
    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/subprocess-orchestrator.ts#SubprocessOrchestratorFlavor"]).code).toBe(0);
    expect(cli(dir, ["orchestrator", "register", "subprocess", "-f", "subprocess", `--bin=${cliPath}`]).code).toBe(0);
    expect(cli(dir, ["stack", "register", "subprocess_stack", "-o", "subprocess", "-a", "default"]).code).toBe(0);
    const out = cli(dir, ["run", "./pipelines/hello.ts#hello", "--stack", "subprocess_stack", "--run-name", "in-processes", "-p", "count=7", "--no-cache"]);
    expect(out.code, out.stderr).toBe(0);
    const run = describeRun(dir, "in-processes");
    expect(run.status).toBe("completed");
    expect(run.steps.every((s) => s.status === "completed")).toBe(true);
    expect(cli(dir, ["runs", "logs", "in-processes", "--step", "sum_numbers"]).stdout).toContain("total is 28");
    // Each status shows once: the step process's own status lines are not echoed as its output.
    expect(out.stderr).not.toContain("| [stackyard]");
    expect(out.stderr.split("\n").filter((line) => line === "[in-processes] sum_numbers: completed")).toHaveLength(1);
  });

  it("runs a map step's items each in a fresh process, and refuses map steps on an orchestrator that cannot run them", () => {
    const before = cli(dir, ["runs", "list", "--json"]).stdout;
    const refused = cli(dir, ["run", "./pipelines/fanout.ts#fanout", "--stack", "subprocess_stack"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("Orchestrator 'subprocess' (flavor subprocess) cannot run map steps, and pipeline 'fanout' has 'square'");
    expect(refused.stderr).toContain("flavors: local, docker, aws_step_functions");
    expect(cli(dir, ["runs", "list", "--json"]).stdout).toBe(before);

    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/subprocess-orchestrator.ts#SubprocessMapOrchestratorFlavor"]).code).toBe(0);
    expect(cli(dir, ["orchestrator", "register", "subprocess_map", "-f", "subprocess_map", `--bin=${cliPath}`]).code).toBe(0);
    expect(cli(dir, ["stack", "register", "subprocess_map_stack", "-o", "subprocess_map", "-a", "default"]).code).toBe(0);
    const out = cli(dir, ["run", "./pipelines/fanout.ts#fanout", "--stack", "subprocess_map_stack", "--run-name", "fanned", "-p", "failOn=[3]", "--no-cache"]);
    expect(out.code, out.stderr).toBe(0);
    const run = describeRun(dir, "fanned");
    const total = run.artifacts.find((a) => a.step === "total")!;
    expect(JSON.parse(readFileSync(join(total.uri, "data.json"), "utf8"))).toEqual({ squares: [1, 4, 16, 25], sum: 46 });
    expect(run.steps.find((s) => s.stepId === "square[2]")).toMatchObject({ status: "failed", error: "refusing 3" });
    // The map on one line, the failed item under it; --items lists every item.
    const text = cli(dir, ["runs", "describe", "fanned"]).stdout;
    expect(text).toMatch(/square\s+completed\s+\S+\s+5 items: 4 completed, 1 failed/);
    expect(text).toMatch(/ {2}square\[2\]\s+failed\s+1\s+\S+\s+refusing 3/);
    expect(text).not.toContain("square[0]");
    expect(cli(dir, ["runs", "describe", "fanned", "--items"]).stdout).toMatch(/square\[0\]\s+completed/);
    expect(cli(dir, ["runs", "logs", "fanned", "--step", "square[4]"]).stdout).toBe("squaring 5\n");
    const all = cli(dir, ["runs", "logs", "fanned", "--step", "square"]).stdout;
    expect(all.indexOf("==> square[0] (completed) <==\nsquaring 1")).toBeLessThan(all.indexOf("==> square[4] (completed) <==\nsquaring 5"));
    // Step processes are told an item id; a wrong one is refused with the step's items named.
    for (const step of ["square[x]", "square[9]", "total[0]"]) {
      const bad = cli(dir, ["step", "run", "--snapshot", run.snapshotUri, "--step", step, "--run", run.id], {
        STACKYARD_STORE: join(dir, ".stackyard", "stackyard.db"),
      });
      expect(bad.code, `${step}: ${bad.stderr}`).toBe(step === "square[9]" ? 1 : 2);
      if (step !== "square[9]") expect(bad.stderr).toContain(`has no step '${step}'`);
      else expect(bad.stderr).toContain("Map step 'square' has no item 9");
    }
  });

  it("retries a failed run: reuses what it finished, runs the failed map items and what follows, and links the two runs", () => {
    const failed = cli(dir, ["run", "./pipelines/fanout.ts#fanout", "--run-name", "flaky", "--no-cache"], { FANOUT_FAIL: "2,5" });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("2 of 5 items failed (1 tolerated)");
    const before = cli(dir, ["runs", "list", "--json"]).stdout;
    // Bad retries change nothing.
    for (const [args, message] of [
      [["runs", "retry", "flaky", "--from", "nope"], "Run 'flaky' has no step 'nope' to retry from (its steps: make_list, square, total)"],
      [["runs", "retry", "first"], "Run 'first' completed: there is no failed step to retry"],
      [["runs", "retry", "no-such-run"], "No run 'no-such-run'"],
    ] as const) {
      const out = cli(dir, [...args]);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toContain(message);
      expect(out.stderr).not.toContain("Retrying");
    }
    expect(cli(dir, ["runs", "list", "--json"]).stdout).toBe(before);

    const retried = cli(dir, ["runs", "retry", "flaky"]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toContain("Retrying pipeline 'fanout' as run 'flaky-retry'");
    const run = describeRun(dir, "flaky-retry");
    const original = describeRun(dir, "flaky");
    const status = (r: RunJson, id: string) => r.steps.find((s) => s.stepId === id)?.status;
    expect(["make_list", "square[0]", "square[2]", "square[3]", "square[4]", "total"].map((id) => status(run, id))).toEqual([
      "cached",
      "cached",
      "cached",
      "cached",
      "completed",
      "completed",
    ]);
    expect(status(run, "square[1]")).toBe("completed");
    // The reused steps point at the outputs the failed run made.
    expect(run.steps.find((s) => s.stepId === "square[0]")!.outputs).toEqual(original.steps.find((s) => s.stepId === "square[0]")!.outputs);
    const total = run.artifacts.find((a) => a.step === "total")!;
    expect(JSON.parse(readFileSync(join(total.uri, "data.json"), "utf8"))).toEqual({ squares: [1, 4, 9, 16, 25], sum: 55 });
    expect(cli(dir, ["runs", "describe", "flaky-retry"]).stdout).toMatch(/^retry of: +flaky$/m);
    // --from: that step and what follows run again; what comes before is reused.
    const from = cli(dir, ["runs", "retry", "flaky-retry", "--from", "square", "--run-name", "from-square"]);
    expect(from.code, from.stderr).toBe(0);
    const fromRun = describeRun(dir, "from-square");
    expect(status(fromRun, "make_list")).toBe("cached");
    expect(fromRun.steps.find((s) => s.stepId === "make_list")!.outputs).toEqual(run.steps.find((s) => s.stepId === "make_list")!.outputs);
    expect(status(fromRun, "square")).toBe("completed");
  });

  it("reruns a run of a DAG with two first steps: every step runs again, nothing reused", () => {
    const first = cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "two-roots", "-p", "sleep_ms=10", "--no-cache"]);
    expect(first.code, first.stderr).toBe(0);
    const before = cli(dir, ["runs", "list", "--json"]).stdout;
    const both = cli(dir, ["runs", "retry", "two-roots", "--all", "--from", "sleep"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give one of --all and --from");
    expect(cli(dir, ["runs", "list", "--json"]).stdout).toBe(before);

    for (const name of ["two-roots-rerun", "two-roots-rerun-2"]) {
      const rerun = cli(dir, ["runs", "retry", "two-roots", "--all"]);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stderr).toContain(`as run '${name}'`);
      const run = describeRun(dir, name);
      expect(run.steps.map((s) => [s.stepId, s.status]).sort()).toEqual([
        ["make_numbers", "completed"],
        ["maybe_fail", "completed"],
        ["sleep", "completed"],
        ["sum_numbers", "completed"],
      ]);
      expect(run.steps.every((s) => s.cachedFrom === undefined)).toBe(true);
    }
    expect(cli(dir, ["runs", "describe", "two-roots-rerun"]).stdout).toMatch(/^retry of: +two-roots$/m);
  });

  it("finds a run whose runner was killed with SIGKILL and marks it failed", async () => {
    const child = spawn(process.execPath, [cliPath, "run", "./pipelines/hello.ts#hello", "--run-name", "killed", "-p", "sleep_ms=20000", "--no-cache"], {
      cwd: dir,
      stdio: "ignore",
    });
    // Wait until the run is recorded as running, then kill the runner outright.
    for (let i = 0; i < 100; i++) {
      const list = cli(dir, ["runs", "list", "--json", "--status", "running"]);
      if (list.code === 0 && (JSON.parse(list.stdout) as Array<{ name: string }>).some((r) => r.name === "killed")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const run = describeRun(dir, "killed");
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/the process running it \(pid \d+\) ended without finishing the run/);
    expect(run.steps.find((s) => s.stepId === "sleep")?.status ?? "failed").toBe("failed");
    // The store is intact and usable.
    expect(cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "after-kill"]).code).toBe(0);
  });

  it("stops a running run with `stackyard runs stop`: the runner stops its steps and records the run stopped", async () => {
    const child = spawn(process.execPath, [cliPath, "run", "./pipelines/hello.ts#hello", "--run-name", "to-stop", "-p", "sleep_ms=30000", "--no-cache"], {
      cwd: dir,
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    for (let i = 0; i < 100; i++) {
      const list = cli(dir, ["runs", "list", "--json", "--status", "running"]);
      if (list.code === 0 && (JSON.parse(list.stdout) as Array<{ name: string }>).some((r) => r.name === "to-stop")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const started = Date.now();
    const stop = cli(dir, ["runs", "stop", "to-stop"]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await exited).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    const run = describeRun(dir, "to-stop");
    expect(run.status).toBe("stopped");
    expect(run.steps.find((s) => s.stepId === "sleep")!.status).toBe("stopped");
  });

  it("records 20 runs started at once on one store, each in full", async () => {
    const runs = Array.from({ length: 20 }, (_, i) => `concurrent-${i}`);
    const codes = await Promise.all(
      runs.map(
        (name, i) =>
          new Promise<number>((resolve) => {
            const child = spawn(process.execPath, [cliPath, "run", "./pipelines/hello.ts#hello", "--run-name", name, "-p", `count=${10 + i}`, "-q"], {
              cwd: dir,
              stdio: "ignore",
            });
            child.on("exit", (code) => resolve(code ?? -1));
          }),
      ),
    );
    expect(codes).toEqual(runs.map(() => 0));
    for (const [i, name] of runs.entries()) {
      const run = describeRun(dir, name);
      expect(run.status).toBe("completed");
      expect(run.steps).toHaveLength(3);
      expect(run.artifacts.map((a) => a.output).sort()).toEqual(["numbers", "ok", "total"]);
      const n = 10 + i;
      expect(run.artifacts.find((a) => a.output === "total")!.size).toBe(String((n * (n + 1)) / 2).length);
    }
  }, 240_000);
});

describe("lazy loading of flavor implementations", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("lazy");
  });
  afterAll(() => removeProject(dir));

  it("registers, lists, describes and stacks a flavor whose implementation cannot load; only a run fails, naming the package", () => {
    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/broken-implementation.ts#BrokenOrchestratorFlavor"]).code).toBe(0);
    expect(cli(dir, ["orchestrator", "register", "broken_orch", "-f", "broken", "--region=us-east-1"]).code).toBe(0);
    expect(JSON.parse(cli(dir, ["orchestrator", "list", "--json"]).stdout).map((c: { name: string }) => c.name)).toContain("broken_orch");
    expect(JSON.parse(cli(dir, ["orchestrator", "describe", "broken_orch", "--json"]).stdout).config).toEqual({ region: "us-east-1" });
    expect(cli(dir, ["orchestrator", "flavor", "describe", "broken"]).code).toBe(0);
    expect(cli(dir, ["stack", "register", "broken_stack", "-o", "broken_orch", "-a", "default", "--set"]).code).toBe(0);
    expect(cli(dir, ["stack", "describe", "--json"]).code).toBe(0);

    const run = cli(dir, ["run", "./pipelines/hello.ts#hello"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Cannot load the implementation of orchestrator 'broken_orch' (flavor broken): Cannot find package 'heavy-cloud-sdk'");
    expect(run.stderr).toContain("npm install @example/broken-orchestrator");
  });
});
