/**
 * One error hierarchy for everything Stackyard reports to users.
 *
 * Every error is a value a user reads: it says what was wrong, where (a file, a
 * key, a component), and what to do. The CLI maps `exitCode` to the process
 * exit code: 2 for bad usage, bad input or invalid configuration, 1 for a
 * pipeline run that failed.
 */
export class StackyardError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 2;
  /** What to do about it, shown on its own line after the message. */
  readonly hint: string | undefined;

  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** A configuration value, a YAML file or a CLI flag that does not validate. */
export class ConfigError extends StackyardError {}

/** A source path (`MODULE#EXPORT`) that cannot be loaded or is not what was expected. */
export class SourceError extends StackyardError {}

/** A named thing (component, flavor, stack, run, step) that does not exist. */
export class NotFoundError extends StackyardError {}

/** A name that is taken, or a thing that is still in use by another. */
export class ConflictError extends StackyardError {}

/** A stack whose components do not fit together. */
export class StackValidationError extends StackyardError {}

/** A pipeline definition that does not compile (cycles, bad wiring, bad parameters). */
export class PipelineDefinitionError extends StackyardError {}

/** The store could not be opened or read (corrupt file, newer schema). */
export class StoreError extends StackyardError {}

/** A component's implementation needs a package that is not installed. */
export class MissingDependencyError extends StackyardError {}

/** Credentials or access to an external service failed. */
export class AuthenticationError extends StackyardError {}

/** A pipeline run finished in a failed state. */
export class RunFailedError extends StackyardError {
  override readonly exitCode: number = 1;
}

/** A step failed; carries the step invocation id. */
export class StepFailedError extends StackyardError {
  override readonly exitCode: number = 1;
  constructor(
    readonly stepId: string,
    message: string,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for errors Stackyard raised on purpose (as opposed to bugs). */
export function isStackyardError(error: unknown): error is StackyardError {
  return error instanceof StackyardError;
}
