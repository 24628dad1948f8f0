// TypeScript sources load without a build step: what TypeScript lets a user
// write (`./x.js` naming x.ts, extensionless and folder imports, .mts,
// import.meta.url), errors that point at the .ts line, edits picked up, and
// tsconfig path aliases.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject } from "./cli-harness.js";

function write(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const PIPELINE = `import { pipeline, step } from "@stackyard/core";
import { readFileSync } from "node:fs";
import { double } from "./math.js";
import { label } from "./label";
import { offset } from "./lib";
import { scale } from "./scale.mjs";
import { broken } from "./broken.js";
import settings from "./settings.json";

interface Numbers { values: number[] }

export const load = step({ name: "load", outputs: { numbers: "json" } }, async (): Promise<{ numbers: Numbers }> => {
  const values = JSON.parse(readFileSync(new URL("./data.json", import.meta.url), "utf8")) as number[];
  return { numbers: { values } };
});

export const total = step({ name: "total" }, async ({ numbers }: { numbers: Numbers }, context) => {
  const sum = numbers.values.reduce((a, b) => a + scale(double(b)) + offset, 0);
  context.log(label(sum), settings.unit);
  return sum;
});

export const fail = step({ name: "fail" }, async () => broken());

export const sums = pipeline({ name: "sums", enableCache: false }, () => {
  const { numbers } = load();
  total({ numbers });
});

export const failing = pipeline({ name: "failing", enableCache: false }, () => {
  fail();
});
`;

const SOURCES: Record<string, string> = {
  "ts-src/pipeline.ts": PIPELINE,
  "ts-src/math.ts": "export const double = (n: number): number => n * 2;\n",
  "ts-src/label.ts": "export function label(sum: number): string {\n  return `sum is ${sum}`;\n}\n",
  "ts-src/lib/index.ts": "export const offset: number = 1;\n",
  "ts-src/scale.mts": "export const scale = (n: number): number => n * 10;\n",
  "ts-src/broken.ts":
    "type Reason = string;\nexport function broken(): never {\n  const reason: Reason = 'broken on purpose';\n  throw new Error(reason);\n}\n",
  "ts-src/data.json": "[1, 2, 3]\n",
  "ts-src/settings.json": '{ "unit": "points" }\n',
};

describe("TypeScript pipelines load without a build step", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("typescript");
    write(dir, SOURCES);
  });
  afterAll(() => removeProject(dir));

  it("resolves imports the way TypeScript does: .js naming .ts, extensionless, folder index, .mts, JSON without attributes; import.meta.url is the file's own", () => {
    const out = cli(dir, ["run", "./ts-src/pipeline.ts#sums", "--run-name", "sums-1"]);
    expect(out.code, out.stderr).toBe(0);
    // (1*2*10+1) + (2*2*10+1) + (3*2*10+1)
    expect(cli(dir, ["runs", "logs", "sums-1", "--step", "total"]).stdout).toContain("sum is 123 points");
  });

  it("reports a step's error at its line in the .ts file", () => {
    const out = cli(dir, ["run", "./ts-src/pipeline.ts#failing", "--run-name", "failing-1"]);
    expect(out.code).toBe(1);
    const logs = cli(dir, ["runs", "logs", "failing-1", "--step", "fail"]).stdout;
    expect(logs).toContain("broken on purpose");
    expect(logs).toMatch(/ts-src[\\/]broken\.ts:4:/);
  });

  it("runs the new code after a module is edited", () => {
    write(dir, { "ts-src/math.ts": "export const double = (n: number): number => n * 3;\n" });
    const out = cli(dir, ["run", "./ts-src/pipeline.ts#sums", "--run-name", "sums-2"]);
    expect(out.code, out.stderr).toBe(0);
    // (1*3*10+1) + (2*3*10+1) + (3*3*10+1)
    expect(cli(dir, ["runs", "logs", "sums-2", "--step", "total"]).stdout).toContain("sum is 183");
  });

  it("fails a module that does not compile with one message naming the file and line, exit 2", () => {
    write(dir, {
      "ts-src/bad.ts": 'import { pipeline } from "@stackyard/core";\nexport const bad = pipeline({ name: "bad" }, () => {\n  const x: number = ;\n});\n',
    });
    const out = cli(dir, ["run", "./ts-src/bad.ts#bad"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/bad\.ts:3/);
    expect(out.stderr.split("\n").filter((l) => l.startsWith("Error")).length).toBeLessThanOrEqual(1);
  });
});

describe("the compile cache", () => {
  let dir: string;
  let tmp: string;
  beforeAll(() => {
    dir = newProject("typescript-cache");
    write(dir, SOURCES);
    tmp = mkdtempSync(join(dir, "tmp-"));
  });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
    removeProject(dir);
  });

  it("keeps compiled files, and runs none from a cache folder other users can write to", () => {
    const env = { TMPDIR: tmp };
    expect(cli(dir, ["run", "./ts-src/pipeline.ts#sums"], env).code).toBe(0);
    const [cacheDir] = readdirSync(tmp).filter((name) => name.startsWith("stackyard-ts-"));
    expect(cacheDir).toBeDefined();
    const folder = join(tmp, cacheDir!);
    const compiled = readdirSync(folder).filter((name) => name.endsWith(".mjs"));
    expect(compiled.length).toBeGreaterThanOrEqual(6); // pipeline, math, label, lib/index, scale, broken
    for (const name of compiled) writeFileSync(join(folder, name), 'throw new Error("poisoned cache");\n');
    // Writable by others: not trusted, everything compiles afresh.
    chmodSync(folder, 0o777);
    const untrusted = cli(dir, ["run", "./ts-src/pipeline.ts#sums"], env);
    expect(untrusted.code, untrusted.stderr).toBe(0);
    // Private again: the (poisoned) cache is what runs, so the check above is what kept it out.
    chmodSync(folder, 0o700);
    const trusted = cli(dir, ["run", "./ts-src/pipeline.ts#sums"], env);
    expect(trusted.code).toBe(2);
    expect(trusted.stderr).toContain("poisoned cache");
  });
});

describe("TypeScript compiled ahead of time (`stackyard step precompile`, as step images do)", () => {
  let dir: string;
  let tmp: string;
  let precompiled: string;
  beforeAll(() => {
    dir = newProject("typescript-precompiled");
    write(dir, SOURCES);
    tmp = mkdtempSync(join(dir, "tmp-"));
    precompiled = join(dir, ".precompiled");
  });
  afterAll(() => removeProject(dir));
  const userCache = () => readdirSync(tmp).filter((name) => name.startsWith("stackyard-ts-"));

  it("compiles the project's TypeScript files, and a step process then compiles none of them", () => {
    const out = cli(dir, ["step", "precompile", "--into", precompiled]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/Precompiled (\d+) TypeScript file\(s\)/);
    expect(readdirSync(precompiled).filter((name) => name.endsWith(".mjs")).length).toBeGreaterThanOrEqual(6);
    const run = cli(dir, ["run", "./ts-src/pipeline.ts#sums", "--run-name", "pre-1"], { TMPDIR: tmp, STACKYARD_TS_PRECOMPILED: precompiled });
    expect(run.code, run.stderr).toBe(0);
    expect(cli(dir, ["runs", "logs", "pre-1", "--step", "total"]).stdout).toContain("sum is 123 points");
    // Nothing was compiled at run time: the user's compile cache was never made.
    expect(userCache()).toEqual([]);
  });

  it("compiles a file changed since, and ignores a folder other users can write to", () => {
    write(dir, { "ts-src/math.ts": "export const double = (n: number): number => n * 3;\n" });
    const changed = cli(dir, ["run", "./ts-src/pipeline.ts#sums", "--run-name", "pre-2"], { TMPDIR: tmp, STACKYARD_TS_PRECOMPILED: precompiled });
    expect(changed.code, changed.stderr).toBe(0);
    expect(cli(dir, ["runs", "logs", "pre-2", "--step", "total"]).stdout).toContain("sum is 183");
    for (const name of readdirSync(precompiled)) writeFileSync(join(precompiled, name), 'throw new Error("poisoned precompiled file");\n');
    chmodSync(precompiled, 0o777);
    const untrusted = cli(dir, ["run", "./ts-src/pipeline.ts#sums", "--run-name", "pre-3"], { TMPDIR: tmp, STACKYARD_TS_PRECOMPILED: precompiled });
    expect(untrusted.code, untrusted.stderr).toBe(0);
    chmodSync(precompiled, 0o755);
    const trusted = cli(dir, ["run", "./ts-src/pipeline.ts#sums", "--run-name", "pre-4"], { TMPDIR: tmp, STACKYARD_TS_PRECOMPILED: precompiled });
    expect(trusted.code).toBe(2);
    expect(trusted.stderr).toContain("poisoned precompiled file");
  });

  it("names one environment variable, the one step images set", async () => {
    const [{ STEP_ENV }, { PRECOMPILED_ENV }] = await Promise.all([import("@stackyard/core"), import("../src/source/ts-hooks.js")]);
    expect(PRECOMPILED_ENV).toBe(STEP_ENV.precompiled);
  });
});

describe("TypeScript path aliases from tsconfig.json", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("typescript-paths");
    write(dir, {
      "tsconfig.json": JSON.stringify({ compilerOptions: { module: "nodenext", baseUrl: ".", paths: { "@shared/*": ["shared/*"] } } }, null, 2),
      "shared/greeting.ts": "export const greeting = (name: string): string => `hello ${name}`;\n",
      "aliased.ts":
        'import { pipeline, step } from "@stackyard/core";\nimport { greeting } from "@shared/greeting";\n\n' +
        'export const greet = step({ name: "greet" }, async (_inputs: {}, context) => {\n  context.log(greeting("paths"));\n  return 1;\n});\n' +
        'export const aliased = pipeline({ name: "aliased" }, () => {\n  greet();\n});\n',
    });
  });
  afterAll(() => removeProject(dir));

  it("resolves `compilerOptions.paths` aliases", () => {
    const out = cli(dir, ["run", "./aliased.ts#aliased", "--run-name", "aliased-1"]);
    expect(out.code, out.stderr).toBe(0);
    expect(cli(dir, ["runs", "logs", "aliased-1", "--step", "greet"]).stdout).toContain("hello paths");
  });
});
