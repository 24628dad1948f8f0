/**
 * The published packages install alone: packed with `npm pack`, installed
 * from their tarballs (plus their dependencies from the registry) into a
 * project outside the repository, they run a pipeline on the default stack
 * and list an installed flavor package's flavors.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localSqlitePrebuilds, type PackedPackage, packPackages, unexpectedFiles } from "../src/release/pack.js";
import { workspacePackage } from "../src/release/workspace.js";

// stackyard depends on the dashboard (loaded only by `stackyard up`); the S3 store on aws-common.
const PACKAGES = [
  "@stackyard/core",
  "stackyard",
  "@stackyard/orchestrator-local",
  "@stackyard/dashboard",
  "@stackyard/artifact-store-s3",
  "@stackyard/aws-common",
];

let root: string;
let project: string;
let packed: PackedPackage[];
/** Lets npm take the workspace's SQLite driver as the prebuilt binary a user downloads. */
let prebuilds: Record<string, string> = {};

/** The environment of a user's shell: nothing from the npm or vitest process that runs this test. */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|NODE_OPTIONS$|NODE_PATH$|VITEST|STACKYARD_)/i.test(key)));
  return { ...env, ...prebuilds, FORCE_COLOR: "0", NO_UPDATE_NOTIFIER: "1" };
}

function run(command: string, args: string[], timeout = 60_000): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: project, encoding: "utf8", env: userEnv(), timeout });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr + (result.error ? `\n${result.error.message}` : "") };
}

const stackyard = (...args: string[]) => run("npx", ["--no", "stackyard", ...args]);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "stackyard-pack-"));
  const tarballs = join(root, "tarballs");
  project = join(root, "project");
  mkdirSync(tarballs);
  mkdirSync(project);
  packed = packPackages(PACKAGES.map(workspacePackage), tarballs);
  prebuilds = localSqlitePrebuilds(join(root, "prebuilds"));
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "pack-smoke", private: true, type: "module", allowScripts: { "better-sqlite3": true, esbuild: true } }, null, 2),
  );
  // better-sqlite3 may compile from source here (about 80 s).
  const install = run("npm", ["install", "--no-audit", "--no-fund", ...packed.map((p) => p.tarball)], 600_000);
  if (install.code !== 0) throw new Error(`npm install of the tarballs failed (exit ${install.code}):\n${install.stderr.slice(-4000)}`);
}, 660_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("packed packages", () => {
  it("hold only the build, the launcher, README, LICENSE and package.json", () => {
    expect(packed.map((p) => p.name).sort()).toEqual([...PACKAGES].sort());
    for (const pkg of packed) {
      expect({ name: pkg.name, unexpected: unexpectedFiles(pkg.files) }).toEqual({ name: pkg.name, unexpected: [] });
      expect(pkg.files, pkg.name).toContain("LICENSE");
      expect(pkg.files, pkg.name).toContain("dist/index.js");
      expect(pkg.files, pkg.name).toContain("dist/index.d.ts");
    }
    expect(packed.find((p) => p.name === "stackyard")!.files).toContain("bin/stackyard.js");
  });

  it("install from their tarballs alone: the workspace's packages come from the tarballs, not the registry", () => {
    const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8")) as { packages: Record<string, { resolved?: string }> };
    for (const name of PACKAGES) {
      expect(lock.packages[`node_modules/${name}`]?.resolved, name).toMatch(/^file:.*\.tgz$/);
    }
    // Nothing of the workspace was fetched from the registry under the same name.
    const fromRegistry = Object.entries(lock.packages).filter(
      ([path, entry]) => /node_modules\/(@stackyard\/|stackyard$)/.test(path) && !entry.resolved?.startsWith("file:"),
    );
    expect(fromRegistry).toEqual([]);
  });

  it("run a pipeline on the default stack with the installed command", () => {
    writeFileSync(
      join(project, "pipeline.ts"),
      `import { pipeline, step } from "@stackyard/core";

const load = step({ name: "load", outputs: { xs: "json" } }, async () => ({ xs: [1, 2, 3, 4] }));
const total = step({ name: "total", outputs: { sum: "json" } }, async ({ xs }: { xs: number[] }) => ({ sum: xs.reduce((a, b) => a + b, 0) }));

export const p = pipeline({ name: "p" }, () => {
  const { xs } = load();
  total({ xs });
});
`,
    );
    const init = stackyard("init");
    expect(init.code, init.stderr).toBe(0);
    const result = stackyard("run", "./pipeline.ts#p");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/completed/);
    const runs = stackyard("runs", "list", "--json");
    expect(runs.code, runs.stderr).toBe(0);
    const [latest] = JSON.parse(runs.stdout) as Array<{ pipeline: string; status: string; stack: string }>;
    expect(latest).toMatchObject({ pipeline: "p", status: "completed", stack: "default" });
  });

  it("list the installed flavor package's flavors from its package.json", () => {
    const list = stackyard("flavor", "list", "--json");
    expect(list.code, list.stderr).toBe(0);
    const flavors = JSON.parse(list.stdout) as Array<{ type: string; name: string; origin: string; source: string }>;
    expect(flavors).toContainEqual(expect.objectContaining({ type: "artifact_store", name: "s3", origin: "package @stackyard/artifact-store-s3" }));
    expect(flavors).toContainEqual(expect.objectContaining({ type: "orchestrator", name: "local", origin: "built-in" }));
    const s3 = stackyard("artifact-store", "flavor", "describe", "s3", "--json");
    expect(s3.code, s3.stderr).toBe(0);
    expect(JSON.parse(s3.stdout)).toMatchObject({ name: "s3", type: "artifact_store", source: "@stackyard/artifact-store-s3#s3ArtifactStoreFlavor" });
  });
});
