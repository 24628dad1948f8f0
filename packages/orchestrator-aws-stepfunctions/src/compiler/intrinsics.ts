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
 * Builds `States.Array(...)` for a command line in which the element equal
 * to (or containing) `placeholder` is replaced by the JSONPath `path`:
 * a whole element becomes the path itself, a partial one
 * `States.Format('--run={}', path)`.
 */
export function statesArrayWithPath(items: readonly string[], placeholder: string, path: string): string {
  const args = items.map((item) => {
    if (item === placeholder) return path;
    if (!item.includes(placeholder)) return intrinsicLiteral(item);
    const template = item
      .split(placeholder)
      .map((part) => intrinsicLiteral(part).slice(1, -1))
      .join("{}");
    const count = item.split(placeholder).length - 1;
    return `States.Format('${template}', ${Array.from({ length: count }, () => path).join(", ")})`;
  });
  return `States.Array(${args.join(", ")})`;
}
