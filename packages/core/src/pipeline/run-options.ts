import type { StepOutcome } from "../orchestrator/base-orchestrator.js";
import type { RunStatus } from "../store/run-store.js";
import type { RunConfigInput } from "./run-config.js";
import type { ParamsInputOf } from "./step.js";

/** Options of `pipeline.run()` (implemented by `runPipeline` in the `stackyard` package). */
export interface RunOptions<P = any> {
  /** A run configuration: path of a YAML file, or the parsed object. */
  config?: RunConfigInput;
  /** Pipeline parameters; override those of the configuration. */
  parameters?: ParamsInputOf<P>;
  /** The run's name, instead of the template. */
  runName?: string;
  /** False disables caching for every step of this run. */
  enableCache?: boolean;
  /** Tags for the run, besides the configuration's `tags`. */
  tags?: readonly string[];
}

/** What `pipeline.run()` resolves to. */
export interface RunResult {
  runId: string;
  runName: string;
  /** The run's status: final for synchronous orchestrators, possibly `running` for remote ones. */
  status: RunStatus;
  /** One outcome per step known so far. */
  steps: StepOutcome[];
}
