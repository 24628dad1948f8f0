/**
 * The store module stays free of runtime imports from `@stackyard/core` (and
 * so of zod) to keep read commands such as `stack list` fast. These errors
 * carry the same `exitCode` and `hint` fields as core's StackyardError, which
 * is all the CLI's error handler reads.
 */
export class StoreOpenError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

/** A lookup or a change the store refuses (not found, name taken, in use). */
export class StoreUsageError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "StoreUsageError";
  }
}
