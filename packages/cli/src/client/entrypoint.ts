import { ConfigError, type EntrypointConfiguration, entrypointProblems, StackyardError } from "@stackyard/core";
import { loadSource } from "../source/load-source.js";

/**
 * Loads the entrypoint configuration an orchestrator flavor names by source
 * path (`Flavor.entrypoint`), in the client and in step processes alike.
 * `owner` says whose it is, for the messages.
 *
 * @throws ConfigError (exit 2) naming the source path when it does not load or is not a subclass of EntrypointConfiguration.
 */
export async function loadEntrypoint(source: string, sourceRoot: string, owner: string): Promise<typeof EntrypointConfiguration> {
  let value: unknown;
  try {
    value = await loadSource(source, sourceRoot);
  } catch (error) {
    const reason = (error as Error).message;
    throw new ConfigError(`Cannot load the entrypoint configuration '${source}' of ${owner}: ${reason}`, {
      ...(error instanceof StackyardError && error.hint ? { hint: error.hint } : {}),
      cause: error,
    });
  }
  const problems = entrypointProblems(value);
  if (problems.length) {
    throw new ConfigError(`The entrypoint configuration '${source}' of ${owner} is not usable: ${problems.join("; ")}`, {
      hint: "Export a class that extends EntrypointConfiguration from @stackyard/core.",
    });
  }
  return value as typeof EntrypointConfiguration;
}
