// Retries through the built `stackyard` binary: `stackyard run` follows an
// execution on the `aws_step_functions_local` orchestrator (local-flavor.ts,
// each Task state a container of the local Docker engine) in which the state
// machine retries a failing step, one ECS task per attempt; `runs describe`
// and `runs logs` (the log each attempt's container added to in the artifact
// store) then tell what happened, attempt by attempt. The same for an item of
// a map step: retried by the item's Task state inside the Map.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliAsync, newProject, ok, registerLocallyExecutedStack, removeProject } from "./harness.js";
import { type LocalAws, startLocalAws } from "./local-aws.js";
import type { ExecutionsFile } from "./local-flavor.js";

let aws: LocalAws;
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws({ bucket: "stackyard-cli-retries" });
  dir = newProject("sfn-retries");
  // Without a log group `runs logs` reads the log the step's containers wrote into the artifact store.
  const { log_group: _, ...orchestrator } = aws.orchestratorConfig();
  registerLocallyExecutedStack(dir, { artifactStore: aws.artifactStoreConfig(), registry: aws.registryConfig(), orchestrator });
});

afterAll(async () => {
  removeProject(dir);
  await aws?.stop();
});

interface DescribedRun {
  status: string;
  error?: string;
  steps: Array<{ stepId: string; status: string; attempt: number; error?: string }>;
}

/** `stackyard run` of a pipeline of fixtures/pipelines/retrying.ts, then what `runs describe` and the executions file say. */
function runRetrying(exportName: string, runName: string) {
  const executionsFile = join(dir, `${runName}.executions.json`);
  const out = cli(dir, ["run", `./pipelines/retrying.ts#${exportName}`, "--config", "configs/retrying_pipeline.yaml", "--run-name", runName, "--no-cache"], {
    LOCAL_SFN_EXECUTIONS_FILE: executionsFile,
  });
  const described = JSON.parse(ok(cli(dir, ["runs", "describe", runName, "--json"]), "runs describe").stdout) as DescribedRun;
  const steps = Object.fromEntries(described.steps.map(({ stepId, status, attempt, error }) => [stepId, { status, attempt, ...(error ? { error } : {}) }]));
  const { tasks } = JSON.parse(readFileSync(executionsFile, "utf8")) as ExecutionsFile;
  return { out, described, steps, tasks };
}

describe("a step with retries, run with `stackyard run` on Step Functions", () => {
  it("completes a step on its third attempt, in its third container, and describes it so", () => {
    const { out, described, steps, tasks } = runRetrying("flakyPipeline", "flaky");
    expect(out.code, out.stderr).toBe(0);
    expect(tasks).toEqual([
      { stateName: "flaky", exitCode: 1 },
      { stateName: "flaky", exitCode: 1 },
      { stateName: "flaky", exitCode: 0 },
    ]);
    expect(out.stderr).toMatch(/flaky: retrying \(attempt 1 failed \(attempt 1 fails on purpose\); Step Functions retries it in a new ECS task\)/);
    expect(described.status).toBe("completed");
    expect(steps).toEqual({ flaky: { status: "completed", attempt: 3 } });
  }, 900_000);

  it("fails a step after max_retries + 1 containers, and describes and logs every attempt", () => {
    const { out, described, steps, tasks } = runRetrying("hopelessPipeline", "hopeless");
    expect(out.code, out.stderr).toBe(1);
    expect(tasks).toEqual([1, 2, 3].map(() => ({ stateName: "hopeless", exitCode: 1 })));
    expect(described.status).toBe("failed");
    expect(described.error).toBe("step 'hopeless' failed: attempt 3 fails as always (after 3 attempts)");
    expect(steps).toEqual({
      hopeless: { status: "failed", attempt: 3, error: "attempt 3 fails as always (after 3 attempts)" },
      after_hopeless: { status: "skipped", attempt: 0, error: "not run: step 'hopeless' failed" },
    });
    const logs = ok(cli(dir, ["runs", "logs", "hopeless", "--step", "hopeless"]), "runs logs").stdout;
    expect(logs.match(/hopeless runs attempt \d/g)).toEqual(["hopeless runs attempt 1", "hopeless runs attempt 2", "hopeless runs attempt 3"]);
  }, 900_000);

  it("retries an item of a map step in its own ECS task, reporting each item as it ends and the map once", async () => {
    const runName = "flaky-map";
    const executionsFile = join(dir, `${runName}.executions.json`);
    const out = await cliAsync(
      dir,
      ["run", "./pipelines/mapping.ts#flakyMapPipeline", "--config", "configs/map_pipeline.yaml", "--run-name", runName, "--no-cache"],
      {
        LOCAL_SFN_EXECUTIONS_FILE: executionsFile,
      },
    );
    expect(out.code, out.stderr).toBe(0);
    const { tasks } = JSON.parse(readFileSync(executionsFile, "utf8")) as ExecutionsFile;
    // split, the expand, 4 items plus one retry of shard 1's, report.
    expect(
      tasks
        .filter((t) => t.stateName === "flaky_score.item")
        .map((t) => t.exitCode)
        .sort(),
    ).toEqual([0, 0, 0, 0, 1]);
    expect(tasks.map((t) => t.stateName).filter((n) => n !== "flaky_score.item")).toEqual(["split", "flaky_score.expand", "report"]);
    expect(out.stderr.match(/flaky_score: completed.*/g)).toEqual(["flaky_score: completed (4 items: 4 completed)"]);
    // A small map's items each get their line, as on the local stack (a big map's go into one progress line).
    for (let i = 0; i < 4; i++) expect(out.stderr).toContain(`flaky_score[${i}]: completed`);
    const described = JSON.parse(ok(cli(dir, ["runs", "describe", runName, "--json"]), "runs describe").stdout) as DescribedRun;
    expect(described.status).toBe("completed");
    expect(described.steps.find((s) => s.stepId === "flaky_score")).toMatchObject({ status: "completed" });
    const logs = ok(cli(dir, ["runs", "logs", runName, "--step", "flaky_score[1]"]), "runs logs").stdout;
    expect(logs.match(/scoring shard 1, attempt \d/g)).toEqual(["scoring shard 1, attempt 1", "scoring shard 1, attempt 2"]);
  }, 900_000);
});
