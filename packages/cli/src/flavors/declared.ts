import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** A flavor an installed package declares in its package.json. */
export interface DeclaredFlavor {
  type: string;
  name: string;
  source: string;
  description?: string;
  remote?: boolean;
  packageName: string;
}

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  stackyard?: { flavors?: Array<Omit<DeclaredFlavor, "packageName">> };
}

function readJson(file: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PackageJson;
  } catch {
    return undefined;
  }
}

/**
 * Flavors declared by installed packages (`"stackyard": {"flavors": [...]}` in
 * their package.json), found without importing anything: the `@stackyard/*`
 * scope and the project's own dependencies, in every node_modules from the
 * source root up.
 */
export function findDeclaredFlavors(sourceRoot: string): DeclaredFlavor[] {
  const found = new Map<string, DeclaredFlavor>();
  const candidates = new Set<string>();
  for (let dir = sourceRoot; ; dir = dirname(dir)) {
    const pkg = readJson(join(dir, "package.json"));
    for (const name of Object.keys({ ...pkg?.dependencies, ...pkg?.devDependencies })) candidates.add(name);
    const scope = join(dir, "node_modules", "@stackyard");
    if (existsSync(scope)) for (const entry of readdirSync(scope)) candidates.add(`@stackyard/${entry}`);
    if (dirname(dir) === dir) break;
  }
  for (const name of candidates) {
    for (let dir = sourceRoot; ; dir = dirname(dir)) {
      const pkg = readJson(join(dir, "node_modules", name, "package.json"));
      if (pkg) {
        for (const flavor of pkg.stackyard?.flavors ?? []) {
          const key = `${flavor.type}/${flavor.name}`;
          if (!found.has(key)) found.set(key, { ...flavor, packageName: name });
        }
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  return [...found.values()];
}
