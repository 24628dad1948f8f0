import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { type CompileStack, ConfigError, formatRunName, pipeline, secretField, secretString, step } from "../src/index.js";
import { trainingPipeline } from "./fixtures/training.js";
import { tempDir } from "./helpers.js";

const source = "./test.ts#pipe";

function yamlFile(text: string): string {
  const file = join(tempDir(), "training_pipeline.yaml");
  writeFileSync(file, text);
  return file;
}

const stack: CompileStack = {
  name: "default",
  components: {
    orchestrator: {
      id: "o1",
      name: "local_orch",
      flavor: "local",
      flavor_source: "@stackyard/orchestrator-local#localOrchestratorFlavor",
      config: { fail_fast: true },
      settingsSchema: z.strictObject({ concurrency: z.number().int().positive().optional() }),
    },
  },
};

describe("run configuration YAML", () => {
  it("reads seed 000's format: settings, resources, and overrides code", () => {
    const file = yamlFile(`
run_name: nightly-{date}
enable_cache: false
parameters:
  testSize: 0.3
settings:
  docker:
    required_integrations:
      - sklearn
    requirements:
      - pyarrow
  orchestrator:
    concurrency: 3
resources:
  cpu_count: 4
  memory: "4Gb"
steps:
  load_data:
    parameters:
      seed: 7
    resources:
      gpu_count: 1
    enable_cache: true
    retry:
      max_retries: 3
`);
    const snapshot = trainingPipeline.compile({ source, config: file, stack });
    expect(snapshot.run_name_template).toBe("nightly-{date}");
    expect(snapshot.enable_cache).toBe(false);
    expect(snapshot.pipeline.parameters).toEqual({ testSize: 0.3 });
    expect(snapshot.settings).toMatchObject({ docker: { required_integrations: ["sklearn"], requirements: ["pyarrow"] }, orchestrator: { concurrency: 3 } });
    expect(snapshot.settings.resources).toEqual({ cpu_count: 4, memory: "4Gb" });
    const load = snapshot.steps.find((s) => s.id === "load_data")!;
    expect(load.parameters).toEqual({ seed: 7, rows: 10 });
    expect(load.resources).toEqual({ cpu_count: 4, memory: "4Gb", gpu_count: 1 });
    expect(load.enable_cache).toBe(true);
    expect(load.retry).toEqual({ max_retries: 3, delay: 1, backoff: 2 });
    const split = snapshot.steps.find((s) => s.id === "split_data")!;
    expect(split.parameters).toEqual({ testSize: 0.3 });
    expect(split.enable_cache).toBe(false);
    expect(split.settings).toMatchObject({ orchestrator: { concurrency: 3 } });
  });

  it("lets step code override pipeline settings and YAML override both", () => {
    const s = step(
      { name: "s", settings: { "orchestrator.local": { concurrency: 2 } }, resources: { memory: "512MiB" }, retry: { max_retries: 1, delay: 0.5 } },
      async () => 1,
    );
    const p = pipeline({ name: "layers", settings: { orchestrator: { concurrency: 8 } }, resources: { cpu_count: 1, memory: "1GiB" } }, () => {
      s();
      s();
    });
    const file = yamlFile(`steps:\n  s_2:\n    settings:\n      orchestrator.local:\n        concurrency: 5\n    retry:\n      delay: 2\n`);
    const snapshot = p.compile({ source, config: file, stack });
    const [first, second] = snapshot.steps;
    expect(first!.settings).toEqual({ orchestrator: { concurrency: 8 }, "orchestrator.local": { concurrency: 2 } });
    expect(first!.resources).toEqual({ cpu_count: 1, memory: "512MiB" });
    expect(first!.retry).toEqual({ max_retries: 1, delay: 0.5, backoff: 2 });
    expect(second!.settings["orchestrator.local"]).toEqual({ concurrency: 5 });
    expect(second!.retry).toEqual({ max_retries: 1, delay: 2, backoff: 2 });
  });

  it("names key and file for unknown keys", () => {
    const file = yamlFile(`run_name: x\nenable_caching: true\n`);
    expect(() => trainingPipeline.compile({ source, config: file })).toThrow(ConfigError);
    expect(() => trainingPipeline.compile({ source, config: file })).toThrow(`Invalid config for ${file}: unknown key 'enable_caching'`);
    const nested = yamlFile(`steps:\n  load_data:\n    paramters:\n      seed: 1\n`);
    expect(() => trainingPipeline.compile({ source, config: nested })).toThrow(`Invalid config for ${nested}: unknown key 'steps.load_data.paramters'`);
    const settings = yamlFile(`settings:\n  dockr:\n    requirements: []\n`);
    expect(() => trainingPipeline.compile({ source, config: settings })).toThrow(/settings\.dockr.*unknown settings key/);
  });

  it("names file and line of malformed YAML", () => {
    const file = yamlFile(`run_name: ok\nsettings:\n  docker: [1,\n resources: 2\n`);
    expect(() => trainingPipeline.compile({ source, config: file })).toThrow(ConfigError);
    expect(() => trainingPipeline.compile({ source, config: file })).toThrow(
      new RegExp(`Malformed YAML in ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} at line 4: `),
    );
  });

  it("rejects an unknown step name under steps, listing the real ones", () => {
    const file = yamlFile(`steps:\n  train:\n    enable_cache: false\n`);
    expect(() => trainingPipeline.compile({ source, config: file })).toThrow(
      `Unknown step 'steps.train' in ${file}: pipeline 'training_pipeline' has no step invocation 'train' (it has load_data, split_data, train_model, evaluate)`,
    );
  });

  it("validates memory sizes and orchestrator settings against the flavor's schema", () => {
    const memory = yamlFile(`resources:\n  memory: lots\n`);
    expect(() => trainingPipeline.compile({ source, config: memory })).toThrow(/'resources.memory': Invalid memory size 'lots'/);
    const settings = yamlFile(`settings:\n  orchestrator.local:\n    concurency: 2\n`);
    expect(() => trainingPipeline.compile({ source, config: settings, stack })).toThrow(
      /settings\.orchestrator of pipeline 'training_pipeline'.*unknown key 'concurency'/,
    );
    // Settings for a flavor that is not in the stack are kept, not validated.
    const other = yamlFile(`settings:\n  orchestrator.docker:\n    anything: 1\n`);
    expect(trainingPipeline.compile({ source, config: other, stack }).settings["orchestrator.docker"]).toEqual({ anything: 1 });
  });

  it("reports a missing file with its name", () => {
    expect(() => trainingPipeline.compile({ source, config: "configs/missing.yaml" })).toThrow(
      "Cannot read run configuration configs/missing.yaml: no such file",
    );
  });

  it("accepts a parsed object, and compile options beat YAML", () => {
    const snapshot = trainingPipeline.compile({
      source,
      config: { parameters: { testSize: 0.4 }, enable_cache: true },
      parameters: { testSize: 0.1 },
      enableCache: false,
      runName: "r",
    });
    expect(snapshot.pipeline.parameters).toEqual({ testSize: 0.1 });
    expect(snapshot.steps.every((s) => !s.enable_cache)).toBe(true);
    expect(snapshot.run_name_template).toBe("r");
  });
});

describe("run names", () => {
  it("fills {date} and {time} and rejects other placeholders", () => {
    const when = new Date(2025, 0, 31, 14, 5, 9, 123);
    expect(formatRunName("training-{date}-{time}", when)).toBe("training-2025_01_31-14_05_09_123000");
    expect(() => formatRunName("x-{user}", when)).toThrow("Unknown placeholder '{user}' in run name 'x-{user}': use {date} and {time}");
  });
});

describe("the stack in a snapshot", () => {
  it("never holds a config field the flavor marks secret, even when compile is given one", () => {
    const configSchema = z.strictObject({
      fail_fast: z.boolean().optional(),
      token: secretString().optional(),
      secret_environment: secretField(z.record(z.string(), z.string())).optional(),
    });
    const withSecrets: CompileStack = {
      name: "default",
      components: {
        orchestrator: {
          ...stack.components.orchestrator!,
          config: { fail_fast: true, token: "s3cret-token", secret_environment: { DB_PASSWORD: "s3cret-password" } },
          configSchema,
        },
      },
    };
    const snapshot = trainingPipeline.compile({ source, stack: withSecrets });
    expect(snapshot.stack.components.orchestrator!.config).toEqual({ fail_fast: true });
    expect(JSON.stringify(snapshot)).not.toMatch(/s3cret/);
  });
});
