import { type AnyFlavor, type ComponentType, coerceConfigStrings, componentTypeLabel, maskSecrets, parseConfig, splitSecrets } from "@stackyard/core";
import { loadFlavor } from "../flavors/load-flavor.js";
import { FlavorRegistry } from "../flavors/registry.js";
import type { ComponentRow } from "../store/config-store.js";
import type { Project } from "../store/open-project.js";
import { readSecretSources } from "./secret-sources.js";

/**
 * Validates config given on the command line against a flavor's schema:
 * strings are coerced to the schema's types, unknown keys are errors, and the
 * result is split into open values (stored) and secrets (kept apart).
 * Only the values the user gave are kept, so flavor defaults can evolve.
 */
export function validateComponentConfig(
  flavor: AnyFlavor,
  given: Record<string, unknown>,
  where: { type: string; name: string },
): { open: Record<string, unknown>; secrets: Record<string, unknown> } {
  const label = `${componentTypeLabel(where.type as ComponentType)} '${where.name}' (flavor ${flavor.name})`;
  const known = Object.keys(flavor.configSchema.shape);
  parseConfig(
    flavor.configSchema.strict(),
    given,
    label,
    known.length ? `Config keys of flavor ${flavor.name}: ${known.join(", ")}` : `Flavor ${flavor.name} takes no config.`,
  );
  return splitSecrets(flavor.configSchema, given);
}

/**
 * Coerces `--key=value` strings with the flavor's schema, secret fields first
 * read from a file, standard input or a variable when so given
 * ({@link readSecretSources}); `where` names the component in errors.
 */
export function coerceArgs(flavor: AnyFlavor, values: Record<string, string>, where: { type: string; name: string }): Record<string, unknown> {
  const label = `${componentTypeLabel(where.type as ComponentType)} '${where.name}' (flavor ${flavor.name})`;
  return coerceConfigStrings(flavor.configSchema, readSecretSources(flavor, values), label);
}

/** Config for display: defaults applied where the schema accepts it, secrets masked. */
export function displayConfig(flavor: AnyFlavor | undefined, config: Record<string, unknown>, secretKeys: string[]): Record<string, unknown> {
  if (!flavor) return { ...config, ...Object.fromEntries(secretKeys.map((k) => [k, "********"])) };
  const withSecrets = { ...config, ...Object.fromEntries(secretKeys.map((k) => [k, "x"])) };
  const parsed = flavor.configSchema.safeParse(withSecrets);
  return maskSecrets(flavor.configSchema, parsed.success ? (parsed.data as Record<string, unknown>) : withSecrets);
}

/**
 * A stored component's config as every output shows it (`describe`, the
 * dashboard): its flavor loaded to apply defaults and mask secrets; when the
 * flavor cannot load, every secret key is masked all the same.
 */
export async function maskedComponentConfig(
  project: Project,
  row: ComponentRow,
): Promise<{ config: Record<string, unknown>; flavorSource: string | undefined; flavorProblem: string | undefined }> {
  const entry = new FlavorRegistry(project.config, project.paths.sourceRoot).find(row.type, row.flavor);
  let flavor: AnyFlavor | undefined;
  let flavorProblem: string | undefined;
  try {
    flavor = entry ? await loadFlavor(entry, project.paths.sourceRoot) : undefined;
    if (!entry) flavorProblem = `flavor ${row.flavor} is not available`;
  } catch (error) {
    flavorProblem = (error as Error).message;
  }
  const secretKeys = Object.keys(project.config.secrets.get(row.id));
  return { config: displayConfig(flavor, row.config, secretKeys), flavorSource: entry?.source, flavorProblem };
}
