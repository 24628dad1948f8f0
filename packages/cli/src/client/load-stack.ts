import {
  type BaseArtifactStore,
  type BaseContainerRegistry,
  type BaseOrchestrator,
  type CompileStack,
  type ComponentType,
  componentTypeLabel,
  type EntrypointConfiguration,
  type PipelineSnapshot,
  type Stack,
  type StackComponent,
} from "@stackyard/core";
import { NotFoundError } from "@stackyard/core/errors";
import { instantiateComponent, loadComponent } from "../flavors/load-component.js";
import { FlavorRegistry } from "../flavors/registry.js";
import type { Project } from "../store/open-project.js";
import { loadEntrypoint } from "./entrypoint.js";

/** A stack's components, made, and their description for snapshots. */
export interface LoadedStack {
  stack: Stack;
  /** What a snapshot records of the stack (flavor sources, config, settings schemas). */
  components: CompileStack;
}

/** Loads the implementations of a stack's components (the only place a run loads them). */
export async function loadStack(project: Project, stackName: string): Promise<LoadedStack> {
  const stackRow = project.config.getStack(stackName);
  const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
  const made: Record<string, StackComponent> = {};
  const components: CompileStack = { name: stackName, components: {} };
  let entrypoint: typeof EntrypointConfiguration | undefined;
  for (const [type, id] of Object.entries(stackRow.components)) {
    const row = project.config.getComponentById(id);
    if (!row)
      throw new NotFoundError(`Stack '${stackName}' refers to a ${componentTypeLabel(type as ComponentType)} that no longer exists`, {
        hint: `Update the stack: \`stackyard stack update ${stackName}\`.`,
      });
    const { component, entry, flavor } = await loadComponent(project, row, registry);
    made[type] = component;
    // The orchestrator's entrypoint is loaded now, so a bad one fails the run before anything is stored.
    if (type === "orchestrator" && flavor.entrypoint !== undefined) {
      entrypoint = await loadEntrypoint(flavor.entrypoint, project.paths.sourceRoot, `flavor '${row.flavor}' (${entry.source})`);
    }
    components.components[type as keyof CompileStack["components"]] = {
      id: row.id,
      name: row.name,
      flavor: row.flavor,
      flavor_source: entry.source,
      config: row.config,
      configSchema: flavor.configSchema,
      ...(row.connector ? { connector: row.connector } : {}),
      ...(type === "orchestrator" && flavor.entrypoint !== undefined ? { entrypoint: flavor.entrypoint } : {}),
      ...(flavor.settingsSchema ? { settingsSchema: flavor.settingsSchema } : {}),
    };
  }
  return {
    components,
    stack: {
      name: stackName,
      orchestrator: made.orchestrator as BaseOrchestrator,
      artifactStore: made.artifact_store as BaseArtifactStore,
      containerRegistry: made.container_registry as BaseContainerRegistry | undefined,
      ...(entrypoint ? { entrypoint } : {}),
    },
  };
}

/**
 * Loads the components a snapshot ran with, from this project's store (so
 * secrets and connectors apply), by component id.
 */
export async function loadSnapshotComponent<T extends StackComponent>(project: Project, snapshot: PipelineSnapshot, type: string): Promise<T> {
  const component = snapshot.stack.components[type];
  if (!component) throw new NotFoundError(`The run's stack had no ${componentTypeLabel(type as ComponentType)}`);
  const row = project.config.getComponentById(component.id);
  if (!row) {
    throw new NotFoundError(`The ${componentTypeLabel(type as ComponentType)} '${component.name}' this run used has been deleted`, {
      hint: "Register it again under the same name to read this run's data.",
    });
  }
  return instantiateComponent<T>(project, row);
}
