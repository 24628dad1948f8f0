import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const example = fileURLToPath(new URL("..", import.meta.url));
const stackyard = join(repo, "packages/cli/dist/bin.js");
const tsx = join(repo, "node_modules/tsx/dist/cli.mjs");

function run(cwd: string, args: string[]) {
  const result = spawnSync(process.execPath, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "" },
    timeout: 180_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the quickstart, as the README runs it", () => {
  let dir: string;
  beforeAll(() => {
    mkdirSync(join(repo, ".test-tmp"), { recursive: true });
    dir = mkdtempSync(join(repo, ".test-tmp", "quickstart-"));
    cpSync(example, dir, { recursive: true, filter: (src) => !src.includes(".stackyard") && !src.includes("/test") });
    expect(run(dir, [stackyard, "init"]).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("trains and evaluates the model with `npx tsx run.ts`, keeping the model and its accuracy as artifacts", () => {
    const out = run(dir, [tsx, "run.ts"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/evaluate_model \| test accuracy: \d+\.\d% \(\d+\/30\)/);
    const runs = JSON.parse(run(dir, [stackyard, "runs", "list", "--json"]).stdout) as Array<{ name: string; status: string }>;
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe("completed");
    const described = JSON.parse(run(dir, [stackyard, "runs", "describe", runs[0]!.name, "--json"]).stdout) as {
      artifacts: Array<{ step: string; output: string; materializer: string; uri: string }>;
    };
    const model = described.artifacts.find((a) => a.output === "model")!;
    expect(model.materializer).toBe("./materializers/random-forest.ts#randomForestMaterializer");
    expect(described.artifacts.map((a) => a.output).sort()).toEqual(["accuracy", "dataset", "model", "report", "test", "train"]);
  });

  it("runs the same pipeline with `stackyard run`, reusing every step from the cache", () => {
    const out = run(dir, [stackyard, "run", "./pipelines/training.ts#trainingPipeline", "--config", "configs/training_pipeline.yaml", "--run-name", "again"]);
    expect(out.code, out.stderr).toBe(0);
    const described = JSON.parse(run(dir, [stackyard, "runs", "describe", "again", "--json"]).stdout) as { steps: Array<{ status: string }> };
    expect(described.steps.map((s) => s.status)).toEqual(["cached", "cached", "cached", "cached"]);
  });

  it("reads the accuracy from the configured test split; changing the YAML parameters retrains", () => {
    const out = run(dir, [
      stackyard,
      "run",
      "./pipelines/training.ts#trainingPipeline",
      "--config",
      "configs/training_pipeline.yaml",
      "--run-name",
      "bigger-test",
      "-p",
      "test_size=0.4",
    ]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/test accuracy: \d+\.\d% \(\d+\/60\)/);
  });
});
