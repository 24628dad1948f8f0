import { ConfigError, ConflictError, isAutoConfigurable, type ServiceConnector } from "@stackyard/core";
import { instantiateComponent, requireFlavorEntry } from "../../flavors/load-component.js";
import { loadFlavor } from "../../flavors/load-flavor.js";
import { FlavorRegistry } from "../../flavors/registry.js";
import { coerceArgs, validateComponentConfig } from "../component-config.js";
import { parseConfigArgs } from "../config-args.js";
import { checkName } from "../names.js";
import { info, printDetails, printJson, printTable } from "../output.js";
import { quoteInput } from "../quote-input.js";
import { withProject } from "../with-project.js";

/**
 * `service-connector register NAME --type aws [--auth-method M] [--auto-configure] [--key=value ...]`.
 * Auto-configured values come first; values given on the command line win.
 */
export async function registerConnector(name: string, opts: { type: string; authMethod?: string; autoConfigure?: boolean }, extra: string[]): Promise<void> {
  checkName(name, "service connector name");
  await withProject(async (project) => {
    const { values, rest } = parseConfigArgs(extra);
    if (rest.length) throw new ConfigError(`Unexpected argument ${quoteInput(rest[0]!)}: config values are given as --key=value`);
    if (project.config.findComponent("service_connector", name)) {
      throw new ConflictError(`A service connector named '${name}' already exists`, { hint: `Change it with \`stackyard service-connector update ${name}\`.` });
    }
    const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
    const flavor = await loadFlavor(requireFlavorEntry(registry, "service_connector", opts.type), project.paths.sourceRoot);
    let config: Record<string, unknown> = {};
    if (opts.autoConfigure) {
      if (!isAutoConfigurable(flavor)) throw new ConfigError(`Connector type ${opts.type} cannot auto-configure; give its config as --key=value`);
      config = await flavor.autoConfigure({ authMethod: opts.authMethod });
    }
    config = { ...config, ...coerceArgs(flavor, values, { type: "service_connector", name }) };
    if (opts.authMethod) config.auth_method = opts.authMethod;
    const { open, secrets } = validateComponentConfig(flavor, config, { type: "service_connector", name });
    project.config.addComponent({ type: "service_connector", name, flavor: flavor.name, config: open, secrets });
    info(`Registered service connector '${name}' (type ${flavor.name}${config.auth_method ? `, auth method ${String(config.auth_method)}` : ""}).`);
  });
}

async function connector(name: string): Promise<{ connector: ServiceConnector; close: () => void }> {
  const { openProject } = await import("../../store/open-project.js");
  const project = openProject();
  try {
    const row = project.config.getComponent("service_connector", name);
    return { connector: await instantiateComponent<ServiceConnector>(project, row), close: () => project.close() };
  } catch (error) {
    project.close();
    throw error;
  }
}

export async function verifyConnector(name: string, opts: { json?: boolean }): Promise<void> {
  const { connector: c, close } = await connector(name);
  try {
    const result = await c.verify();
    if (opts.json) printJson({ name, ...result });
    else {
      printDetails({ connector: name, identity: result.identity, status: "credentials work" });
      process.stdout.write("\n");
      printTable(
        result.resources.map((r) => ({ resource_type: r.resourceType, resource: r.resourceId })),
        ["resource_type", "resource"],
        "No resources found.",
      );
    }
  } finally {
    close();
  }
}

export async function listConnectorResources(name: string, opts: { resourceType?: string; json?: boolean }): Promise<void> {
  const { connector: c, close } = await connector(name);
  try {
    const resources = await c.listResources(opts.resourceType);
    if (opts.json) printJson(resources);
    else
      printTable(
        resources.map((r) => ({ resource_type: r.resourceType, resource: r.resourceId })),
        ["resource_type", "resource"],
        "No resources found.",
      );
  } finally {
    close();
  }
}
