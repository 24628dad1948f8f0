import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
    expect(described.artifacts.map((a) => a.output).sort()).toEqual(["accuracy", "confusion_matrix", "dataset", "model", "report", "test", "train"]);
    const saved = run(dir, [stackyard, "artifact", "visualize", "training_pipeline.evaluate_model.confusion_matrix", "--out", "views"]);
    expect(saved.code, saved.stderr).toBe(0);
    const svg = readFileSync(saved.stdout.trim(), "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain("setosa");
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

  it("keeps each trained model as a version of iris_model (a cached run links the version it reused) with its run's accuracy as metadata", () => {
    const names = JSON.parse(run(dir, [stackyard, "artifact", "list", "--json"]).stdout) as Array<{ name: string; versions: number }>;
    expect(names.find((n) => n.name === "iris_model")?.versions).toBe(2);
    expect(names.find((n) => n.name === "training_pipeline.evaluate_model.accuracy")?.versions).toBe(2);
    const versions = JSON.parse(run(dir, [stackyard, "artifact", "versions", "iris_model", "--json"]).stdout) as Array<{ version: number; runId: string }>;
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    const bigger = JSON.parse(run(dir, [stackyard, "runs", "describe", "bigger-test", "--json"]).stdout) as {
      id: string;
      metadata: { accuracy: number; test_samples: number };
      artifacts: Array<{ output: string; artifact: string; metadata?: Record<string, unknown> }>;
    };
    expect(versions[0]!.runId).toBe(bigger.id);
    expect(bigger.metadata.test_samples).toBe(60);
    expect(bigger.artifacts.find((a) => a.output === "model")?.artifact).toBe("iris_model:2");
    expect(Object.keys(bigger.artifacts.find((a) => a.output === "report")?.metadata?.per_class as object).sort()).toEqual([
      "setosa",
      "versicolor",
      "virginica",
    ]);
    const shown = run(dir, [stackyard, "artifact", "show", "training_pipeline.evaluate_model.accuracy:2"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(Number(shown.stdout)).toBe(bigger.metadata.accuracy);
  });

  it("runs inference with the model tagged production, records that version in the lineage, and loads it from TypeScript", () => {
    const tagged = run(dir, [stackyard, "artifact", "tag", "iris_model:1", "production"]);
    expect(tagged.code, tagged.stderr).toBe(0);
    const out = run(dir, [stackyard, "run", "./pipelines/inference.ts#inferencePipeline", "-p", "tag=production", "--run-name", "inference", "--tag", "batch"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/predicted 150 flowers/);
    const lineage = JSON.parse(run(dir, [stackyard, "artifact", "lineage", "iris_model@production", "--json"]).stdout) as {
      artifact: { version: number };
      producer: { step: string; inputs: Array<{ input: string; artifact: string }> };
      consumers: Array<{ run: string; step: string; outputs: Array<{ artifact: string }> }>;
    };
    expect(lineage.artifact.version).toBe(1);
    expect(lineage.producer.step).toBe("train_model");
    expect(lineage.producer.inputs).toEqual([{ input: "train", artifact: "training_pipeline.split_data.train:1", producer: expect.any(Object) }]);
    expect(lineage.consumers.map((c) => `${c.run}/${c.step}`)).toContain("inference/predict");
    expect(lineage.consumers.find((c) => c.step === "predict")?.outputs[0]?.artifact).toBe("inference_pipeline.predict.predictions:1");
    const text = run(dir, [stackyard, "artifact", "lineage", "iris_model:2"]).stdout;
    expect(text).toContain("made by step train_model of run bigger-test");
    expect(text).toContain("read by step evaluate_model of run bigger-test");

    const listed = JSON.parse(run(dir, [stackyard, "runs", "list", "--tag", "batch", "--json"]).stdout) as Array<{ name: string }>;
    expect(listed.map((r) => r.name)).toEqual(["inference"]);

    const script = join(dir, "load-model.ts");
    writeFileSync(
      script,
      'import { loadArtifact } from "stackyard";\nconst model = await loadArtifact<{ predict(x: number[][]): number[] }>("iris_model", { tag: "production" });\nconsole.log(JSON.stringify(model.predict([[5.1, 3.5, 1.4, 0.2]])));\n',
    );
    const loaded = run(dir, [tsx, script]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(JSON.parse(loaded.stdout)).toEqual([0]);
  });

  it("compares two runs side by side: the parameter that changed, the accuracy each logged, the outputs that differ", () => {
    const out = run(dir, [stackyard, "runs", "compare", "again", "bigger-test", "--json"]);
    expect(out.code, out.stderr).toBe(0);
    const rows = (JSON.parse(out.stdout) as { rows: Array<{ section: string; key: string; a: unknown; b: unknown; same: boolean }> }).rows;
    const row = (section: string, key: string) => rows.find((r) => r.section === section && r.key === key)!;
    expect(row("parameter", "test_size")).toMatchObject({ a: 0.2, b: 0.4, same: false });
    expect(row("metadata", "test_samples")).toMatchObject({ a: 30, b: 60, same: false });
    expect(row("output", "load_data.dataset").same).toBe(true);
    expect(row("output", "train_model.model")).toMatchObject({ a: "iris_model:1", b: "iris_model:2", same: false });
    const table = run(dir, [stackyard, "runs", "compare", "again", "bigger-test"]).stdout;
    expect(table).toMatch(/parameter test_size\s+0\.2\s+0\.4\s+≠/);
    expect(table).not.toContain("load_data.dataset"); // equal rows are hidden without --all
  });

  it("refuses bad artifact references, tags and flags with exit code 2, naming them, and changes nothing", () => {
    const before = run(dir, [stackyard, "artifact", "list", "--json"]).stdout;
    const cases: Array<[string[], RegExp]> = [
      [["artifact", "describe", "no_such_model"], /No artifact 'no_such_model' in this store/],
      [["artifact", "describe", "iris_model:9"], /No version 9 of artifact 'iris_model'.*\n.*artifact versions iris_model/],
      [["artifact", "describe", "iris_model:0"], /Version '0' of artifact 'iris_model'.*whole number from 1/],
      [["artifact", "show", "iris model"], /Artifact name "iris model".*is not valid/],
      [["artifact", "tag", "iris_model:1", "bad\ntag"], /Tag "bad\\ntag".*is not valid/],
      [["artifact", "tag", "iris_model:1", "latest"], /'latest' is not a tag you can give/],
      [["artifact", "tag", "iris_model:1"], /Nothing to do/],
      [["artifact", "versions", "iris_model", "--limit", "abc"], /Invalid --limit 'abc'/],
      [["artifact", "lineage", "iris_model", "--depth", "0"], /Invalid --depth '0'/],
      [["runs", "tag", "inference", " padded "], /Tag " padded ".*is not valid/],
      [["runs", "compare", "inference", "no-such-run"], /No run 'no-such-run'/],
    ];
    for (const [args, message] of cases) {
      const out = run(dir, [stackyard, ...args]);
      expect(out.code, `${args.join(" ")}: ${out.stderr}`).toBe(2);
      expect(out.stderr, args.join(" ")).toMatch(message);
      expect(out.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
    }
    expect(run(dir, [stackyard, "artifact", "list", "--json"]).stdout).toBe(before);
  });

  it("refuses a run whose external artifact does not exist, naming it, with nothing written", () => {
    const before = run(dir, [stackyard, "runs", "list", "--json"]).stdout;
    const out = run(dir, [stackyard, "run", "./pipelines/inference.ts#inferencePipeline", "-p", "tag=staging"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("needs a version tagged 'staging' of artifact 'iris_model'");
    expect(run(dir, [stackyard, "runs", "list", "--json"]).stdout).toBe(before);
  });

  it("sweeps a hyperparameter grid with a map step: one step run per combination, cached one by one, collected in order", () => {
    const sweep = (trees: string) => run(dir, [stackyard, "run", "./pipelines/sweep.ts#sweepPipeline", "-p", `trees=${trees}`]);
    const first = sweep("[10,25]");
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/score_candidate: completed \(4 items: 4 completed\)/);
    const name = /Run '([^']+)' completed/.exec(first.stderr)![1]!;
    const described = run(dir, [stackyard, "runs", "describe", name]).stdout;
    expect(described).toMatch(/score_candidate\s+completed\s+\S+\s+4 items: 4 completed/);
    expect(described).toMatch(/run\s+best_accuracy\s+\d/);
    expect(run(dir, [stackyard, "runs", "logs", name, "--step", "score_candidate[1]"]).stdout).toMatch(/^10 trees, max_features 0\.8: accuracy \d+\.\d%\n$/);
    const json = JSON.parse(run(dir, [stackyard, "runs", "describe", name, "--json"]).stdout) as {
      steps: Array<{ stepId: string; status: string }>;
      artifacts: Array<{ step: string; output: string; uri: string }>;
    };
    const collected = JSON.parse(readFileSync(join(json.artifacts.find((a) => a.step === "pick_best")!.uri, "data.json"), "utf8")) as { candidates: number };
    expect(collected.candidates).toBe(4);

    // Two more trees counts: the four combinations already scored come from the cache, two run.
    const second = sweep("[10,25,50]");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/score_candidate: completed \(6 items: 2 completed, 4 cached\)/);
  });
});
