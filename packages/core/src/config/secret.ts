import { z } from "zod";

/**
 * Marks config fields whose values are secrets. Stores keep them out of the
 * main database, and every output masks them. Kept on `globalThis` so that a
 * second copy of this package (a flavor bundled with its own) marks the same registry.
 */
export const secretRegistry: z.core.$ZodRegistry<{ secret: true }> = ((globalThis as Record<symbol, unknown>)[Symbol.for("stackyard.secretRegistry")] ??=
  z.registry<{ secret: true }>()) as z.core.$ZodRegistry<{ secret: true }>;

/**
 * A string config field holding a secret (a key, a password, a token).
 * Checks go in `refine` (`secretString((s) => s.min(16))`): zod makes a new
 * schema for every check, and only the one returned here is marked secret.
 */
export function secretString(refine: (schema: z.ZodString) => z.ZodString = (s) => s): z.ZodString {
  const schema = refine(z.string());
  secretRegistry.add(schema, { secret: true });
  return schema;
}

/**
 * Marks any config field as a secret (a map of secret environment values,
 * for example); strings use {@link secretString}. Returns the schema marked.
 */
export function secretField<T extends z.ZodType>(schema: T): T {
  secretRegistry.add(schema, { secret: true });
  return schema;
}

/**
 * Whether an environment variable's name says it holds a secret (`API_TOKEN`,
 * `DB_PASSWORD`, `AWS_SECRET_ACCESS_KEY`): such values belong in a secret
 * field, not in clear-text config, snapshots or definitions.
 */
export function looksLikeSecretName(name: string): boolean {
  return /(^|_)(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIALS?)(_|$)/i.test(name);
}

/** What every output shows instead of a secret value. */
export const SECRET_MASK = "********";

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    if (secretRegistry.has(current)) return current;
    const def = (current as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
    if ((def.type === "optional" || def.type === "nullable" || def.type === "default" || def.type === "prefault") && def.innerType) {
      current = def.innerType;
    } else {
      return current;
    }
  }
  return current;
}

/** Names of the top-level fields of an object schema that are secrets. */
export function secretKeys(schema: z.ZodType): string[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, field]) => secretRegistry.has(unwrap(field)))
    .map(([key]) => key);
}

/** Splits a config into what may be stored openly and what is secret. */
export function splitSecrets(schema: z.ZodType, config: Record<string, unknown>): { open: Record<string, unknown>; secrets: Record<string, unknown> } {
  const keys = new Set(secretKeys(schema));
  const open: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (keys.has(key)) {
      if (value !== undefined) secrets[key] = value;
    } else open[key] = value;
  }
  return { open, secrets };
}

/** A copy of `config` with every secret field replaced by {@link SECRET_MASK}. */
export function maskSecrets(schema: z.ZodType, config: Record<string, unknown>): Record<string, unknown> {
  const keys = new Set(secretKeys(schema));
  return Object.fromEntries(Object.entries(config).map(([key, value]) => [key, keys.has(key) && value !== undefined ? SECRET_MASK : value]));
}
