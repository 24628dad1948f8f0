/**
 * The `stackyard` package: the command line, the embedded SQLite store, and
 * the client that runs pipelines on the active stack.
 *
 * @packageDocumentation
 */
export { openProject, openProjectAt, type Project } from "./store/open-project.js";
export { findSourceRoot, projectPaths, type ProjectPaths } from "./store/project.js";
export { ConfigStore, type ComponentRow, type FlavorRow, type StackRow } from "./store/config-store.js";
export { SqliteRunStore } from "./store/sqlite-run-store.js";
export { loadSource, importSourceModule } from "./source/load-source.js";
export { FlavorRegistry, type FlavorEntry } from "./flavors/registry.js";
export { instantiateComponent } from "./flavors/load-component.js";
export { runPipeline, type ClientRunOptions } from "./client/run-pipeline.js";
