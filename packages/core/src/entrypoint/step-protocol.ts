import { z } from "zod";
import { ConfigError } from "../errors/errors.js";
import { RUN_STATUSES, type RunStatus } from "../store/run-store.js";

/**
 * The step-process protocol: what an orchestrator hands a process that runs
 * one step (`stackyard step run`, see {@link EntrypointConfiguration}) through
 * its environment, and what that process prints back. Both sides import it
 * from here, so the names and formats exist once.
 */
export const STEP_ENV = {
  /** The project folder the pipeline's source paths are relative to (in a container: the image's copy). */
  sourceRoot: "STACKYARD_SOURCE_ROOT",
  /** The run the step belongs to. */
  runId: "STACKYARD_RUN_ID",
  /** The client's SQLite store, for a step process that can open it (same machine, or mounted). */
  store: "STACKYARD_STORE",
  /**
   * The artifact store as JSON ({@link ArtifactStoreDescription}), for a step
   * process that cannot reach the client's store: it keeps its records in the
   * artifact store, where the client reads them back. Never holds secrets.
   */
  artifactStore: "STACKYARD_ARTIFACT_STORE",
  /**
   * A folder of the project's TypeScript files compiled when the step image
   * was built (`stackyard step precompile`): a step process reads them from
   * there instead of compiling them again. Read only, never written at run time.
   */
  precompiled: "STACKYARD_TS_PRECOMPILED",
  /**
   * `run` when the step process may write only its own run's folder of the
   * artifact store (a docker step, whose store is mounted read-only apart
   * from that folder): it keeps its records there and leaves the shared
   * records (`artifacts/`, `cache/`) to its client, which copies its results in.
   */
  records: "STACKYARD_STEP_RECORDS",
} as const;

const artifactStoreDescriptionSchema = z.object({
  id: z.string(),
  name: z.string(),
  flavor: z.string(),
  flavor_source: z.string(),
  config: z.record(z.string(), z.unknown()),
});

/** The snapshot's artifact store component as a step process loads it: flavor by source path, config without secrets. */
export type ArtifactStoreDescription = z.infer<typeof artifactStoreDescriptionSchema>;

/** The value of {@link STEP_ENV}.artifactStore for `description`. */
export function formatArtifactStoreDescription(description: ArtifactStoreDescription): string {
  const { id, name, flavor, flavor_source, config } = description;
  return JSON.stringify({ id, name, flavor, flavor_source, config });
}

/**
 * Reads a value made by {@link formatArtifactStoreDescription}.
 *
 * @throws ConfigError naming the variable when the value is not one.
 */
export function parseArtifactStoreDescription(value: string): ArtifactStoreDescription {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    throw new ConfigError(`${STEP_ENV.artifactStore} is not a valid artifact store description: ${(error as Error).message}`);
  }
  const parsed = artifactStoreDescriptionSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${STEP_ENV.artifactStore} is not a valid artifact store description: ${issue.path.join(".") || "value"}: ${issue.message}`);
  }
  return parsed.data;
}

/** A status change a step process reports on stderr. */
export interface StepStatusLine {
  stepId: string;
  status: RunStatus;
  detail?: string;
}

const STATUS_LINE_PREFIX = "[stackyard] ";

/** The line a step process prints on stderr when its step changes status: `[stackyard] <step>: <status> (<detail>)`. */
export function formatStepStatusLine({ stepId, status, detail }: StepStatusLine): string {
  return `${STATUS_LINE_PREFIX}${stepId}: ${status}${detail ? ` (${detail.replaceAll("\n", " ")})` : ""}`;
}

const STATUS_LINE = /^\[stackyard\] (\S+): ([a-z]+)(?: \((.*)\))?$/;

/** Reads a line made by {@link formatStepStatusLine}; anything else (the step's own output) gives `undefined`. */
export function parseStepStatusLine(line: string): StepStatusLine | undefined {
  if (!line.startsWith(STATUS_LINE_PREFIX)) return undefined;
  const match = STATUS_LINE.exec(line);
  if (!match) return undefined;
  const status = match[2] as RunStatus;
  if (!RUN_STATUSES.includes(status)) return undefined;
  return { stepId: match[1]!, status, ...(match[3] === undefined ? {} : { detail: match[3] }) };
}
