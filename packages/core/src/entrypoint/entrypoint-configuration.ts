// biome-ignore-all lint/complexity/noThisInStatic: the static methods call each other through `this` so that a subclass's overrides apply.
import { ConfigError } from "../errors/errors.js";
import type { StepOutcome } from "../orchestrator/base-orchestrator.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";

/**
 * Which attempt of a step a process runs when its orchestrator does the
 * retrying: a number (1 is the first attempt), or `"next"`, the attempt after
 * the one the step's record of the run shows (1 when there is none). See
 * `RunStepOptions.attempt`.
 */
export type StepAttempt = number | "next";

/**
 * How a container runs exactly one step: the command and arguments every
 * containerised orchestrator puts in its containers. An entrypoint
 * configuration of the orchestrator's flavor may add options of its own
 * (`extra`).
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
  /**
   * Values of the options the entrypoint configuration declares
   * ({@link EntrypointConfiguration.options}), by name: `{ queue: "gpu" }` is
   * `--queue gpu` on the command line.
   */
  extra?: Record<string, string>;
}

/**
 * What {@link EntrypointConfiguration.arguments} takes: {@link EntrypointOptions},
 * with `run` left out when the entrypoint finds the run id in the step
 * process's environment ({@link EntrypointConfiguration.runIdFromEnvironment}).
 */
export type EntrypointArguments = Omit<EntrypointOptions, "run"> & { run?: string | undefined };

/** An option an entrypoint configuration adds to `stackyard step run`. */
export interface EntrypointOption {
  /** One line, shown when the option is missing or another one is unknown. */
  description: string;
  /** True when every step command must give it. */
  required?: boolean;
}

/** What {@link EntrypointConfiguration.wrap} is given about the step it wraps. */
export interface StepEntrypointContext {
  /** The step command's options, the entrypoint's own in `extra`. */
  options: EntrypointOptions;
  /** The snapshot the step belongs to. */
  snapshot: PipelineSnapshot;
}

/** The flags of the base command; an entrypoint configuration cannot declare options of these names. */
export const RESERVED_ENTRYPOINT_OPTIONS: readonly string[] = ["snapshot", "step", "run", "attempt", "help"];

const OPTION_NAME = /^[a-z][a-z0-9_-]*$/;

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

/**
 * The one-step entrypoint's command line:
 * `stackyard step run --snapshot URI --step ID --run RUN [--attempt N|next]`.
 *
 * An orchestrator flavor may name a subclass by source path
 * (`Flavor.entrypoint`) to add options of its own ({@link EntrypointConfiguration.options}),
 * take the run id from the container's environment
 * ({@link EntrypointConfiguration.runIdFromEnvironment}) and run code around
 * each step ({@link EntrypointConfiguration.wrap}). Every method is static and
 * calls the others through `this`, so a subclass's overrides apply to the
 * commands its orchestrator builds and to the parsing in the step process.
 *
 * @example
 * ```ts
 * export class QueueEntrypoint extends EntrypointConfiguration {
 *   static override options() {
 *     return { queue: { description: "the queue the step was sent to", required: true } };
 *   }
 *   static override async wrap(context: StepEntrypointContext, runStep: () => Promise<StepOutcome>) {
 *     console.log(`running ${context.options.step} from queue ${context.options.extra?.queue}`);
 *     return runStep();
 *   }
 * }
 * ```
 */
export class EntrypointConfiguration {
  /** The program in the image. */
  static readonly command: readonly string[] = ["stackyard", "step", "run"];

  /**
   * The options this entrypoint adds, by name (`queue` is `--queue VALUE`).
   * Names are lowercase (letters, digits, `-`, `_`) and none of
   * {@link RESERVED_ENTRYPOINT_OPTIONS}. Default: none.
   */
  static options(): Record<string, EntrypointOption> {
    return {};
  }

  /**
   * The run id when a step command has no `--run`: for an orchestrator that
   * cannot put it in the command (the same command serves every run) but
   * gives it to the container's environment. Default: none, so `--run` is required.
   */
  static runIdFromEnvironment(_env: Readonly<Record<string, string | undefined>>): string | undefined {
    return undefined;
  }

  /**
   * Runs around each step (and item of a map step) the step process runs:
   * code before and after `runStep`, whose outcome it returns. A throw fails
   * the step, with the error's message. Default: runs the step.
   */
  static async wrap(_context: StepEntrypointContext, runStep: () => Promise<StepOutcome>): Promise<StepOutcome> {
    return runStep();
  }

  /**
   * Arguments for one step: `--snapshot URI --step ID --run RUN`, then
   * `--attempt N|next` when `attempt` is set, then `--NAME VALUE` for each
   * option in `extra`.
   *
   * @throws ConfigError for an `extra` option the entrypoint does not declare, or a required one missing.
   */
  static arguments(options: EntrypointArguments): string[] {
    const args = ["--snapshot", options.snapshot, "--step", options.step];
    if (options.run !== undefined) args.push("--run", options.run);
    if (options.attempt !== undefined) args.push("--attempt", String(options.attempt));
    const declared = this.declaredOptions();
    const extra = options.extra ?? {};
    for (const name of Object.keys(extra)) {
      if (!Object.hasOwn(declared, name)) throw new ConfigError(`${this.describe()} has no option '${name}'`, { hint: this.takes(declared) });
    }
    for (const [name, option] of Object.entries(declared)) {
      const value = extra[name];
      if (value !== undefined) args.push(`--${name}`, value);
      else if (option.required) throw new ConfigError(`${this.describe()} needs --${name} (${option.description})`, { hint: this.takes(declared) });
    }
    return args;
  }

  /** The whole command for one step. */
  static commandFor(options: EntrypointArguments): string[] {
    return [...this.command, ...this.arguments(options)];
  }

  /**
   * Parses arguments made by {@link EntrypointConfiguration.arguments}
   * (`--name value` or `--name=value`). Without `--run`, the run id is
   * {@link EntrypointConfiguration.runIdFromEnvironment}'s, from `env`.
   *
   * @throws ConfigError for an unknown option, an option without a value or
   *   given twice, a missing required one (naming it, with the options this
   *   entrypoint takes) or a bad `--attempt` value (see {@link parseStepAttempt}).
   */
  static parse(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): EntrypointOptions {
    const declared = this.declaredOptions();
    const values = new Map<string, string>();
    for (let i = 0; i < argv.length; i++) {
      const token = argv[i]!;
      if (!token.startsWith("--") || token === "--") {
        throw new ConfigError(`Unexpected argument '${token}' for ${this.describe()}: every argument is an option --NAME VALUE`, {
          hint: this.takes(declared),
        });
      }
      const eq = token.indexOf("=");
      const name = token.slice(2, eq > 0 ? eq : undefined);
      if (!RESERVED_ENTRYPOINT_OPTIONS.includes(name) && !Object.hasOwn(declared, name)) {
        throw new ConfigError(`Unknown option --${name} for ${this.describe()}`, { hint: this.takes(declared) });
      }
      let value: string | undefined;
      if (eq > 0) value = token.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) value = argv[++i];
      if (value === undefined || value === "") throw new ConfigError(`Option --${name} of ${this.describe()} needs a value`, { hint: this.takes(declared) });
      if (values.has(name)) throw new ConfigError(`Option --${name} of ${this.describe()} is given twice`);
      values.set(name, value);
    }
    const get = (name: string): string => {
      const value = values.get(name);
      if (value === undefined) throw new ConfigError(`${this.describe()} needs --${name}`, { hint: this.takes(declared) });
      return value;
    };
    const run = values.get("run") ?? this.runIdFromEnvironment(env);
    if (run === undefined) get("run");
    const options: EntrypointOptions = { snapshot: get("snapshot"), step: get("step"), run: run! };
    if (values.has("attempt")) options.attempt = parseStepAttempt(values.get("attempt")!);
    const extra: Record<string, string> = {};
    for (const [name, option] of Object.entries(declared)) {
      const value = values.get(name);
      if (value !== undefined) extra[name] = value;
      else if (option.required) throw new ConfigError(`${this.describe()} needs --${name} (${option.description})`, { hint: this.takes(declared) });
    }
    if (Object.keys(extra).length) options.extra = extra;
    return options;
  }

  /**
   * {@link EntrypointConfiguration.options}, checked.
   *
   * @throws ConfigError for a reserved or malformed option name, or an option without a description.
   */
  static declaredOptions(): Record<string, EntrypointOption> {
    const declared = this.options();
    for (const [name, option] of Object.entries(declared)) {
      if (RESERVED_ENTRYPOINT_OPTIONS.includes(name)) {
        throw new ConfigError(`${this.describe()} declares the option '${name}', which is the base command's own`, {
          hint: `Name it otherwise: ${RESERVED_ENTRYPOINT_OPTIONS.map((n) => `--${n}`).join(", ")} are reserved.`,
        });
      }
      if (!OPTION_NAME.test(name)) {
        throw new ConfigError(`${this.describe()} declares an invalid option name '${name}'`, {
          hint: "Option names are lowercase letters, digits, '-' and '_', starting with a letter.",
        });
      }
      if (typeof option?.description !== "string") throw new ConfigError(`${this.describe()}'s option '${name}' has no description`);
    }
    return declared;
  }

  private static describe(): string {
    return this === EntrypointConfiguration ? "stackyard step run" : `entrypoint ${this.name || "configuration"}`;
  }

  private static takes(declared: Record<string, EntrypointOption>): string {
    const own = Object.entries(declared).map(([name, o]) => `--${name} VALUE${o.required ? "" : " (optional)"}: ${o.description}`);
    return `It takes --snapshot URI, --step ID, --run RUN, --attempt N|next (optional)${own.length ? `; and ${own.join("; ")}` : ""}.`;
  }
}

/**
 * What is wrong with `value` as an entrypoint configuration (empty when
 * nothing): not a subclass of {@link EntrypointConfiguration}, or options
 * that {@link EntrypointConfiguration.declaredOptions} refuses. Used when a
 * flavor's `entrypoint` source path is loaded.
 */
export function entrypointProblems(value: unknown): string[] {
  if (typeof value !== "function") return [`expected a class extending EntrypointConfiguration, got ${value === null ? "null" : typeof value}`];
  if (value !== EntrypointConfiguration && !(value.prototype instanceof EntrypointConfiguration)) {
    return [`expected a class extending EntrypointConfiguration, got ${value.name ? `'${value.name}', ` : ""}a function or class that does not extend it`];
  }
  try {
    (value as typeof EntrypointConfiguration).declaredOptions();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}
