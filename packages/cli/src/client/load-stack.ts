import type { BaseArtifactStore, BaseContainerRegistry, BaseOrchestrator, PipelineSnapshot, Stack, StackComponent } from "@stackyard/core";
import { instantiateComponent } from "../flavors/load-component.js";
import { FlavorRegistry } from "../flavors/registry.js";
import type { ComponentRow } from "../store/config-store.js";
import type { Project } from "../store/open-project.js";
import { StoreUsageError } from "../store/store-errors.js";

/** Loads the implementations of a stack's components (the only place a run loads them). */
export async function loadStack(project: Project, stackName: string): Promise<{ stack: Stack; rows: Record<string, ComponentRow> }> {
  const stackRow = project.config.getStack(stackName);
  const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
  const rows: Record<string, ComponentRow> = {};
  const components: Record<string, StackComponent> = {};
  for (const [type, id] of Object.entries(stackRow.components)) {
    const row = project.config.getComponentById(id);
    if (!row) throw new StoreUsageError(`Stack '${stackName}' refers to a ${type.replaceAll("_", " ")} that no longer exists`, `Update the stack: \`stackyard stack update ${stackName}\`.`);
    rows[type] = row;
    components[type] = await instantiateComponent(project, row, registry);
  }
  return {
    rows,
    stack: {
      name: stackName,
      orchestrator: components.orchestrator as BaseOrchestrator,
      artifactStore: components.artifact_store as BaseArtifactStore,
      containerRegistry: components.container_registry as BaseContainerRegistry | undefined,
    },
  };
}

/**
 * Loads the components a snapshot ran with, from this project's store (so
 * secrets and connectors apply), by component id.
 */
export async function loadSnapshotComponent<T extends StackComponent>(project: Project, snapshot: PipelineSnapshot, type: string): Promise<T> {
  const component = snapshot.stack.components[type];
  if (!component) throw new StoreUsageError(`The run's stack had no ${type.replaceAll("_", " ")}`);
  const row = project.config.getComponentById(component.id);
  if (!row) {
    throw new StoreUsageError(`The ${type.replaceAll("_", " ")} '${component.name}' this run used has been deleted`, "Register it again under the same name to read this run's data.");
  }
  return instantiateComponent<T>(project, row);
}
