import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The monorepo's root folder. */
export const repoRoot: string = fileURLToPath(new URL("../../..", import.meta.url));

/** The parts of a package.json the release tools read. */
export interface PackageManifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  files?: string[];
  bin?: Record<string, string>;
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  stackyard?: { flavors?: Array<{ name: string; type: string; source: string }> };
}

/** A published package of the workspace (`packages/*`). */
export interface WorkspacePackage {
  /** Folder name under packages/, e.g. `orchestrator-local`. */
  folder: string;
  /** Absolute path of the package folder. */
  dir: string;
  manifest: PackageManifest;
}

/** Every package under packages/, sorted by folder. */
export function workspacePackages(): WorkspacePackage[] {
  const base = join(repoRoot, "packages");
  return readdirSync(base)
    .filter((folder) => existsSync(join(base, folder, "package.json")))
    .sort()
    .map((folder) => ({ folder, dir: join(base, folder), manifest: JSON.parse(readFileSync(join(base, folder, "package.json"), "utf8")) as PackageManifest }));
}

/** The workspace package with this npm name, or an error naming the ones there are. */
export function workspacePackage(name: string): WorkspacePackage {
  const all = workspacePackages();
  const found = all.find((p) => p.manifest.name === name);
  if (!found) throw new Error(`No workspace package named ${name}; there are: ${all.map((p) => p.manifest.name).join(", ")}`);
  return found;
}

/** Files a package's exports, types and bin point at, relative to its folder. */
export function entryFiles(manifest: PackageManifest): string[] {
  const files = new Set<string>();
  const add = (target: unknown): void => {
    if (typeof target === "string") files.add(target.replace(/^\.\//, ""));
    else if (target && typeof target === "object") for (const value of Object.values(target)) add(value);
  };
  add(manifest.exports);
  add(manifest.bin);
  return [...files].sort();
}

/**
 * Throws, naming the command that fixes it, when a package's build output is
 * missing (tests that pack or lint need `npm run build` first).
 */
export function requireBuilt(pkg: WorkspacePackage): void {
  const missing = entryFiles(pkg.manifest).filter((file) => !existsSync(join(pkg.dir, file)));
  if (missing.length) {
    throw new Error(
      `${pkg.manifest.name} is not built: ${missing.map((f) => `packages/${pkg.folder}/${f}`).join(", ")} missing. Run \`npm run build\` at the repository root first.`,
    );
  }
}
