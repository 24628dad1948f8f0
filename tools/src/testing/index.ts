/**
 * Helpers that test files of several packages share. Import them from
 * `@stackyard/tools/testing`.
 */
export * from "./aws.js";
export * from "./fault-injection.js";
export * from "./flavor-light.js";
export * from "./network.js";
