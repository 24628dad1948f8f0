import { type ComponentType, componentTypeLabel } from "@stackyard/core/component-type";
import type { Project } from "../../store/open-project.js";
import { printDetails, printJson, printTable } from "../output.js";
import { withProject } from "../with-project.js";

// Read-only stack commands import only core's dependency-free entries at run
// time (not zod), so `stack list` starts as fast as the store allows.
const label = (type: string) => componentTypeLabel(type as ComponentType);

function describeComponents(project: Project, components: Record<string, string>): Record<string, { name: string; flavor: string; id: string }> {
  return Object.fromEntries(
    Object.entries(components).map(([type, id]) => {
      const row = project.config.getComponentById(id);
      return [type, { name: row?.name ?? "(missing)", flavor: row?.flavor ?? "", id }];
    }),
  );
}

export async function listStacks(opts: { json?: boolean }): Promise<void> {
  await withProject((project) => {
    const active = project.config.activeStackName();
    const rows = project.config.listStacks().map((s) => {
      const parts = describeComponents(project, s.components);
      return {
        active: s.name === active,
        name: s.name,
        orchestrator: parts.orchestrator?.name,
        artifact_store: parts.artifact_store?.name,
        container_registry: parts.container_registry?.name,
        id: s.id,
      };
    });
    if (opts.json) printJson(rows);
    else
      printTable(
        rows.map((r) => ({ ...r, active: r.active ? "*" : "" })),
        ["active", "name", "orchestrator", "artifact_store", "container_registry"],
        "No stacks registered.",
      );
  });
}

export async function describeStack(name: string | undefined, opts: { json?: boolean }): Promise<void> {
  await withProject((project) => {
    const active = project.config.activeStackName();
    const stack = project.config.getStack(name ?? active);
    const components = describeComponents(project, stack.components);
    const details = { name: stack.name, active: stack.name === active, id: stack.id, components, created: stack.created, updated: stack.updated };
    if (opts.json) printJson(details);
    else
      printDetails({
        ...details,
        components: Object.fromEntries(Object.entries(components).map(([type, c]) => [label(type), `${c.name} (${c.flavor})`])),
      });
  });
}
