import { StoreError } from "@stackyard/core/errors";
import { ConfigStore } from "./config-store.js";
import { type Database, openDatabase } from "./database.js";
import { findSourceRoot, type ProjectPaths, projectPaths } from "./project.js";

/** An open project: its paths, store and config. */
export interface Project {
  paths: ProjectPaths;
  db: Database;
  config: ConfigStore;
  close(): void;
}

/** Opens the project around the current folder, or fails with how to make one. */
export function openProject(from: string = process.cwd()): Project {
  const sourceRoot = findSourceRoot(from);
  if (!sourceRoot) {
    throw new StoreError(`No Stackyard project in ${from} or any folder above it`, { hint: "Run `stackyard init` in your project's root folder." });
  }
  return openProjectAt(sourceRoot, false);
}

/** Opens (or with `create`, makes) the store of the project at `sourceRoot`. */
export function openProjectAt(sourceRoot: string, create: boolean): Project {
  const paths = projectPaths(sourceRoot);
  const db = openDatabase(paths.database, { create });
  return { paths, db, config: new ConfigStore(db, paths.secrets), close: () => db.close() };
}
