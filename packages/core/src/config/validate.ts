import type { z } from "zod";
import { ConfigError } from "../errors/errors.js";

/**
 * Formats zod issues as one message a user can act on: each issue names the
 * key path and what was expected. `where` says whose config it is
 * ("orchestrator 'my_docker' (flavor docker)", "configs/run.yaml").
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[], where: string): string {
  const lines = issues.map((issue) => {
    const key = issue.path.length ? issue.path.map(String).join(".") : "(root)";
    if (issue.code === "unrecognized_keys") {
      const keys = (issue as unknown as { keys: string[] }).keys;
      const prefix = issue.path.length ? `${key}.` : "";
      return `unknown key${keys.length > 1 ? "s" : ""} ${keys.map((k) => `'${prefix}${k}'`).join(", ")}`;
    }
    return `'${key}': ${issue.message}`;
  });
  return `Invalid config for ${where}: ${lines.join("; ")}`;
}

/** Parses `value` with `schema`, throwing a {@link ConfigError} that names `where`. */
export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, where: string, hint?: string): z.output<S> {
  let result: z.ZodSafeParseResult<z.output<S>>;
  try {
    result = schema.safeParse(value) as z.ZodSafeParseResult<z.output<S>>;
  } catch (error) {
    // A refine or transform of the schema threw instead of reporting an issue.
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`Invalid config for ${where}: its config schema failed: ${message.split("\n")[0]}`, hint === undefined ? undefined : { hint });
  }
  if (!result.success) {
    throw new ConfigError(formatIssues(result.error.issues, where), hint === undefined ? undefined : { hint });
  }
  return result.data;
}
