import { type AnyFlavor, type ComponentType, coerceConfigStrings, componentTypeLabel, maskSecrets, parseConfig, splitSecrets } from "@stackyard/core";
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
