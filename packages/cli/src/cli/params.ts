import { ConfigError } from "@stackyard/core/errors";
import { quoteInput } from "./quote-input.js";

/** `--param name=value` pairs as parameters: values are JSON when they parse as JSON, else strings. */
export function parseParamPairs(pairs: readonly string[] | undefined, flag = "--param"): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new ConfigError(`Invalid ${flag} ${quoteInput(pair)}: use ${flag} name=value`);
    const raw = pair.slice(eq + 1);
    try {
      parameters[pair.slice(0, eq)] = JSON.parse(raw);
    } catch {
      parameters[pair.slice(0, eq)] = raw;
    }
  }
  return parameters;
}
