import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ComponentType, ConfigError, componentTypeCliName, componentTypeLabel } from "@stackyard/core";
import { FLAVOR_NAME, PACKAGE_NAME, SCAFFOLD_TYPES, type ScaffoldType, scaffoldNames } from "../../scaffold/names.js";
import { renderFlavorPackage } from "../../scaffold/render.js";
import { info } from "../output.js";

/** Options of `stackyard flavor init`. */
export interface FlavorInitOptions {
  /** orchestrator, artifact-store or container-registry. */
  type?: string;
  /** Folder to create; default `./<package name without its @scope>`, e.g. `./stackyard-orchestrator-my-runner`. */
  dir?: string;
  /** npm package name; default `stackyard-<type>-<name>` with `_` as `-`. */
  package?: string;
}

/** The version of this CLI, for the @stackyard/* ranges of the new package. */
function cliVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "stackyard" && pkg.version) return pkg.version;
    }
  }
  return "0.1.0";
}

/**
 * `stackyard flavor init NAME --type TYPE [--dir DIR] [--package NAME]`:
 * creates a flavor package (flavor module, implementation, conformance test,
 * build and README). Checks everything before writing anything.
 */
export async function flavorInit(name: string, opts: FlavorInitOptions): Promise<void> {
  const types = Object.keys(SCAFFOLD_TYPES).join(", ");
  if (!opts.type) throw new ConfigError("Missing --type", { hint: `Use one of: ${types}.` });
  const cliType = componentTypeCliName(opts.type as ComponentType);
  if (!(cliType in SCAFFOLD_TYPES)) throw new ConfigError(`Unknown component type '${opts.type}' for flavor init`, { hint: `Use one of: ${types}.` });
  if (!FLAVOR_NAME.test(name)) {
    throw new ConfigError(`Invalid flavor name '${name}'`, {
      hint: "A flavor name is lowercase letters, digits and _, starting with a letter, e.g. my_runner.",
    });
  }
  if (opts.package !== undefined && (!PACKAGE_NAME.test(opts.package) || opts.package.length > 214)) {
    throw new ConfigError(`Invalid package name '${opts.package}'`, {
      hint: "npm package names are lowercase, e.g. stackyard-orchestrator-my-runner or @acme/stackyard-my-runner.",
    });
  }
  const names = scaffoldNames(name, cliType as ScaffoldType, opts.package);
  const dir = resolve(opts.dir ?? names.packageName.replace(/^@[^/]+\//, ""));
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new ConfigError(`${dir} already exists and is not an empty folder`, { hint: "Pick another --dir, or remove it first." });
  }
  const version = cliVersion();
  const files = renderFlavorPackage(names, { stackyard: `^${version}` });
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  const shown = relative(process.cwd(), dir) || ".";
  info(
    [
      `Created ${componentTypeLabel(names.type)} flavor '${name}' (package ${names.packageName}) in ${shown}`,
      "",
      "Next:",
      `  cd ${shown} && npm install && npm run build && npm test`,
      `  stackyard ${names.cliType} flavor register ./${relative(process.cwd(), join(dir, "src/index.ts")).replaceAll("\\", "/")}#${names.flavorExport}`,
      `  stackyard ${names.cliType} register my_${name} -f ${name}`,
    ].join("\n"),
  );
}
