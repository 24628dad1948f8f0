/**
 * `@stackyard/core`: the contracts every Stackyard flavor implements, and the
 * pipeline engine. Light on purpose (zod and yaml, nothing native) because
 * third-party flavor packages depend on it.
 *
 * @packageDocumentation
 */

export * from "./artifact-store/base-artifact-store.js";
export * from "./artifact-store/local-artifact-store.js";
export * from "./artifact-store/local-artifact-store-flavor.js";
export * from "./artifact-store/step-artifact-store.js";
export * from "./component/component-type.js";
export * from "./component/stack-component.js";
export * from "./config/coerce.js";
export * from "./config/secret.js";
export * from "./config/validate.js";
export * from "./connector/service-connector.js";
export * from "./container-registry/base-container-registry.js";
export * from "./entrypoint/entrypoint-configuration.js";
export * from "./entrypoint/step-protocol.js";
export * from "./errors/errors.js";
export * from "./execution/cache-key.js";
export * from "./execution/execute-dag.js";
export * from "./execution/load-artifact.js";
export * from "./execution/map-expand.js";
export * from "./execution/map-items.js";
export * from "./execution/map-progress.js";
export * from "./execution/run-driver.js";
export * from "./execution/run-in-process.js";
export * from "./execution/run-step.js";
export { collectedArtifacts, mapItemCount, type ResolvedInput, type StepInputContext } from "./execution/step-inputs.js";
export * from "./flavor/flavor.js";
export * from "./materializers/artifact-io.js";
export * from "./materializers/bytes.js";
export * from "./materializers/file.js";
export * from "./materializers/json.js";
export * from "./materializers/materializer.js";
export * from "./materializers/registry.js";
export * from "./materializers/text.js";
export * from "./materializers/visual.js";
export * from "./orchestrator/base-orchestrator.js";
export * from "./orchestrator/production.js";
export * from "./orchestrator/schedule-spec.js";
export * from "./pipeline/compile.js";
export * from "./pipeline/component-settings.js";
export * from "./pipeline/memory.js";
export * from "./pipeline/pipeline.js";
export * from "./pipeline/run-config.js";
export * from "./pipeline/run-name.js";
export * from "./pipeline/run-options.js";
export * from "./pipeline/run-parameters.js";
export * from "./pipeline/snapshot.js";
export * from "./pipeline/step.js";
export * from "./source/source-path.js";
export * from "./stack/stack.js";
export * from "./stack/stack-description.js";
export * from "./stack/validate-stack.js";
export * from "./store/artifact-store-run-store.js";
export * from "./store/memory-run-store.js";
export * from "./store/metadata.js";
export * from "./store/run-store.js";
export * from "./store/step-records.js";
