import {
  type AnyFlavor,
  type ComponentType,
  ConfigError,
  ConflictError,
  componentTypeCliName,
  componentTypeLabel,
  isComponentType,
  secretKeys,
} from "@stackyard/core";
import { z } from "zod";
import { requireFlavorEntry } from "../../flavors/load-component.js";
import { loadFlavor, loadFlavorFromSource } from "../../flavors/load-flavor.js";
import { FlavorRegistry } from "../../flavors/registry.js";
import { info, printDetails, printJson, printTable } from "../output.js";
import { withProject } from "../with-project.js";

const label = (type: string) => componentTypeLabel(type as ComponentType);

/** `<type> flavor register SOURCE`: imports only the flavor module, checks it, stores the source path. */
export async function registerFlavor(type: string, source: string): Promise<void> {
  await withProject(async (project) => {
    const flavor = await loadFlavorFromSource(source, project.paths.sourceRoot, type);
    const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
    const existing = registry.find(type, flavor.name);
    if (existing && existing.origin !== "registered") {
      throw new ConflictError(`A ${label(type)} flavor named '${flavor.name}' already exists (${existing.origin}, ${existing.source})`, {
        hint: "Give your flavor another name.",
      });
    }
    project.config.putFlavor({ type, name: flavor.name, source, description: flavor.description ?? null, remote: Boolean(flavor.remote) });
    info(`Registered ${label(type)} flavor '${flavor.name}' from ${source}.`);
  });
}

export async function listFlavors(type: string | undefined, opts: { json?: boolean }): Promise<void> {
  if (type !== undefined) {
    const normalised = type.replaceAll("-", "_");
    if (!isComponentType(normalised))
      throw new ConfigError(`Unknown component type '${type}': use orchestrator, artifact-store, container-registry or service-connector`);
    type = normalised;
  }
  await withProject((project) => {
    const rows = new FlavorRegistry(project.config, project.paths.sourceRoot).list(type);
    if (opts.json) printJson(rows);
    else
      printTable(
        rows.map((r) => ({ ...r, type: componentTypeCliName(r.type as ComponentType) })),
        type ? ["name", "origin", "source", "description"] : ["type", "name", "origin", "source"],
        "No flavors.",
      );
  });
}

export async function describeFlavor(type: string, name: string, opts: { json?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const entry = requireFlavorEntry(new FlavorRegistry(project.config, project.paths.sourceRoot), type, name);
    const flavor = await loadFlavor(entry, project.paths.sourceRoot);
    const config = z.toJSONSchema(flavor.configSchema, { io: "input", unrepresentable: "any" }) as {
      properties?: Record<string, { description?: string; type?: string; default?: unknown }>;
      required?: string[];
    };
    const secrets = new Set(secretKeys(flavor.configSchema));
    const fields = Object.entries(config.properties ?? {}).map(([key, prop]) => ({
      key,
      type: prop.type ?? "any",
      required: (config.required ?? []).includes(key) ? "yes" : "",
      default: prop.default,
      secret: secrets.has(key) ? "yes" : "",
      description: prop.description,
    }));
    const settings = flavor.settingsSchema ? z.toJSONSchema(flavor.settingsSchema, { io: "input", unrepresentable: "any" }) : undefined;
    const details = {
      name: flavor.name,
      type: flavor.type,
      description: flavor.description,
      origin: entry.origin,
      source: entry.source,
      remote: Boolean(flavor.remote),
      docs_url: flavor.docsUrl,
      connector: flavor.connectorRequirements ? `${flavor.connectorRequirements.connectorType} (${flavor.connectorRequirements.resourceType})` : undefined,
    };
    const capabilities = type === "orchestrator" ? (flavor.capabilities ?? (await orchestratorCapabilities(flavor, project.paths.sourceRoot))) : undefined;
    if (opts.json) {
      printJson({ ...details, ...(capabilities ? { capabilities } : {}), config_schema: config, settings_schema: settings });
      return;
    }
    printDetails(Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined)));
    if (capabilities) {
      process.stdout.write("\nCapabilities:\n");
      printTable(
        Object.entries(capabilities).map(([capability, value]) => ({ capability, value: value ? "yes" : "no", meaning: CAPABILITY_MEANINGS[capability] })),
        ["capability", "value", "meaning"],
        "  (none)",
      );
    }
    process.stdout.write("\nConfig:\n");
    printTable(fields, ["key", "type", "required", "default", "secret", "description"], "  (no config)");
    if (settings) {
      process.stdout.write(`\nSettings (settings.${type}.${name} in a run config):\n`);
      const props = (settings as { properties?: Record<string, { type?: string; description?: string }> }).properties ?? {};
      printTable(
        Object.entries(props).map(([key, p]) => ({ key, type: p.type ?? "any", description: p.description })),
        ["key", "type", "description"],
        "  (none)",
      );
    }
  });
}

const CAPABILITY_MEANINGS: Record<string, string> = {
  remote: "steps run away from this machine",
  synchronous: "a run returns when it is over",
  schedulable: "runs can be scheduled",
  honoursResources: "cpu, gpu and memory requests are enforced",
  parallel: "independent steps run at the same time",
  mapSteps: "map steps (step.map()) run, one step run per item",
};

/**
 * What an orchestrator flavor's class declares it can do, for a flavor that
 * does not declare `capabilities` itself. Capabilities are declared on
 * instances, so this makes one with an empty config, which never connects to
 * anything; a class whose constructor needs more gives nothing.
 */
async function orchestratorCapabilities(flavor: AnyFlavor, sourceRoot: string): Promise<Record<string, boolean> | undefined> {
  try {
    const Implementation = (await flavor.implementation()) as new (init: unknown) => { capabilities?: Record<string, boolean> };
    const made = new Implementation({ id: "describe", name: "describe", flavor: flavor.name, config: {}, sourceRoot });
    return made.capabilities ? { ...made.capabilities } : undefined;
  } catch {
    return undefined;
  }
}

export async function deleteFlavor(type: string, name: string): Promise<void> {
  await withProject((project) => {
    const entry = new FlavorRegistry(project.config, project.paths.sourceRoot).find(type, name);
    if (entry && entry.origin !== "registered") {
      throw new ConflictError(`The ${label(type)} flavor '${name}' is ${entry.origin}, not registered by source path`, {
        hint: "Uninstall its package to remove it.",
      });
    }
    project.config.deleteFlavor(type, name);
    info(`Deleted ${label(type)} flavor '${name}'.`);
  });
}
