// Runs every teammate sees, through the built `stackyard` binary: project A
// runs a pipeline on the locally-executed Step Functions stack; project B, a
// fresh folder with only the same stack registered (same orchestrator, same
// S3 artifact store on moto), finds that run with `runs list`, describes it,
// reads its step's logs and loads its output, all from the execution and the
// records the step containers wrote into the artifact store. The executions
// of A's process are seen by B's through a shared folder, as every machine
// sees Step Functions' (shared-executions.ts), and B's StopExecution of one
// reaches the process running it.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIALS, cli, cliAsync, configFlags, newProject, ok, registerLocallyExecutedStack, removeProject, startCli } from "./harness.js";
import { type LocalAws, startLocalAws } from "./local-aws.js";

const TEST_LABEL = "io.stackyard.test.remote-stop";

let aws: LocalAws;
let a: string;
let b: string;
let shared: string;
let env: Record<string, string>;
let configs: Parameters<typeof registerLocallyExecutedStack>[1];

interface ListedRun {
  id: string;
  name: string;
  pipeline: string;
  status: string;
  stack: string;
  orchestratorRunId?: string;
  imported?: boolean;
}

beforeAll(async () => {
  aws = await startLocalAws({ bucket: "stackyard-remote-runs" });
  shared = mkdtempSync(join(tmpdir(), "sfn-shared-executions-"));
  env = { LOCAL_SFN_SHARED_EXECUTIONS: shared };
  // Without a log group `runs logs` reads the log the step's containers wrote into the artifact store.
  const { log_group: _, ...orchestrator } = aws.orchestratorConfig();
  configs = { artifactStore: aws.artifactStoreConfig(), registry: aws.registryConfig(), orchestrator };
  a = newProject("sfn-remote-a");
  b = newProject("sfn-remote-b");
  registerLocallyExecutedStack(a, configs);
  registerLocallyExecutedStack(b, configs);
}, 300_000);

afterAll(async () => {
  removeProject(a);
  removeProject(b);
  if (shared) rmSync(shared, { recursive: true, force: true });
  await aws?.stop();
});

describe("runs started on another machine", { timeout: 300_000 }, () => {
  it("are listed, described, logged and loaded in a project that only shares the stack", () => {
    const run = cli(a, ["run", "./pipelines/retrying.ts#flakyPipeline", "--config", "configs/retrying_pipeline.yaml", "--run-name", "teammates-run"], env);
    expect(run.code, run.stderr).toBe(0);
    const inA = (JSON.parse(ok(cli(a, ["runs", "list", "--json", "--local"], env), "runs list in A").stdout) as ListedRun[])[0]!;
    expect(inA.name).toBe("teammates-run");

    // B has never seen it: --local shows nothing.
    expect(JSON.parse(ok(cli(b, ["runs", "list", "--json", "--local"], env), "runs list --local in B").stdout)).toEqual([]);

    const first = ok(cli(b, ["runs", "list", "--json"], env), "runs list in B");
    expect(first.stderr).toMatch(/Found 1 new run\(s\) on the orchestrator/);
    const listed = JSON.parse(first.stdout) as ListedRun[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      id: inA.id,
      name: "teammates-run",
      pipeline: "flaky_pipeline",
      status: "completed",
      stack: "aws_stack",
      orchestratorRunId: inA.orchestratorRunId,
      imported: true,
    });

    const described = JSON.parse(ok(cli(b, ["runs", "describe", "teammates-run", "--json"], env), "runs describe in B").stdout) as {
      status: string;
      steps: Array<{ stepId: string; status: string; attempt: number }>;
      artifacts: Array<{ step: string; output: string; artifact: string }>;
    };
    expect(described.status).toBe("completed");
    expect(described.steps.map(({ stepId, status, attempt }) => ({ stepId, status, attempt }))).toEqual([{ stepId: "flaky", status: "completed", attempt: 3 }]);
    expect(described.artifacts).toEqual([expect.objectContaining({ step: "flaky", output: "attempt", artifact: "flaky_pipeline.flaky.attempt:1" })]);
    const text = ok(cli(b, ["runs", "describe", "teammates-run"], env), "runs describe (table) in B").stdout;
    expect(text).toMatch(/started by:\s+another machine \(found on orchestrator sfn/);

    const logs = ok(cli(b, ["runs", "logs", "teammates-run", "--step", "flaky"], env), "runs logs in B").stdout;
    expect(logs.match(/flaky runs attempt \d/g)).toEqual(["flaky runs attempt 1", "flaky runs attempt 2", "flaky runs attempt 3"]);

    const shown = ok(cli(b, ["artifact", "show", "flaky_pipeline.flaky.attempt"], env), "artifact show in B").stdout;
    expect(shown.trim()).toBe("3");

    const stop = ok(cli(b, ["runs", "stop", "teammates-run"], env), "runs stop in B");
    expect(stop.stderr).toMatch(/already completed/);

    // Nothing changed since: the second look imports nothing, and the run is listed once.
    const second = ok(cli(b, ["runs", "list", "--json"], env), "second runs list in B");
    expect(second.stderr).not.toMatch(/Found/);
    expect((JSON.parse(second.stdout) as ListedRun[]).map((r) => r.name)).toEqual(["teammates-run"]);

    // A third teammate asks for the run's logs straight away: it is looked up, imported and read.
    const c = newProject("sfn-remote-c");
    try {
      registerLocallyExecutedStack(c, configs);
      const direct = ok(cli(c, ["runs", "logs", "teammates-run", "--step", "flaky"], env), "runs logs in C").stdout;
      expect(direct.match(/flaky runs attempt \d/g)).toEqual(["flaky runs attempt 1", "flaky runs attempt 2", "flaky runs attempt 3"]);
    } finally {
      removeProject(c);
    }

    // A knows the run as its own: nothing is imported there.
    const again = ok(cli(a, ["runs", "list", "--json"], env), "runs list in A");
    expect(again.stderr).not.toMatch(/Found/);
    expect((JSON.parse(again.stdout) as ListedRun[]).map((r) => r.imported)).toEqual([undefined]);
  }, 900_000);

  it("are stopped from a project that only shares the stack: the execution, its step's container and the run that follows it", async () => {
    const id = randomUUID();
    const containers = (all: boolean) => aws.docker.listContainers({ all, filters: { label: [`${TEST_LABEL}=${id}`] } });
    const child = startCli(
      a,
      ["run", "./pipelines/sleeping.ts#sleepingPipeline", "--config", "configs/sleeping_pipeline.yaml", "--run-name", "teammates-nap"],
      {
        ...env,
        LOCAL_ECS_LABELS: JSON.stringify({ [TEST_LABEL]: id }),
      },
    );
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      // A's step container runs (napping for 5 minutes).
      const deadline = Date.now() + 480_000;
      while ((await containers(false)).length === 0) {
        if (child.exitCode !== null) throw new Error(`stackyard run ended before the step's container ran:\n${output}`);
        if (Date.now() > deadline) throw new Error(`no step container after 8 minutes:\n${output}`);
        await sleep(250);
      }

      // B finds it running and stops it.
      const listed = JSON.parse(ok(await cliAsync(b, ["runs", "list", "--json"], env), "runs list in B").stdout) as ListedRun[];
      expect(listed.find((r) => r.name === "teammates-nap")).toMatchObject({ status: "running", imported: true });
      const stop = ok(await cliAsync(b, ["runs", "stop", "teammates-nap"], env), "runs stop in B");
      expect(stop.stderr).toMatch(/Stopping run 'teammates-nap'/);

      // A's `stackyard run` sees its execution stopped, records the run as stopped and exits, long before the nap ends.
      const giveUp = new AbortController();
      const code = await Promise.race([exited, sleep(120_000, "still running", { signal: giveUp.signal }).catch(() => "still running")]);
      giveUp.abort();
      expect(code, output).toBe(1);
      expect(output).toMatch(/Run 'teammates-nap' stopped/);
      expect(await containers(true)).toEqual([]);

      for (const [project, where] of [
        [b, "B"],
        [a, "A"],
      ] as const) {
        const run = JSON.parse(ok(await cliAsync(project, ["runs", "describe", "teammates-nap", "--json"], env), `runs describe in ${where}`).stdout) as {
          status: string;
          steps: Array<{ stepId: string; status: string }>;
        };
        expect(run.status, where).toBe("stopped");
        expect(run.steps.find((s) => s.stepId === "wake_up")?.status, where).not.toBe("completed");
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      for (const container of await containers(true)) await aws.docker.getContainer(container.Id).remove({ force: true });
    }
  }, 900_000);

  it("warns once and lists the local runs when the orchestrator's endpoint cannot be reached", () => {
    const { log_group: _, ...orchestrator } = aws.orchestratorConfig({ endpoint_url: "http://127.0.0.1:9" });
    ok(cli(b, ["orchestrator", "register", "sfn_down", "-f", "aws_step_functions_local", ...configFlags(orchestrator)], env), "orchestrator register");
    ok(cli(b, ["stack", "register", "down_stack", "-o", "sfn_down", "-a", "s3_store", "-c", "ecr_registry"], env), "stack register");
    const out = cli(b, ["runs", "list", "--stack", "down_stack"], env);
    expect(out.code, out.stderr).toBe(0);
    // (Node's own warnings aside.)
    expect(out.stderr.match(/^Warning: /gm)).toHaveLength(1);
    expect(out.stderr).toMatch(/Could not list the runs of orchestrator 'sfn_down' \(aws_step_functions_local\): .+Showing the runs recorded here\./);
    expect(out.stderr).not.toContain(CREDENTIALS.secretAccessKey);
    expect(out.stderr).not.toContain(CREDENTIALS.accessKeyId);
    expect(out.stdout).toMatch(/teammates-run/);
  }, 120_000);
});
