/**
 * `@stackyard/conformance/fixtures`: the pipelines of the orchestrator
 * suite, importable by source path from any process.
 *
 * @packageDocumentation
 */
export * from "./fixtures/pipelines.js";
