import { ConfigError } from "@stackyard/core";
import { quoteInput } from "./quote-input.js";

/** Keys that would change what an object is rather than add a value to it. */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const bareKeysOf = new WeakMap<object, Set<string>>();

/** The keys of `values` (as {@link parseConfigArgs} made it) given as a bare `--key`, without a value. */
export function bareKeys(values: Record<string, string>): ReadonlySet<string> {
  return bareKeysOf.get(values) ?? new Set();
}

/**
 * Reads `--key=value` and `--key value` pairs that a command passes through
 * to a flavor's config. Keys are config field names as the flavor spells
 * them (`--subnet_ids`); a dash form (`--subnet-ids`) is kept as typed so the
 * schema reports it if the flavor has no such key. A key given twice, and
 * keys such as `__proto__` that no config can have, are refused rather than
 * one value silently winning or the key silently vanishing.
 */
export function parseConfigArgs(args: readonly string[]): { values: Record<string, string>; rest: string[] } {
  const values: Record<string, string> = {};
  const rest: string[] = [];
  const bare = new Set<string>();
  bareKeysOf.set(values, bare);
  const put = (key: string, value: string) => {
    if (RESERVED_KEYS.has(key)) {
      throw new ConfigError(`Invalid config key --${key}: '${key}' cannot be a config key`, {
        hint: "Config keys are the field names of the flavor's config.",
      });
    }
    if (Object.hasOwn(values, key)) {
      throw new ConfigError(`Config key ${quoteInput(`--${key}`)} is given twice (${quoteInput(values[key]!)} and ${quoteInput(value)})`, {
        hint: "Give each config key once.",
      });
    }
    values[key] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    if (eq > 2) put(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < args.length && !args[i + 1]!.startsWith("--")) put(arg.slice(2), args[++i]!);
    else {
      put(arg.slice(2), "true");
      bare.add(arg.slice(2));
    }
  }
  return { values, rest };
}
