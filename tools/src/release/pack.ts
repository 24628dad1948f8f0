import { spawnSync } from "node:child_process";
import { join, relative } from "node:path";
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
