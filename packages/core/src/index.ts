/**
 * `@stackyard/core`: the contracts every Stackyard flavor implements, and the
 * pipeline engine. Light on purpose (zod and yaml, nothing native) because
 * third-party flavor packages depend on it.
 *
 * @packageDocumentation
 */
export * from "./errors/errors.js";
export * from "./component/component-type.js";
export * from "./component/stack-component.js";
export * from "./flavor/flavor.js";
export * from "./config/secret.js";
export * from "./config/coerce.js";
export * from "./config/validate.js";
export * from "./stack/stack-description.js";
export * from "./stack/stack.js";
export * from "./stack/validate-stack.js";
export * from "./artifact-store/base-artifact-store.js";
export * from "./container-registry/base-container-registry.js";
export * from "./connector/service-connector.js";
export * from "./orchestrator/base-orchestrator.js";
export * from "./entrypoint/entrypoint-configuration.js";
export * from "./pipeline/snapshot.js";
export * from "./pipeline/memory.js";
export * from "./store/run-store.js";
export * from "./source/source-path.js";
