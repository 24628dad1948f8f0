/**
 * `stackyard flavor init` makes a flavor package that builds, passes the
 * conformance suite of its component type, registers by source path and runs
 * a pipeline; wrong usage exits 2 and writes nothing.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, removeProject, repoRoot } from "./cli-harness.js";

const exec = promisify(execFile);

/** Runs a command in `cwd`; resolves with its exit code and output instead of throwing. */
async function sh(cwd: string, command: string, args: string[], timeout = 300_000): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd,
      timeout,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", NODE_OPTIONS: "" },
    });
    return { code: 0, output: stripAnsi(stdout + stderr) };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === "number" ? e.code : -1, output: stripAnsi(`${e.stdout ?? ""}${e.stderr ?? ""}\n${e.message}`) };
  }
}

// eslint-disable-next-line no-control-regex
const stripAnsi = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, "");

/** Every file under `dir`, with its content: proves a failed command wrote nothing. */
function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string): void => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (entry.name === ".stackyard" || entry.name === "node_modules") continue;
      if (entry.isDirectory()) walk(rel);
      else out[rel] = readFileSync(join(dir, rel), "utf8");
    }
  };
  walk("");
  return out;
}

const FLAVORS = [
  { name: "my_runner", type: "orchestrator", dir: "my-runner", flavorExport: "myRunnerOrchestratorFlavor", test: "test/orchestrator.test.ts" },
  { name: "my_files", type: "artifact-store", dir: "my-files", flavorExport: "myFilesArtifactStoreFlavor", test: "test/artifact-store.test.ts" },
  {
    name: "my_registry",
    type: "container-registry",
    dir: "my-registry",
    flavorExport: "myRegistryContainerRegistryFlavor",
    test: "test/container-registry.test.ts",
  },
] as const;

let project: string;

beforeAll(() => {
  const base = join(repoRoot, ".test-tmp");
  mkdirSync(base, { recursive: true });
  // Inside the repository, so the new packages resolve @stackyard/* and their tools from the workspace.
  project = mkdtempSync(join(base, "flavor-init-"));
  const init = cli(project, ["init"]);
  if (init.code !== 0) throw new Error(`stackyard init failed: ${init.stderr}`);
});

afterAll(() => {
  if (project) removeProject(project);
});

describe("stackyard flavor init", () => {
  it("creates a package per component type: flavor, implementation, conformance test, build config, README", () => {
    for (const f of FLAVORS) {
      const result = cli(project, ["flavor", "init", f.name, "--type", f.type, "--dir", f.dir]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`flavor register ./${f.dir}/src/index.ts#${f.flavorExport}`);
      const files = Object.keys(snapshotTree(join(project, f.dir))).sort();
      expect(files).toEqual(
        [
          ".gitignore",
          "README.md",
          "package.json",
          "src/implementation.ts",
          "src/index.ts",
          f.test,
          "tsconfig.json",
          "tsup.config.ts",
          "vitest.config.ts",
        ].sort(),
      );
      const manifest = JSON.parse(readFileSync(join(project, f.dir, "package.json"), "utf8"));
      // Installable from the registry: an ES module, zod from the installing project (peer) and for its own build and tests (dev).
      expect(manifest.type).toBe("module");
      expect(manifest.peerDependencies["@stackyard/core"]).toMatch(/^\^\d+\.\d+\.\d+/);
      expect(manifest.peerDependencies.zod).toMatch(/^\^4\./);
      expect(manifest.devDependencies.zod).toBe(manifest.peerDependencies.zod);
      expect(manifest.devDependencies["@stackyard/conformance"]).toBe(manifest.peerDependencies["@stackyard/core"]);
      expect(manifest.dependencies).toBeUndefined();
      const tsconfig = JSON.parse(readFileSync(join(project, f.dir, "tsconfig.json"), "utf8"));
      expect(tsconfig.compilerOptions).toMatchObject({ module: "NodeNext", strict: true });
      expect(tsconfig.include).toEqual(["src", "test"]);
      // The README says how to test against Stackyard packages that are not published yet.
      const readme = readFileSync(join(project, f.dir, "README.md"), "utf8");
      expect(readme).toMatch(/npm pack --pack-destination \.\.\/stackyard-tarballs -w @stackyard\/core -w @stackyard\/conformance/);
      expect(readme).toMatch(/npm install --save-dev \S+stackyard-core-\*\.tgz \S+stackyard-conformance-\*\.tgz/);
      expect(manifest.stackyard.flavors).toEqual([
        { name: f.name, type: f.type.replaceAll("-", "_"), source: `stackyard-${f.type}-${f.name.replaceAll("_", "-")}#${f.flavorExport}` },
      ]);
    }
  });

  it("makes the folder its --help names when no --dir is given", () => {
    const help = cli(project, ["flavor", "init", "--help"]);
    expect(help.code, help.stderr).toBe(0);
    // Commander wraps long descriptions.
    const text = help.stdout.replace(/\s+/g, " ");
    const named = /--dir <dir> folder to create \(default: [^)]*e\.g\. \.\/([\w-]+)\)/.exec(text);
    expect(named, help.stdout).not.toBeNull();
    expect(text).toMatch(/--package <name> npm package name \(default: [^)]*e\.g\. stackyard-orchestrator-my-runner\)/);
    const where = join(project, "help-check");
    mkdirSync(where);
    const made = cli(where, ["flavor", "init", "my_runner", "--type", "orchestrator"]);
    expect(made.code, made.stderr).toBe(0);
    expect(readdirSync(where)).toEqual([named![1]]);
    expect(JSON.parse(readFileSync(join(where, named![1]!, "package.json"), "utf8")).name).toBe(named![1]);
    removeProject(where);
  });

  it("builds each package with tsup into a light flavor module and a separate implementation", async () => {
    const builds = await Promise.all(FLAVORS.map((f) => sh(join(project, f.dir), "npx", ["--no", "--", "tsup"])));
    for (const [i, f] of FLAVORS.entries()) {
      expect(builds[i]!.code, builds[i]!.output).toBe(0);
      for (const file of ["index.js", "index.d.ts", "implementation.js", "implementation.d.ts"])
        expect(existsSync(join(project, f.dir, "dist", file)), `${f.dir}/dist/${file}`).toBe(true);
      // The flavor module reaches the implementation only through a dynamic import.
      const index = readFileSync(join(project, f.dir, "dist/index.js"), "utf8");
      expect(index).not.toMatch(/\bclass \w+ extends Base/);
      expect(index).toMatch(/import\(["']\.\/implementation\.js["']\)/);
    }
  });

  it("type-checks each package, tests included", async () => {
    const checks = await Promise.all(FLAVORS.map((f) => sh(join(project, f.dir), "npx", ["--no", "--", "tsc", "-p", "tsconfig.json"])));
    for (const [i, f] of FLAVORS.entries()) expect(checks[i]!.code, `${f.dir}: ${checks[i]!.output}`).toBe(0);
  });

  it("passes its generated tests: the conformance suites of orchestrators, artifact stores and container registries", async () => {
    const runs = await Promise.all(FLAVORS.map((f) => sh(join(project, f.dir), "npx", ["--no", "--", "vitest", "run", "--root", ".", "--reporter=verbose"])));
    for (const [i, f] of FLAVORS.entries()) {
      const { code, output } = runs[i]!;
      expect(code, `${f.dir}: ${output}`).toBe(0);
      // Every test ran and passed: "Tests  12 passed (12)".
      expect(output).toMatch(/Tests\s+(\d+) passed \(\1\)/);
    }
    expect(runs[0]!.output).toContain("orchestrator conformance: my_runner");
    expect(runs[1]!.output).toContain("artifact store conformance: my_files");
    expect(runs[2]!.output).toContain("container registry conformance: my_registry");
  });

  it("registers by source path and runs a pipeline on a stack of the new orchestrator and artifact store", () => {
    writeFileSync(
      join(project, "pipeline.ts"),
      `import { pipeline, step } from "@stackyard/core";
const load = step({ name: "load", outputs: { xs: "json" } }, async () => ({ xs: [1, 2, 3] }));
const total = step({ name: "total", outputs: { sum: "json" } }, async ({ xs }: { xs: number[] }) => ({ sum: xs.reduce((a, b) => a + b, 0) }));
export const p = pipeline({ name: "p" }, () => {
  const { xs } = load();
  total({ xs });
});
`,
    );
    const ok = (...args: string[]) => {
      const result = cli(project, args);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      return result;
    };
    ok("orchestrator", "flavor", "register", "./my-runner/src/index.ts#myRunnerOrchestratorFlavor");
    ok("artifact-store", "flavor", "register", "./my-files/dist/index.js#myFilesArtifactStoreFlavor");
    ok("container-registry", "flavor", "register", "./my-registry/src/index.ts#myRegistryContainerRegistryFlavor");
    ok("orchestrator", "register", "runner", "-f", "my_runner", "--concurrency=2");
    ok("artifact-store", "register", "files", "-f", "my_files", "--path=artifacts-here");
    ok("container-registry", "register", "registry", "-f", "my_registry", "--uri=127.0.0.1:5001", "--username=ci", "--password=hunter2");
    const described = JSON.parse(ok("container-registry", "describe", "registry", "--json").stdout);
    expect(described.config).toEqual({ uri: "127.0.0.1:5001", username: "ci", password: "********" });
    const schema = JSON.parse(ok("orchestrator", "flavor", "describe", "my_runner", "--json").stdout);
    expect(schema.config_schema.properties.concurrency).toMatchObject({ type: "integer", default: 4, description: "Most steps running at once" });
    ok("stack", "register", "mine", "-o", "runner", "-a", "files", "-c", "registry", "--set");

    const run = ok("run", "./pipeline.ts#p");
    expect(run.stderr).toMatch(/on stack 'mine' \(orchestrator runner: my_runner\)/);
    const [latest] = JSON.parse(ok("runs", "list", "--json").stdout);
    expect(latest).toMatchObject({ pipeline: "p", status: "completed", stack: "mine", orchestrator: "runner" });
    // The artifacts went to the new store's folder.
    expect(readdirSync(join(project, "artifacts-here")).sort()).toEqual(["runs", "snapshots"]);
  });

  describe("wrong usage exits 2 and writes nothing", () => {
    const cases: Array<[string, string[], RegExp]> = [
      ["a bad flavor name", ["flavor", "init", "My-Runner", "--type", "orchestrator", "--dir", "bad-name"], /Invalid flavor name 'My-Runner'/],
      [
        "an unknown type",
        ["flavor", "init", "ok_name", "--type", "widget", "--dir", "bad-type"],
        /Unknown component type 'widget'.*\n.*orchestrator, artifact-store, container-registry/,
      ],
      ["a missing --type", ["flavor", "init", "ok_name", "--dir", "no-type"], /--type/],
      [
        "a bad package name",
        ["flavor", "init", "ok_name", "--type", "orchestrator", "--package", "Not A Name", "--dir", "bad-package"],
        /Invalid package name/,
      ],
      ["an existing folder", ["flavor", "init", "other", "--type", "orchestrator", "--dir", "my-runner"], /my-runner already exists/],
    ];
    for (const [what, args, message] of cases) {
      it(what, () => {
        const before = snapshotTree(project);
        const result = cli(project, args);
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toMatch(message);
        expect(snapshotTree(project)).toEqual(before);
      });
    }
  });
});
