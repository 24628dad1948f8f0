import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { StoreError } from "@stackyard/core/errors";
import { openProjectAt } from "../../store/open-project.js";
import { projectPaths, STACKYARD_DIR } from "../../store/project.js";
import { info } from "../output.js";

/**
 * `stackyard init`: makes `.stackyard/` with the store and a `default` stack
 * (local orchestrator, local artifact store under .stackyard/artifacts).
 */
export async function init(opts: { path: string; quietIfExists?: boolean }): Promise<void> {
  const sourceRoot = resolve(opts.path);
  makeFolder(sourceRoot);
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

/**
 * Makes the folder to initialise (and missing parents) one level at a time,
 * so a path that cannot be a folder (a file on the way, /proc, no
 * permission) is one clear error instead of a recursive mkdir that fails
 * with a stack trace or never returns.
 */
function makeFolder(dir: string): void {
  const missing: string[] = [];
  let existing = dir;
  while (!existsSync(existing)) {
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const hint = "Give --path a folder you can write to (it is made if missing).";
  if (!statSync(existing).isDirectory()) {
    throw new StoreError(`Cannot initialise ${dir}: ${existing} is a file, not a folder`, { hint: hint });
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      throw new StoreError(
        `Cannot initialise ${dir}: cannot make the folder ${folder} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        { hint: hint },
      );
    }
  }
}
