/**
 * `@stackyard/core/component-type`: component types and how users read and
 * type them, with no dependency, for code that must start fast (the CLI's
 * store and read commands). The same values as `@stackyard/core` exports.
 *
 * @packageDocumentation
 */
export * from "./component/component-type.js";
