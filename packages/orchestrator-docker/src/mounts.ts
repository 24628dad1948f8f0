import { closeSync, existsSync, openSync, writeSync } from "node:fs";
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
  /**
   * A host file holding no secrets (`{}`), mounted read-only over every place
   * the container would otherwise see the project's `secrets.json`.
   */
  secretsMask?: string | undefined;
}

/** The name of the project's secrets file, next to its database. */
const SECRETS_FILE = "secrets.json";
/** The file mounted over it in step containers: an empty set of secrets. */
const SECRETS_MASK = "step-secrets.json";

/**
 * Makes `<store folder>/step-secrets.json` (`{}`) and, when there is none yet,
 * an empty `secrets.json` (so the engine never creates the mount point itself,
 * as root), both 0600. Returns the mask's path.
 */
export function prepareSecretsMask(storeFolder: string): string {
  for (const name of [SECRETS_FILE, SECRETS_MASK]) {
    const file = join(storeFolder, name);
    if (existsSync(file)) continue;
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, "{}");
      closeSync(fd);
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
  }
  return join(storeFolder, SECRETS_MASK);
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
 * paths relative to the source root resolve to the same files. Wherever the
 * container would see the project's `secrets.json`, `secretsMask` (no
 * secrets) is mounted over it read-only: a step never reads a connector's or
 * a component's secrets.
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
  if (input.secretsMask) {
    // Only over files that exist: a missing mount point would be made by the engine, as root, in the project.
    const projectSecrets = existsSync(join(stackyardDir, SECRETS_FILE))
      ? [join(stackyardDir, SECRETS_FILE), posix.join(input.containerSourceRoot, ".stackyard", SECRETS_FILE)]
      : [];
    const masked = [...projectSecrets, join(databaseDir, SECRETS_FILE)];
    for (const target of masked) if (!binds.has(target)) binds.set(target, `${input.secretsMask}:${target}:ro`);
  }
  return [...binds.values()];
}

/** A user volume `host:container[:ro]` with a relative host path resolved against the source root. */
export function resolveVolume(spec: string, sourceRoot: string): string {
  const [host, ...rest] = spec.split(":");
  return [resolve(sourceRoot, host!), ...rest].join(":");
}
