import { openProject } from "../../store/open-project.js";
import { printDetails, printJson } from "../output.js";

/** `stackyard status`: where the project is and what the active stack holds. */
export async function status(opts: { json?: boolean }): Promise<void> {
  const project = openProject();
  try {
    const { config } = project;
    const active = config.activeStackName();
    const stack = config.findStack(active);
    const components = Object.fromEntries(
      Object.entries(stack?.components ?? {}).map(([type, id]) => {
        const row = config.getComponentById(id);
        return [type, row ? `${row.name} (${row.flavor})` : "(missing)"];
      }),
    );
    const details = {
      source_root: project.paths.sourceRoot,
      store: project.paths.database,
      active_stack: active,
      components,
    };
    if (opts.json) printJson(details);
    else printDetails(details);
  } finally {
    project.close();
  }
}
