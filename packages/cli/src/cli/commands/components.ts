import { type ComponentType, ConfigError, ConflictError, componentTypeCliName, componentTypeLabel } from "@stackyard/core";
import { requireFlavorEntry } from "../../flavors/load-component.js";
import { loadFlavor } from "../../flavors/load-flavor.js";
import { FlavorRegistry } from "../../flavors/registry.js";
import type { Project } from "../../store/open-project.js";
import { coerceArgs, maskedComponentConfig, validateComponentConfig } from "../component-config.js";
import { parseConfigArgs } from "../config-args.js";
import { checkName } from "../names.js";
import { info, printDetails, printJson, printTable } from "../output.js";
import { quoteInput } from "../quote-input.js";
import { withProject } from "../with-project.js";

const label = (type: string) => componentTypeLabel(type as ComponentType);

/** Checks a connector exists and is of the type the flavor can use; gives its id. */
function checkConnector(project: Project, flavorName: string, requirement: { connectorType: string } | undefined, connector: string): string {
  const row = project.config.getComponent("service_connector", connector);
  if (!requirement) throw new ConfigError(`Flavor ${flavorName} does not authenticate through service connectors; drop --connector ${connector}`);
  if (row.flavor !== requirement.connectorType) {
    throw new ConfigError(`Service connector '${connector}' is of type ${row.flavor}, but flavor ${flavorName} needs a ${requirement.connectorType} connector`);
  }
  return row.id;
}

export async function registerComponent(type: string, name: string, opts: { flavor: string; connector?: string }, extra: string[]): Promise<void> {
  checkName(name, `${label(type)} name`);
  await withProject(async (project) => {
    const { values, rest } = parseConfigArgs(extra);
    if (rest.length) throw new ConfigError(`Unexpected argument ${quoteInput(rest[0]!)}: config values are given as --key=value`);
    if (project.config.findComponent(type, name)) {
      throw new ConflictError(`A ${label(type)} named '${name}' already exists`, {
        hint: `Pick another name, or change it with \`stackyard ${componentTypeCliName(type as ComponentType)} update ${name}\`.`,
      });
    }
    const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
    const flavor = await loadFlavor(requireFlavorEntry(registry, type, opts.flavor), project.paths.sourceRoot);
    const connectorId = opts.connector ? checkConnector(project, flavor.name, flavor.connectorRequirements, opts.connector) : undefined;
    const { open, secrets } = validateComponentConfig(flavor, coerceArgs(flavor, values, { type, name }), { type, name });
    project.config.addComponent({ type, name, flavor: flavor.name, config: open, secrets, connectorId });
    info(`Registered ${label(type)} '${name}' (flavor ${flavor.name}).`);
  });
}

export async function updateComponent(
  type: string,
  name: string,
  opts: { unset?: string[]; rename?: string; connector?: string },
  extra: string[],
): Promise<void> {
  if (opts.rename !== undefined) checkName(opts.rename, `new ${label(type)} name (--rename)`);
  await withProject(async (project) => {
    const { values, rest } = parseConfigArgs(extra);
    if (rest.length) throw new ConfigError(`Unexpected argument ${quoteInput(rest[0]!)}: config values are given as --key=value`);
    const row = project.config.getComponent(type, name);
    if (opts.rename && opts.rename !== name && project.config.findComponent(type, opts.rename)) {
      throw new ConflictError(`A ${label(type)} named '${opts.rename}' already exists`);
    }
    const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
    const flavor = await loadFlavor(requireFlavorEntry(registry, type, row.flavor), project.paths.sourceRoot);
    const connectorId = opts.connector ? checkConnector(project, flavor.name, flavor.connectorRequirements, opts.connector) : undefined;
    const merged: Record<string, unknown> = { ...row.config, ...project.config.secrets.get(row.id), ...coerceArgs(flavor, values, { type, name }) };
    for (const key of opts.unset ?? []) {
      if (!Object.hasOwn(merged, key)) throw new ConfigError(`${label(type)} '${name}' has no config value '${key}' to unset`);
      delete merged[key];
    }
    const { open, secrets } = validateComponentConfig(flavor, merged, { type, name });
    project.config.updateComponent(row.id, { config: open, secrets, connectorId, ...(opts.rename ? { name: opts.rename } : {}) });
    info(`Updated ${label(type)} '${opts.rename ?? name}'.`);
  });
}

export async function listComponents(type: string, opts: { json?: boolean }): Promise<void> {
  await withProject((project) => {
    const active = project.config.findStack(project.config.activeStackName());
    const activeIds = new Set(Object.values(active?.components ?? {}));
    const rows = project.config.listComponents(type).map((c) => ({
      active: activeIds.has(c.id) ? "*" : "",
      name: c.name,
      flavor: c.flavor,
      connector: c.connector ?? undefined,
      id: c.id,
    }));
    if (opts.json) printJson(rows.map(({ active, ...r }) => ({ ...r, in_active_stack: active === "*" })));
    else
      printTable(
        rows,
        type === "service_connector" ? ["name", "flavor", "id"] : ["active", "name", "flavor", "connector", "id"],
        `No ${label(type)}s registered.`,
      );
  });
}

export async function describeComponent(type: string, name: string, opts: { json?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const row = project.config.getComponent(type, name);
    const { config, flavorSource, flavorProblem } = await maskedComponentConfig(project, row);
    const staleConnector =
      row.connector && !row.connectorId ? `service connector '${row.connector}' no longer exists: set another with --connector` : undefined;
    const stacks = project.config
      .listStacks()
      .filter((s) => Object.values(s.components).includes(row.id))
      .map((s) => s.name);
    const details = {
      name: row.name,
      type: row.type,
      flavor: row.flavor,
      flavor_source: flavorSource,
      id: row.id,
      connector: row.connector ?? undefined,
      config,
      stacks,
      created: row.created,
      updated: row.updated,
      ...(flavorProblem || staleConnector ? { warning: [flavorProblem, staleConnector].filter(Boolean).join("; ") } : {}),
    };
    if (opts.json) printJson(details);
    else printDetails({ ...details, stacks: stacks.join(", ") || "(none)" });
  });
}

export async function deleteComponent(type: string, name: string): Promise<void> {
  await withProject((project) => {
    project.config.deleteComponent(type, name);
    info(`Deleted ${label(type)} '${name}'.`);
  });
}
