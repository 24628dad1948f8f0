import { type AnyFlavor, type StackComponentType, type StackDescription, validateStack } from "@stackyard/core";
import { requireFlavorEntry } from "../../flavors/load-component.js";
import { loadFlavor } from "../../flavors/load-flavor.js";
import { FlavorRegistry } from "../../flavors/registry.js";
import type { Project } from "../../store/open-project.js";
import { checkName } from "../names.js";
import { info } from "../output.js";
import { withProject } from "../with-project.js";

interface StackOptions {
  orchestrator?: string;
  artifactStore?: string;
  containerRegistry?: string;
  removeContainerRegistry?: boolean;
  rename?: string;
  set?: boolean;
}

const OPTION_TYPES: Array<[keyof StackOptions, StackComponentType]> = [
  ["orchestrator", "orchestrator"],
  ["artifactStore", "artifact_store"],
  ["containerRegistry", "container_registry"],
];

/**
 * Resolves component names to ids and validates the stack with its flavors'
 * rules (flavor modules only; implementations are not loaded).
 */
async function resolveAndValidate(project: Project, name: string, components: Record<string, string>): Promise<void> {
  const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
  const description: StackDescription = { name, components: {} };
  const flavors = new Map<string, AnyFlavor>();
  for (const [type, id] of Object.entries(components)) {
    const row = project.config.getComponentById(id)!;
    const flavor = await loadFlavor(requireFlavorEntry(registry, type, row.flavor), project.paths.sourceRoot);
    flavors.set(`${type}/${row.flavor}`, flavor);
    description.components[type as StackComponentType] = {
      id,
      name: row.name,
      type: type as StackComponentType,
      flavor: row.flavor,
      config: row.config,
      remote: Boolean(flavor.remote),
      connector: row.connector ?? undefined,
    };
  }
  validateStack(description, (type, flavor) => flavors.get(`${type}/${flavor}`));
}

function componentIds(project: Project, opts: StackOptions, base: Record<string, string> = {}): Record<string, string> {
  const components = { ...base };
  for (const [option, type] of OPTION_TYPES) {
    const name = opts[option];
    if (typeof name === "string") components[type] = project.config.getComponent(type, name).id;
  }
  if (opts.removeContainerRegistry) delete components.container_registry;
  return components;
}

export async function registerStack(name: string, opts: StackOptions): Promise<void> {
  checkName(name, "stack name");
  await withProject(async (project) => {
    const components = componentIds(project, opts);
    await resolveAndValidate(project, name, components);
    project.db
      .transaction(() => {
        project.config.addStack(name, components);
        if (opts.set) project.config.setActiveStack(name);
      })
      .immediate();
    info(`Registered stack '${name}'${opts.set ? " and set it active" : ""}.`);
  });
}

export async function updateStack(name: string, opts: StackOptions): Promise<void> {
  if (opts.rename !== undefined) checkName(opts.rename, "new stack name (--rename)");
  await withProject(async (project) => {
    const stack = project.config.getStack(name);
    const components = componentIds(project, opts, stack.components);
    await resolveAndValidate(project, opts.rename ?? name, components);
    project.config.updateStack(name, components, opts.rename);
    info(`Updated stack '${opts.rename ?? name}'.`);
  });
}

export async function setStack(name: string): Promise<void> {
  await withProject((project) => {
    project.config.setActiveStack(name);
    info(`Active stack: '${name}'.`);
  });
}

export async function deleteStack(name: string): Promise<void> {
  await withProject((project) => {
    project.config.deleteStack(name);
    info(`Deleted stack '${name}'.`);
  });
}
