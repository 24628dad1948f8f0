// Ctrl-C during a synchronous run: `stackyard run` (the built binary, in its
// own process) follows an execution whose step sleeps for minutes; SIGINT
// must stop the execution (StopExecution), stop the step's container, record
// the run as stopped and end the process, long before the step would have.
//
// The stack's orchestrator is `aws_step_functions_local` (local-flavor.ts):
// the real flavor whose executions run inside the CLI process, each Task
// state a container of the local Docker engine, so that the signal reaches
// the process that follows the execution and runs its tasks.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, ok, registerLocallyExecutedStack, removeProject, startCli } from "./harness.js";
import { type LocalAws, startLocalAws } from "./local-aws.js";
import { TASK_LABEL } from "./local-ecs.js";
import type { ExecutionsFile } from "./local-flavor.js";

const TEST_LABEL = "io.stackyard.test.sigint";
let aws: LocalAws;
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws({ bucket: "stackyard-sigint" });
  dir = newProject("sfn-sigint");
  registerLocallyExecutedStack(dir, {
    artifactStore: aws.artifactStoreConfig(),
    registry: aws.registryConfig(),
    orchestrator: { ...aws.orchestratorConfig(), poll_interval: 1 },
  });
});

afterAll(async () => {
  removeProject(dir);
  await aws?.stop();
});

describe("Ctrl-C while `stackyard run` follows an execution", () => {
  it("stops the execution and the step's container, records the run as stopped and exits", async () => {
    const id = randomUUID();
    const executionsFile = join(dir, "executions.json");
    const labels = { [TEST_LABEL]: id };
    const child = startCli(dir, ["run", "./pipelines/sleeping.ts#sleepingPipeline", "--config", "configs/sleeping_pipeline.yaml", "--run-name", "ctrl-c"], {
      LOCAL_ECS_LABELS: JSON.stringify(labels),
      LOCAL_SFN_EXECUTIONS_FILE: executionsFile,
    });
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const containers = (state: "running" | "any") => aws.docker.listContainers({ all: state === "any", filters: { label: [`${TEST_LABEL}=${id}`] } });

    try {
      // The image is built and pushed, the execution starts, then `nap`'s container runs.
      const deadline = Date.now() + 480_000;
      let running = await containers("running");
      while (running.length === 0) {
        if (child.exitCode !== null) throw new Error(`stackyard run ended before the step's container ran:\n${output}`);
        if (Date.now() > deadline) throw new Error(`no step container after 8 minutes:\n${output}`);
        await sleep(250);
        running = await containers("running");
      }
      expect(running.map((c) => c.Labels[TASK_LABEL])).toEqual(["nap"]);

      const interrupted = Date.now();
      child.kill("SIGINT");
      const giveUp = new AbortController();
      const timeout = sleep(120_000, undefined, { signal: giveUp.signal }).then(
        () => undefined,
        () => undefined,
      );
      const exit = await Promise.race([exited, timeout]);
      giveUp.abort();
      expect(exit, `stackyard run still runs 2 minutes after SIGINT:\n${output}`).toBeDefined();
      const seconds = (Date.now() - interrupted) / 1000;

      // The run failed as stopped (exit code 1), well before the 5-minute nap could have ended.
      expect(exit, output).toEqual({ code: 1, signal: null });
      expect(seconds, "seconds from SIGINT to exit").toBeLessThan(60);
      expect(output).toMatch(/Started execution arn:aws:states:[^\s]+:execution:stackyard-sleeping_pipeline:/);
      expect(output).toMatch(/Stopping: the run's steps are being stopped/);
      expect(output).toMatch(/Run 'ctrl-c' stopped/);

      // No container of the run is left, running or not.
      expect(await containers("any")).toEqual([]);

      // The orchestrator called StopExecution; the execution ended ABORTED, its task killed, wake_up never started.
      const recorded = JSON.parse(readFileSync(executionsFile, "utf8")) as ExecutionsFile;
      expect(recorded.executions).toHaveLength(1);
      const [execution] = recorded.executions;
      expect(execution).toMatchObject({ status: "ABORTED", stopReason: { error: "Stackyard.Stopped", cause: "stopped by the user" } });
      expect(execution!.events.at(-1)).toBe("ExecutionAborted");
      expect(execution!.events.filter((e) => e === "TaskStateEntered")).toHaveLength(1);
      expect(execution!.events).not.toContain("TaskSucceeded");
      expect(recorded.tasks).toEqual([{ stateName: "nap", exitCode: 137 }]);

      // The store says so too.
      const run = JSON.parse(ok(cli(dir, ["runs", "describe", "ctrl-c", "--json"]), "runs describe").stdout) as {
        status: string;
        orchestratorRunId: string;
        ended?: string;
        steps: Array<{ stepId: string; status: string }>;
      };
      expect(run.status).toBe("stopped");
      expect(run.orchestratorRunId).toBe(execution!.arn);
      expect(run.ended).toBeDefined();
      expect(Object.fromEntries(run.steps.map((s) => [s.stepId, s.status]))).toEqual({ nap: "stopped", wake_up: "stopped" });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      for (const container of await containers("any")) await aws.docker.getContainer(container.Id).remove({ force: true });
    }
  }, 900_000);
});
