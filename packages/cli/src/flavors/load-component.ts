import {
  type AnyFlavor,
  type ComponentType,
  componentTypeCliName,
  componentTypeLabel,
  MissingDependencyError,
  NotFoundError,
  parseConfig,
  type ServiceConnector,
  SourceError,
  type StackComponent,
} from "@stackyard/core";
import type { ComponentRow } from "../store/config-store.js";
import type { Project } from "../store/open-project.js";
import { loadFlavor } from "./load-flavor.js";
import { type FlavorEntry, FlavorRegistry } from "./registry.js";

/** Finds a flavor by type and name, or fails listing the ones there are. */
export function requireFlavorEntry(registry: FlavorRegistry, type: string, name: string): FlavorEntry {
  const entry = registry.find(type, name);
  if (!entry) {
    const names = registry.list(type).map((f) => f.name);
    throw new NotFoundError(`No ${componentTypeLabel(type as ComponentType)} flavor named '${name}'`, {
      hint: `Available: ${names.length ? names.join(", ") : "none"}. Install a flavor package or register one with \`stackyard ${componentTypeCliName(type as ComponentType)} flavor register ./path/to/flavor.ts#Export\`.`,
    });
  }
  return entry;
}

/** Where a component's implementation comes from, for the install hint. */
function packageToInstall(entry: FlavorEntry, flavor: AnyFlavor): string | undefined {
  if (flavor.packageName) return flavor.packageName;
  if (entry.origin.startsWith("package ")) return entry.origin.slice("package ".length);
  if (!entry.source.startsWith(".")) return entry.source.split("#")[0];
  return undefined;
}

/**
 * Constructs a component's implementation: imports the flavor, then its
 * implementation (the only place implementations are loaded), validates
 * config and secrets, and connects its service connector.
 */
export async function instantiateComponent<T extends StackComponent<any>>(
  project: Project,
  row: ComponentRow,
  registry = new FlavorRegistry(project.config, project.paths.sourceRoot),
): Promise<T> {
  return (await loadComponent<T>(project, row, registry)).component;
}

/** {@link instantiateComponent}, also giving the flavor it was made from and where that was found. */
export async function loadComponent<T extends StackComponent<any>>(
  project: Project,
  row: ComponentRow,
  registry: FlavorRegistry,
): Promise<{ component: T; entry: FlavorEntry; flavor: AnyFlavor }> {
  const entry = requireFlavorEntry(registry, row.type, row.flavor);
  const flavor = await loadFlavor(entry, project.paths.sourceRoot);
  const connectorRow = connectorOf(project, row);
  const connector = connectorRow && (await instantiateComponent<ServiceConnector>(project, connectorRow, registry));
  const pkg = packageToInstall(entry, flavor);
  const component = await makeComponent<T>(
    flavor,
    { ...row, config: { ...row.config, ...project.config.secrets.get(row.id) } },
    {
      sourceRoot: project.paths.sourceRoot,
      connector,
      installHint: pkg
        ? `Install it with \`npm install ${pkg}\` in ${project.paths.sourceRoot}.`
        : `Check the flavor's implementation module (${entry.source}).`,
      source: entry.source,
    },
  );
  return { component, entry, flavor };
}

/** The service connector a component authenticates with, if any, by id; a stale name is reported with the fix. */
function connectorOf(project: Project, row: ComponentRow): ComponentRow | undefined {
  if (!row.connectorId && !row.connector) return undefined;
  const connector = row.connectorId ? project.config.getComponentById(row.connectorId) : undefined;
  if (connector) return connector;
  const names = project.config.listComponents("service_connector").map((c) => c.name);
  throw new NotFoundError(
    `The ${componentTypeLabel(row.type as ComponentType)} '${row.name}' uses service connector '${row.connector}', which no longer exists`,
    {
      hint: `Point it at a connector with \`stackyard ${componentTypeCliName(row.type as ComponentType)} update ${row.name} --connector NAME\`${
        names.length ? ` (registered: ${names.join(", ")})` : `, after registering one with \`stackyard service-connector register NAME --type TYPE\``
      }.`,
    },
  );
}

/** What {@link makeComponent} makes a component from. */
export interface ComponentSpec {
  id: string;
  name: string;
  type: string;
  flavor: string;
  /** Config and secrets, unvalidated. */
  config: Record<string, unknown>;
}

/**
 * Makes a component from its loaded flavor: imports the implementation,
 * validates config (a {@link ConfigError} naming the component, exit 2) and
 * constructs it. The one place components are constructed, on the host and
 * in step processes.
 */
export async function makeComponent<T extends StackComponent<any>>(
  flavor: AnyFlavor,
  spec: ComponentSpec,
  options: { sourceRoot: string; source: string; installHint?: string; connector?: ServiceConnector | undefined },
): Promise<T> {
  const label = `${componentTypeLabel(spec.type as ComponentType)} '${spec.name}' (flavor ${spec.flavor})`;
  let Implementation;
  try {
    Implementation = await flavor.implementation();
  } catch (error) {
    throw new MissingDependencyError(`Cannot load the implementation of ${label}: ${(error as Error).message.split("\n")[0]}`, {
      hint: options.installHint ?? `Check the flavor's implementation module (${options.source}).`,
      cause: error,
    });
  }
  if (typeof Implementation !== "function") {
    throw new MissingDependencyError(`The implementation of ${label} is not a class (flavor source ${options.source})`);
  }
  const config = parseConfig(flavor.configSchema, spec.config, label);
  const { id, name, flavor: flavorName } = spec;
  const component = new Implementation({ id, name, flavor: flavorName, config, connector: options.connector, sourceRoot: options.sourceRoot });
  const missing = missingMembers(spec.type, component as unknown as Record<string, unknown>);
  if (missing.length) {
    const found = (Implementation as { name?: string }).name || "an anonymous class";
    const kind = componentTypeLabel(spec.type as ComponentType);
    throw new SourceError(
      `The implementation of ${label} is not ${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind}: ${found}, from ${options.source}, has no ${missing.join(", ")}`,
      { hint: `Make the flavor's implementation() resolve to a class extending the ${BASE_CLASSES[spec.type] ?? "matching"} class of @stackyard/core.` },
    );
  }
  return component as T;
}

/** What each component type's base class gives its instances, checked by shape (a project may hold its own copy of core). */
const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  orchestrator: ["submit()", "capabilities"],
  artifact_store: ["readFile()", "writeFile()", "uri()", "scheme"],
  container_registry: ["uri"],
  service_connector: ["verify()"],
};
const BASE_CLASSES: Record<string, string> = {
  orchestrator: "BaseOrchestrator",
  artifact_store: "BaseArtifactStore",
  container_registry: "BaseContainerRegistry",
  service_connector: "ServiceConnector",
};

function missingMembers(type: string, component: Record<string, unknown>): string[] {
  return (REQUIRED_MEMBERS[type] ?? []).filter((member) => {
    const value = component[member.replace("()", "")];
    return member.endsWith("()") ? typeof value !== "function" : value === undefined;
  });
}
