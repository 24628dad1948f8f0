/**
 * Generates the "Config reference" section of each flavor package's README
 * from its flavors' zod schemas: `npm run docs:config` writes them,
 * `npm run docs:config -- --check` fails when one is out of date.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type AnyFlavor, type ComponentType, componentTypeLabel, flavorProblems, secretKeys } from "@stackyard/core";
import { z } from "zod";
import { SchemaDocs } from "./schema-docs.js";
import { type WorkspacePackage, workspacePackages } from "./workspace.js";

export const START = "<!-- config-reference:start -->";
export const END = "<!-- config-reference:end -->";

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  default?: unknown;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

/** One row of a config reference table. */
export interface ConfigKey {
  key: string;
  type: string;
  default: string;
  required: boolean;
  secret: boolean;
  description: string;
}

/**
 * Imports a package's module from its TypeScript source (`@scope/pkg` →
 * src/index.ts, `@scope/pkg/sub` → src/sub.ts), so the reference follows the
 * schemas as written, built or not.
 */
async function importFromSource(pkg: WorkspacePackage, module: string): Promise<Record<string, unknown>> {
  if (module !== pkg.manifest.name && !module.startsWith(`${pkg.manifest.name}/`)) throw new Error(`${module} is not a module of ${pkg.manifest.name}`);
  const sub = module === pkg.manifest.name ? "index" : module.slice(pkg.manifest.name.length + 1);
  return (await import(pathToFileURL(join(pkg.dir, "src", `${sub}.ts`)).href)) as Record<string, unknown>;
}

/** The flavors a package ships: those its package.json declares; core's are its exported flavor objects. */
export async function packageFlavors(pkg: WorkspacePackage): Promise<AnyFlavor[]> {
  const declared = pkg.manifest.stackyard?.flavors ?? [];
  if (declared.length) {
    return Promise.all(
      declared.map(async ({ source }) => {
        const [module, exportName] = source.split("#") as [string, string];
        const flavor = (await importFromSource(pkg, module))[exportName] as AnyFlavor;
        if (flavorProblems(flavor).length)
          throw new Error(`${source} (declared in packages/${pkg.folder}/package.json) is not a flavor: ${flavorProblems(flavor).join("; ")}`);
        return flavor;
      }),
    );
  }
  if (pkg.manifest.name === "@stackyard/core") {
    const core = await importFromSource(pkg, pkg.manifest.name);
    return Object.values(core).filter((value): value is AnyFlavor => typeof value === "object" && value !== null && flavorProblems(value).length === 0);
  }
  return [];
}

function typeOf(schema: JsonSchema | undefined): string {
  if (!schema) return "any";
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return [...new Set(union.map(typeOf))].join(" | ");
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  if (type === "array") return `${typeOf(schema.items)}[]`;
  if (type === "object" && typeof schema.additionalProperties === "object") return `record of ${typeOf(schema.additionalProperties)}`;
  const bounds: string[] = [];
  // zod's int() adds the safe-integer range; it says nothing to a reader.
  const meaningful = (n: number | undefined) => n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;
  if (meaningful(schema.exclusiveMinimum)) bounds.push(`> ${schema.exclusiveMinimum}`);
  else if (meaningful(schema.minimum)) bounds.push(`min ${schema.minimum}`);
  if (meaningful(schema.maximum)) bounds.push(`max ${schema.maximum}`);
  if (schema.format) bounds.push(schema.format);
  return `${type ?? "any"}${bounds.length ? ` (${bounds.join(", ")})` : ""}`;
}

const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** The keys of a flavor's config: JSON Schema (input side) for types and defaults, descriptions from `.describe()` or the source's TSDoc. */
export function configKeys(flavor: AnyFlavor, docs: Map<string, string>): ConfigKey[] {
  const json = z.toJSONSchema(flavor.configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const secrets = new Set(secretKeys(flavor.configSchema));
  return Object.entries(json.properties ?? {}).map(([key, prop]) => ({
    key,
    type: typeOf(prop),
    default: prop.default === undefined ? "" : JSON.stringify(prop.default),
    required: (json.required ?? []).includes(key),
    secret: secrets.has(key),
    description: prop.description ?? docs.get(key) ?? "",
  }));
}

/** The markdown between the markers for one package. */
export function renderSection(flavors: Array<{ flavor: AnyFlavor; keys: ConfigKey[] }>): string {
  const parts = [START, "<!-- Generated from the flavors' zod schemas by `npm run docs:config`; edit the schemas, not this table. -->", ""];
  for (const { flavor, keys } of flavors) {
    const cli = flavor.type.replaceAll("_", "-");
    const command =
      flavor.type === "service_connector"
        ? `stackyard service-connector register NAME --type ${flavor.name}`
        : `stackyard ${cli} register NAME -f ${flavor.name}`;
    parts.push(`### \`${flavor.name}\` ${componentTypeLabel(flavor.type as ComponentType)}`, "", `\`${command} [--key=value ...]\``, "");
    if (!keys.length) {
      parts.push("No config.", "");
      continue;
    }
    parts.push("| key | type | default | required | secret | description |", "|---|---|---|---|---|---|");
    for (const k of keys) {
      parts.push(
        `| \`${k.key}\` | ${cell(k.type)} | ${k.default ? `\`${cell(k.default)}\`` : ""} | ${k.required ? "yes" : ""} | ${k.secret ? "yes" : ""} | ${cell(k.description)} |`,
      );
    }
    parts.push("");
  }
  if (flavors.some(({ keys }) => keys.some((k) => k.secret))) {
    parts.push("Secret values are stored apart from the rest of the config and masked in every output.", "");
  }
  parts.push(END);
  return parts.join("\n");
}

/** A README with its section inserted or refreshed: between the markers when present, else appended. */
export function withSection(readme: string, section: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start >= 0 && end > start) return readme.slice(0, start) + section + readme.slice(end + END.length);
  const heading = /^## Config reference\s*$/m.test(readme) ? "## Config reference (generated)" : "## Config reference";
  return `${readme.replace(/\s*$/, "")}\n\n${heading}\n\n${section}\n`;
}

/** What the generator would do to one package's README. */
export interface ReadmeUpdate {
  pkg: WorkspacePackage;
  file: string;
  /** False when the package has no README yet (nothing is generated for it). */
  exists: boolean;
  current: string;
  expected: string;
}

/** The README of every package that ships flavors, with its expected content. */
export async function readmeUpdates(): Promise<ReadmeUpdate[]> {
  const docs = new SchemaDocs();
  const updates: ReadmeUpdate[] = [];
  for (const pkg of workspacePackages()) {
    const flavors = await packageFlavors(pkg);
    if (!flavors.length) continue;
    const file = join(pkg.dir, "README.md");
    const exists = existsSync(file);
    const current = exists ? readFileSync(file, "utf8") : "";
    const section = renderSection(flavors.map((flavor) => ({ flavor, keys: configKeys(flavor, docs.keyDescriptions(pkg.folder, flavor)) })));
    updates.push({ pkg, file, exists, current, expected: exists ? withSection(current, section) : "" });
  }
  return updates;
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const updates = await readmeUpdates();
  let problems = 0;
  for (const u of updates) {
    const where = `packages/${u.pkg.folder}/README.md`;
    if (!u.exists) {
      process.stderr.write(`${where}: missing (write the README, then run npm run docs:config)\n`);
      problems++;
    } else if (u.current !== u.expected) {
      if (check) {
        process.stderr.write(`${where}: config reference out of date (run npm run docs:config)\n`);
        problems++;
      } else {
        writeFileSync(u.file, u.expected);
        process.stderr.write(`${where}: config reference updated\n`);
      }
    } else {
      process.stderr.write(`${where}: up to date\n`);
    }
  }
  return problems ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await main(process.argv.slice(2));
}
