import { ConfigError } from "@stackyard/core";

/** Path of the execution's name in the context object: the compiler uses it as the run id. */
export const EXECUTION_NAME_PATH = "$$.Execution.Name";

/**
 * Quotes a string as an intrinsic-function literal: `'...'` with `'`, `{`,
 * `}` and `\` escaped by a backslash, as the Amazon States Language asks.
 *
 * @throws ConfigError for control characters, which literals cannot hold.
 */
export function intrinsicLiteral(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new ConfigError(`Cannot pass ${JSON.stringify(value)} to an intrinsic function: it contains a control character`);
  }
  return `'${value.replace(/[\\'{}]/g, (c) => `\\${c}`)}'`;
}

/**
 * Builds `States.Array(...)` for a command line in which placeholders are
 * replaced by JSONPaths (`substitutions`: placeholder to path). An element
 * equal to a placeholder becomes the path itself; an element containing
 * one becomes `States.Format('--run={}', path)`; any other element a literal.
 */
export function statesArrayWithPaths(items: readonly string[], substitutions: Readonly<Record<string, string>>): string {
  const placeholders = Object.keys(substitutions);
  const args = items.map((item) => {
    if (Object.hasOwn(substitutions, item)) return substitutions[item]!;
    const found = placeholders.filter((p) => item.includes(p));
    if (found.length === 0) return intrinsicLiteral(item);
    const pattern = new RegExp(found.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
    const paths: string[] = [];
    const template = item
      .split(pattern)
      .map((part) => intrinsicLiteral(part).slice(1, -1))
      .join("{}");
    for (const match of item.matchAll(pattern)) paths.push(substitutions[match[0]]!);
    return `States.Format('${template}',${paths.join(",")})`;
  });
  return `States.Array(${args.join(",")})`;
}
