/**
 * `@stackyard/core/errors`: the error hierarchy on its own, with no
 * dependency, for code that must start fast (the CLI's store and read
 * commands) and so does not load the rest of core. The same classes as
 * `@stackyard/core` exports.
 *
 * @packageDocumentation
 */
export * from "./errors/errors.js";
