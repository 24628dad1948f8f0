import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The folder `stackyard init` creates at the source root. */
export const STACKYARD_DIR = ".stackyard";

/** Where a project's store lives. */
export interface ProjectPaths {
  /** The folder holding `.stackyard/`: source paths are relative to it. */
  sourceRoot: string;
  /** The SQLite database (overridable with STACKYARD_STORE). */
  database: string;
  /** Secret config values, mode 0600, next to the database. */
  secrets: string;
  /** Default root of the local artifact store. */
  artifacts: string;
}

/** Walks up from `from` to the nearest folder with a `.stackyard/`. */
export function findSourceRoot(from: string = process.cwd()): string | undefined {
  if (process.env.STACKYARD_SOURCE_ROOT) return resolve(process.env.STACKYARD_SOURCE_ROOT);
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, STACKYARD_DIR))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Paths of a project whose source root is `sourceRoot`. */
export function projectPaths(sourceRoot: string): ProjectPaths {
  const database = process.env.STACKYARD_STORE ? resolve(process.env.STACKYARD_STORE) : join(sourceRoot, STACKYARD_DIR, "stackyard.db");
  return {
    sourceRoot,
    database,
    secrets: join(dirname(database), "secrets.json"),
    artifacts: join(sourceRoot, STACKYARD_DIR, "artifacts"),
  };
}
