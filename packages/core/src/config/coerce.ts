import { z } from "zod";
import { ConfigError } from "../errors/errors.js";

type Def = { type: string; innerType?: z.ZodType; options?: z.ZodType[] };

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The zod type name under optional/default/nullable wrappers. */
function baseType(schema: z.ZodType): string {
  let def = defOf(schema);
  for (let i = 0; i < 10 && def.innerType && ["optional", "nullable", "default", "prefault", "readonly"].includes(def.type); i++) {
    def = defOf(def.innerType);
  }
  return def.type;
}

/**
 * Turns the strings of a command line (`--key=value`) into the types the
 * flavor's schema expects: numbers, booleans, and JSON for lists and objects
 * (`--subnet_ids='["subnet-xxx"]'`). Unknown keys are left as they are so
 * that the schema reports them. A list or object value that starts like JSON
 * (`[` or `{`) must be valid JSON: it is never split on commas. `where`
 * names the component in that error ("orchestrator 'o1' (flavor demo)").
 */
export function coerceConfigStrings(schema: z.ZodType, values: Record<string, string>, where = "config"): Record<string, unknown> {
  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(values)) {
    const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (!field) {
      out[key] = raw;
      continue;
    }
    const type = baseType(field);
    out[key] = coerceOne(type, raw, () => `Invalid config for ${where}: '${key}'`);
  }
  return out;
}

function coerceOne(type: string, raw: string, what: () => string): unknown {
  switch (type) {
    case "number":
    case "int": {
      const n = Number(raw);
      return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
    }
    case "boolean":
      if (["true", "yes", "1", "on"].includes(raw.toLowerCase())) return true;
      if (["false", "no", "0", "off"].includes(raw.toLowerCase())) return false;
      return raw;
    case "array":
    case "object":
    case "record":
    case "tuple":
      try {
        return JSON.parse(raw);
      } catch (error) {
        if (/^\s*[[{]/.test(raw)) {
          throw new ConfigError(`${what()} is not valid JSON (${(error as Error).message})`, {
            hint: `Quote the whole value for the shell, e.g. --key='["a", "b"]' or --key='{"k": "v"}'${type === "array" ? ", or give a list as a,b" : ""}.`,
          });
        }
        // A bare word for a list means a list of one: --subnet_ids=subnet-xxx
        return type === "array"
          ? raw
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean)
          : raw;
      }
    case "null":
      return raw === "null" ? null : raw;
    default:
      return raw;
  }
}
