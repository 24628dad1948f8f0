import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { platformTag, sqliteVersion, thisNodeAddon } from "../ci/processes.js";
import { repoRoot, requireBuilt, type WorkspacePackage } from "./workspace.js";

/** One tarball made by `npm pack`. */
export interface PackedPackage {
  name: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the package, as npm lists them. */
  files: string[];
}

/**
 * Packs workspace packages with `npm pack` (one npm call for all of them)
 * into `destination`. Fails when a package is not built.
 */
export function packPackages(packages: readonly WorkspacePackage[], destination: string): PackedPackage[] {
  for (const pkg of packages) requireBuilt(pkg);
  const workspaces = packages.flatMap((pkg) => ["-w", relative(repoRoot, pkg.dir)]);
  const result = spawnSync("npm", ["pack", "--json", "--pack-destination", destination, ...workspaces], {
    cwd: repoRoot,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`npm pack failed (exit ${result.status}):\n${result.stderr}`);
  const packed = JSON.parse(result.stdout) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
  return packed.map((p) => ({ name: p.name, tarball: join(destination, p.filename), files: p.files.map((f) => f.path).sort() }));
}

/** What a published tarball may hold: the build, the command's launcher, and npm's own files. */
const ALLOWED = [/^dist\//, /^bin\/[^/]+\.js$/, /^package\.json$/, /^README\.md$/, /^LICENSE$/, /^CHANGELOG\.md$/];

/** Files of a tarball outside {@link ALLOWED} (sources, tests, configs). */
export function unexpectedFiles(files: readonly string[]): string[] {
  return files.filter((file) => !ALLOWED.some((pattern) => pattern.test(file)));
}

/**
 * The environment that lets `npm install` of the packed CLI take this
 * workspace's SQLite driver as a prebuilt binary instead of compiling it
 * again (about 80 s of CPU here): a user's install downloads the prebuilt
 * binary from better-sqlite3's releases; offline, prebuild-install reads the
 * same file from `npm_config_better_sqlite3_local_prebuilds`. Written under
 * `dir`; an empty environment when the workspace has no driver for this Node.
 */
export function localSqlitePrebuilds(dir: string): Record<string, string> {
  const addon = thisNodeAddon();
  if (!addon) return {};
  const stage = join(dir, "stage");
  mkdirSync(join(stage, "build", "Release"), { recursive: true });
  copyFileSync(addon, join(stage, "build", "Release", "better_sqlite3.node"));
  const tarball = join(dir, `better-sqlite3-v${sqliteVersion()}-node-v${process.versions.modules}-${platformTag}.tar.gz`);
  execFileSync("tar", ["-C", stage, "-czf", tarball, "build"]);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}
