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
}

/**
 * Environment variable through which a remote orchestrator tells a step
 * container which artifact store holds the snapshot and records: JSON of the
 * snapshot's artifact_store component (`id`, `name`, `flavor`,
 * `flavor_source`, `config`; never secrets).
 */
export const ARTIFACT_STORE_ENV = "STACKYARD_ARTIFACT_STORE";

/** The one-step entrypoint's command line. */
export class EntrypointConfiguration {
  /** The program in the image. */
  static readonly command: readonly string[] = ["stackyard", "step", "run"];

  /** Arguments for one step: `--snapshot URI --step ID --run RUN`. */
  static arguments(options: EntrypointOptions): string[] {
    return ["--snapshot", options.snapshot, "--step", options.step, "--run", options.run];
  }

  /** The whole command for one step. */
  static commandFor(options: EntrypointOptions): string[] {
    return [...this.command, ...this.arguments(options)];
  }

  /** Parses arguments made by {@link EntrypointConfiguration.arguments}. */
  static parse(argv: readonly string[]): EntrypointOptions {
    const get = (flag: string): string => {
      const index = argv.indexOf(flag);
      const value = index >= 0 ? argv[index + 1] : undefined;
      if (!value) throw new Error(`missing ${flag}`);
      return value;
    };
    return { snapshot: get("--snapshot"), step: get("--step"), run: get("--run") };
  }
}
