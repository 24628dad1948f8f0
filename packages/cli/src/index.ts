/**
 * The `stackyard` package: the command line, the embedded SQLite store, and
 * the client that runs pipelines on the active stack.
 *
 * @packageDocumentation
 */

export {
  type Deployment,
  type DeploymentRecord,
  type DeployOptions,
  deployment,
  deployPipeline,
  type TriggerOptions,
} from "./client/deployments.js";
export { type LoadArtifactOptions, loadArtifact } from "./client/load-artifact.js";
export { type ClientRunOptions, runPipeline } from "./client/run-pipeline.js";
export { instantiateComponent } from "./flavors/load-component.js";
export { type FlavorEntry, FlavorRegistry } from "./flavors/registry.js";
export { importSourceModule, loadSource } from "./source/load-source.js";
export { type ComponentRow, ConfigStore, type FlavorRow, type StackRow } from "./store/config-store.js";
export { openProject, openProjectAt, type Project } from "./store/open-project.js";
export { findSourceRoot, type ProjectPaths, projectPaths } from "./store/project.js";
export { SqliteRunStore } from "./store/sqlite-run-store.js";
