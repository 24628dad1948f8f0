import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { openProjectAt } from "../../store/open-project.js";
import { projectPaths, STACKYARD_DIR } from "../../store/project.js";
import { info } from "../output.js";

/**
 * `stackyard init`: makes `.stackyard/` with the store and a `default` stack
 * (local orchestrator, local artifact store under .stackyard/artifacts).
 */
export async function init(opts: { path: string; quietIfExists?: boolean }): Promise<void> {
  const sourceRoot = resolve(opts.path);
  const existed = existsSync(join(sourceRoot, STACKYARD_DIR)) && existsSync(projectPaths(sourceRoot).database);
  const project = openProjectAt(sourceRoot, true);
  try {
    const { config } = project;
    if (!config.findStack("default")) {
      project.db.transaction(() => {
        const orchestrator =
          config.findComponent("orchestrator", "default") ??
          config.addComponent({ type: "orchestrator", name: "default", flavor: "local", config: {}, secrets: {} });
        const store =
          config.findComponent("artifact_store", "default") ??
          config.addComponent({ type: "artifact_store", name: "default", flavor: "local", config: { path: project.paths.artifacts }, secrets: {} });
        config.addStack("default", { orchestrator: orchestrator.id, artifact_store: store.id });
        if (!config.getSetting("active_stack")) config.setSetting("active_stack", "default");
      })();
    }
    if (existed) {
      if (!opts.quietIfExists) info(`Already initialised: ${sourceRoot} (active stack '${config.activeStackName()}')`);
    } else {
      info(
        `Initialised Stackyard in ${sourceRoot}\n  store: ${project.paths.database}\n  active stack: default (orchestrator 'default' local, artifact store 'default' local)`,
      );
    }
  } finally {
    project.close();
  }
}
