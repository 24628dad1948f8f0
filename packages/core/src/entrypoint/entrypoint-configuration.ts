import { ConfigError } from "../errors/errors.js";

/**
 * Which attempt of a step a process runs when its orchestrator does the
 * retrying: a number (1 is the first attempt), or `"next"`, the attempt after
 * the one the step's record of the run shows (1 when there is none). See
 * `RunStepOptions.attempt`.
 */
export type StepAttempt = number | "next";

/**
 * How a container runs exactly one step: the command and arguments every
 * containerised orchestrator puts in its containers. Flavors may extend it
 * with options of their own (an execution id taken from the environment).
 */
export interface EntrypointOptions {
  /** URI of the snapshot in the artifact store. */
  snapshot: string;
  /** Step invocation id. */
  step: string;
  /** Run id. */
  run: string;
  /**
   * Run only this attempt of the step (`--attempt`), for an orchestrator that
   * retries failed steps itself, each attempt in a new container. Without it
   * the step process runs every attempt its retry policy allows.
   */
  attempt?: StepAttempt;
}

/**
 * Reads a `--attempt` value: a whole number from 1, or `next`.
 *
 * @throws ConfigError for anything else.
 */
export function parseStepAttempt(value: string): StepAttempt {
  if (value === "next") return "next";
  if (/^[1-9][0-9]{0,8}$/.test(value)) return Number(value);
  throw new ConfigError(
    `Invalid --attempt '${value}': expected a whole number from 1 (the attempt to run) or 'next' (the one after the step's last recorded attempt)`,
  );
}

/** The one-step entrypoint's command line. */
export class EntrypointConfiguration {
  /** The program in the image. */
  static readonly command: readonly string[] = ["stackyard", "step", "run"];

  /** Arguments for one step: `--snapshot URI --step ID --run RUN`, then `--attempt N|next` when `attempt` is set. */
  static arguments(options: EntrypointOptions): string[] {
    const args = ["--snapshot", options.snapshot, "--step", options.step, "--run", options.run];
    return options.attempt === undefined ? args : [...args, "--attempt", String(options.attempt)];
  }

  /** The whole command for one step. */
  static commandFor(options: EntrypointOptions): string[] {
    return [...EntrypointConfiguration.command, ...EntrypointConfiguration.arguments(options)];
  }

  /**
   * Parses arguments made by {@link EntrypointConfiguration.arguments}.
   *
   * @throws ConfigError for a bad `--attempt` value (see {@link parseStepAttempt}).
   */
  static parse(argv: readonly string[]): EntrypointOptions {
    const find = (flag: string): string | undefined => {
      const index = argv.indexOf(flag);
      return index >= 0 ? argv[index + 1] : undefined;
    };
    const get = (flag: string): string => {
      const value = find(flag);
      if (!value) throw new Error(`missing ${flag}`);
      return value;
    };
    const options: EntrypointOptions = { snapshot: get("--snapshot"), step: get("--step"), run: get("--run") };
    if (argv.includes("--attempt")) options.attempt = parseStepAttempt(find("--attempt") ?? "");
    return options;
  }
}
