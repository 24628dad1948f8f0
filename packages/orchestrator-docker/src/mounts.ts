import { isAbsolute, join, posix, relative, resolve } from "node:path";

/** What decides where a step container must see the project's store and artifacts. */
export interface ProjectMountInput {
  /** The source root on the host (holds `.stackyard/`). */
  sourceRoot: string;
  /** Where the image has the source root (its `STACKYARD_SOURCE_ROOT`). */
  containerSourceRoot: string;
  /** The SQLite store on the host (`STACKYARD_STORE`). */
  database: string;
  /** Root of the artifact store when it is a local folder (absolute host path), else undefined. */
  localArtifactRoot?: string | undefined;
  /** The artifact store's `path` as configured (may be relative to the source root). */
  configuredArtifactPath?: string | undefined;
}

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Bind mounts that let a step process in a container open the same store and
 * artifacts as the client. Host paths are mounted at the same path in the
 * container, because the store and the snapshot record absolute host paths
 * (the local artifact store's root, artifact URIs, `STACKYARD_STORE`). The
 * `.stackyard` folder is also mounted where the image has the source root, so
 * paths relative to the source root resolve to the same files.
 */
export function projectMounts(input: ProjectMountInput): string[] {
  const binds = new Map<string, string>();
  const add = (host: string, container: string): void => {
    if (!binds.has(container)) binds.set(container, `${host}:${container}`);
  };
  const stackyardDir = join(input.sourceRoot, ".stackyard");
  add(stackyardDir, stackyardDir);
  add(stackyardDir, posix.join(input.containerSourceRoot, ".stackyard"));
  const databaseDir = resolve(input.database, "..");
  if (!inside(databaseDir, stackyardDir)) add(databaseDir, databaseDir);
  const root = input.localArtifactRoot;
  if (root) {
    if (!inside(root, stackyardDir)) add(root, root);
    const configured = input.configuredArtifactPath;
    if (configured && !isAbsolute(configured) && !configured.includes("://")) {
      const inContainer = posix.join(input.containerSourceRoot, configured);
      if (!inside(inContainer, posix.join(input.containerSourceRoot, ".stackyard"))) add(root, inContainer);
    }
  }
  return [...binds.values()];
}

/** A user volume `host:container[:ro]` with a relative host path resolved against the source root. */
export function resolveVolume(spec: string, sourceRoot: string): string {
  const [host, ...rest] = spec.split(":");
  return [resolve(sourceRoot, host!), ...rest].join(":");
}
