/**
 * "Writing an orchestrator", followed by a newcomer outside the repository:
 * a fresh project installs the packed tarballs of @stackyard/core, stackyard,
 * @stackyard/conformance and @stackyard/orchestrator-local, takes the guide's
 * `ts` code blocks as files (each names its file in its first line), and the
 * `subprocess` orchestrator they make passes the conformance kit, stop test
 * included. The same project shows that a failing kit's stack trace names
 * files that the kit's tarball ships, and its installed `stackyard flavor
 * init` makes a package that builds and passes the kit when set up as its
 * README says for unpublished Stackyard packages (the tarballs).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localSqlitePrebuilds, type PackedPackage, packPackages } from "../src/release/pack.js";
import { repoRoot, workspacePackage } from "../src/release/workspace.js";

// stackyard depends on the dashboard (loaded only by `stackyard up`).
const PACKAGES = ["@stackyard/core", "stackyard", "@stackyard/conformance", "@stackyard/orchestrator-local", "@stackyard/dashboard"];
const GUIDE = join(repoRoot, "docs/writing-an-orchestrator.md");

let root: string;
let project: string;
let packed: PackedPackage[];
/** Lets npm take the workspace's SQLite driver as the prebuilt binary a user downloads. */
let prebuilds: Record<string, string> = {};

/** The environment of a user's shell: nothing from the npm or vitest process that runs this test. */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|NODE_OPTIONS$|NODE_PATH$|VITEST|STACKYARD_)/i.test(key)));
  return { ...env, ...prebuilds, FORCE_COLOR: "0", NO_COLOR: "1", NO_UPDATE_NOTIFIER: "1" };
}

function run(command: string, args: string[], timeout = 60_000, cwd = project): { code: number; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: userEnv(), timeout, maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status ?? -1, output: `${result.stdout}\n${result.stderr}${result.error ? `\n${result.error.message}` : ""}` };
}

/** The guide's `ts` code blocks whose first line is a `// path` comment, by path. */
function guideFiles(): Record<string, string> {
  const guide = readFileSync(GUIDE, "utf8");
  const files: Record<string, string> = {};
  for (const block of guide.matchAll(/^```ts\n([\s\S]*?)^```/gm)) {
    const path = /^\/\/ ([\w./-]+\.ts)\n/.exec(block[1]!)?.[1];
    if (path) files[path] = block[1]!;
  }
  return files;
}

interface VitestResults {
  numTotalTests: number;
  numPassedTests: number;
  testResults: Array<{ name: string; message: string; assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
}

/** Runs vitest in the project on the files under `folder`, with the JSON reporter. */
function vitest(folder: string): { results: VitestResults; output: string } {
  const outputFile = join(project, `${folder}-results.json`);
  const result = run("npx", ["--no", "--", "vitest", "run", folder, "--reporter=json", `--outputFile=${outputFile}`], 900_000);
  if (!existsSync(outputFile)) throw new Error(`vitest wrote no results (exit ${result.code}):\n${result.output.slice(-4000)}`);
  return { results: JSON.parse(readFileSync(outputFile, "utf8")) as VitestResults, output: result.output };
}

/** Every test's full name and outcome, with the first lines of its failure. */
const outcomes = (results: VitestResults) =>
  results.testResults.flatMap((file) =>
    file.assertionResults.map((a) => ({ name: a.fullName, status: a.status, failure: a.failureMessages.join("\n").split("\n").slice(0, 30).join("\n") })),
  );

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "stackyard-guide-"));
  const tarballs = join(root, "tarballs");
  project = join(root, "project");
  mkdirSync(tarballs);
  mkdirSync(project);
  packed = packPackages(PACKAGES.map(workspacePackage), tarballs);
  prebuilds = localSqlitePrebuilds(join(root, "prebuilds"));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "my-flavors", private: true, type: "module", allowScripts: { "better-sqlite3": true, esbuild: true } }, null, 2),
  );
  const vitestVersion = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies
    .vitest!;
  const zodRange = workspacePackage("@stackyard/core").manifest.dependencies!.zod!;
  // better-sqlite3 may compile from source here (about 80 s).
  const install = run("npm", ["install", "--no-audit", "--no-fund", ...packed.map((p) => p.tarball), `vitest@${vitestVersion}`, `zod@${zodRange}`], 600_000);
  if (install.code !== 0) throw new Error(`npm install of the tarballs failed (exit ${install.code}):\n${install.output.slice(-4000)}`);
  for (const [path, content] of Object.entries(guideFiles())) {
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), content);
  }
}, 660_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the subprocess orchestrator of 'Writing an orchestrator', in a project outside the repository", () => {
  it("is written out whole by the guide's code blocks: the flavor and its kit test", () => {
    expect(Object.keys(guideFiles()).sort()).toEqual(["flavors/subprocess-entrypoint.ts", "flavors/subprocess.ts", "test/conformance.test.ts"]);
  });

  it("passes the orchestrator kit, the stop test included", () => {
    const { results, output } = vitest("test");
    const all = outcomes(results);
    const failed = all.filter((o) => o.status !== "passed");
    expect(
      failed,
      `${failed.map((f) => `${f.name}\n${f.failure}`).join("\n\n")}\n${results.testResults.map((f) => f.message).join("\n")}\n${output.slice(-3000)}`,
    ).toEqual([]);
    const names = all.map((o) => o.name);
    expect(names).toContain(
      "orchestrator conformance: subprocess stopping stops a run mid-step: the run is recorded stopped, every step ends final, nothing downstream starts",
    );
    expect(names).toContain("orchestrator conformance: subprocess retries retries a failing step as its retry policy says and records the attempts");
    expect(names).toContain(
      "orchestrator conformance: subprocess step entrypoint parses the options in the step commands it builds back to the same options, its own included",
    );
    expect(all.length).toBeGreaterThanOrEqual(12);
  }, 900_000);
});

describe("the kit's tarball", () => {
  it("ships no source map naming a file it lacks", () => {
    const kit = packed.find((p) => p.name === "@stackyard/conformance")!;
    for (const map of kit.files.filter((f) => f.endsWith(".map"))) {
      const { sources } = JSON.parse(readFileSync(join(project, "node_modules/@stackyard/conformance", map), "utf8")) as { sources: string[] };
      for (const source of sources) expect(kit.files, `${map} names ${source}`).toContain(join(dirname(map), source));
    }
  });

  it("names shipped files in a failing kit's stack traces", () => {
    // A connector whose verify() throws a plain Error: the kit fails it from inside its own code.
    mkdirSync(join(project, "careless"), { recursive: true });
    writeFileSync(
      join(project, "careless/connector.test.ts"),
      `import { defineFlavor, secretString, ServiceConnector } from "@stackyard/core";
import { testServiceConnector } from "@stackyard/conformance";
import { z } from "zod";

class CarelessConnector extends ServiceConnector<{ token: string }> {
  readonly authMethods = ["token"];
  readonly resourceTypes = ["api"];
  async connect(): Promise<unknown> {
    return {};
  }
  async verify(): Promise<never> {
    throw new Error("the service said no");
  }
}

testServiceConnector({
  name: "careless",
  flavor: defineFlavor({ name: "careless", type: "service_connector", configSchema: z.object({ token: secretString() }), implementation: async () => CarelessConnector }),
  config: { token: "a-distinctive-token" },
});
`,
    );
    const { results } = vitest("careless");
    const failures = outcomes(results).filter((o) => o.status === "failed");
    expect(failures.map((f) => f.name)).toContain(
      "service connector conformance: careless verify and connect refuses a resource type it does not list with a Stackyard error naming it",
    );
    const stacks = results.testResults.flatMap((file) => file.assertionResults.flatMap((a) => a.failureMessages)).join("\n");
    const named = [...new Set([...stacks.matchAll(/node_modules\/@stackyard\/conformance\/([^\s:)]+):\d+:\d+/g)].map((m) => m[1]!))];
    expect(named.length, `the failures' stack traces name files of the kit:\n${stacks.slice(0, 3000)}`).toBeGreaterThan(0);
    for (const file of named) expect(existsSync(join(project, "node_modules/@stackyard/conformance", file)), `${file} is in the installed kit`).toBe(true);
  }, 300_000);
});

describe("a package made by the installed `stackyard flavor init`, outside any workspace", () => {
  it("installs the unpublished tarballs as its README says, builds, type-checks and passes the kit", () => {
    // Beside the project, not in it: nothing resolves from the project's node_modules.
    const pkg = join(root, "my-runner");
    const init = run("npx", ["--no", "stackyard", "flavor", "init", "my_runner", "--type", "orchestrator", "--dir", pkg]);
    expect(init.code, init.output).toBe(0);
    const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { type: string; peerDependencies: Record<string, string> };
    expect(manifest.type).toBe("module");
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(["@stackyard/core", "zod"]);

    // The README's commands for this package ("here"), with the tarballs' real folder.
    const readme = readFileSync(join(pkg, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Test against unpublished Stackyard packages"));
    const block = /^```sh\n([\s\S]*?)^```/m.exec(section)![1]!;
    const here = block.slice(block.indexOf("# here"));
    const commands = here
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"))
      .map((line) => line.replaceAll("../path/to/stackyard-tarballs", join(root, "tarballs")));
    expect(commands).toEqual([
      expect.stringMatching(/^npm install --save-dev \S+stackyard-core-\*\.tgz \S+stackyard-conformance-\*\.tgz$/),
      "npm run build && npm test",
    ]);
    for (const command of commands) {
      const result = run("sh", ["-c", command], 900_000, pkg);
      expect(result.code, `${command}\n${result.output.slice(-4000)}`).toBe(0);
      if (command.startsWith("npm run build")) expect(result.output).toMatch(/Tests\s+(\d+) passed \(\1\)/);
    }
    const typecheck = run("npx", ["--no", "--", "tsc", "-p", "tsconfig.json"], 300_000, pkg);
    expect(typecheck.code, typecheck.output).toBe(0);
    const lock = JSON.parse(readFileSync(join(pkg, "package-lock.json"), "utf8")) as { packages: Record<string, { resolved?: string }> };
    expect(lock.packages["node_modules/@stackyard/core"]?.resolved).toMatch(/^file:.*\.tgz$/);
    expect(lock.packages["node_modules/@stackyard/conformance"]?.resolved).toMatch(/^file:.*\.tgz$/);
  }, 1_200_000);
});
