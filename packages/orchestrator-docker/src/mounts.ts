import { dirname, isAbsolute, join, posix, relative, resolve } from "node:path";
import { ConfigError } from "@stackyard/core";

/** What decides where a step container sees the run's artifact store. */
export interface ArtifactMountInput {
  /** The source root on the host (holds `.stackyard/`). */
  sourceRoot: string;
  /** Where the image has the source root (its `STACKYARD_SOURCE_ROOT`). */
  containerSourceRoot: string;
  /** Root of the artifact store when it is a local folder (absolute host path), else undefined. */
  localArtifactRoot?: string | undefined;
  /** The artifact store's `path` as configured (may be relative to the source root). */
  configuredArtifactPath?: string | undefined;
  /** The client's SQLite store on the host, when the run has one. */
  database?: string | undefined;
  /** The artifact store's name, for messages. */
  artifactStoreName: string;
  /** The run: its folder (`runs/<run>`) is the one place the step may write. */
  runId: string;
}

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * The bind mounts a step container gets from the project: a local artifact
 * store's root, read-only (its inputs, the snapshot, the records the client
 * shares), with its run's folder `runs/<run>` read-write over it (its
 * outputs, log and records: the one place it may write), at its host path, because artifact URIs and the root the step
 * process is given are absolute host paths, and also where the image has the
 * source root when the store's path is configured relative to it. Nothing
 * else of `.stackyard/` (the store, the secrets file) is mounted; an artifact
 * root that holds them is refused, since the step could then rewrite them.
 * No mount for an artifact store that is not a local folder.
 *
 * @throws ConfigError when the artifact root holds the project's `.stackyard/` folder or the store's.
 */
export function artifactMounts(input: ArtifactMountInput): string[] {
  const root = input.localArtifactRoot;
  if (!root) return [];
  const held = [join(input.sourceRoot, ".stackyard"), ...(input.database ? [dirname(resolve(input.database))] : [])].find((dir) => inside(dir, root));
  if (held) {
    throw new ConfigError(
      `Artifact store '${input.artifactStoreName}' is rooted at ${root}, which holds ${held}: docker steps get the artifact store's folder read-write, so they could rewrite the project's records and read its secrets`,
      {
        hint: `Give the artifact store a folder of its own (the default is .stackyard/artifacts): \`stackyard artifact-store update ${input.artifactStoreName} --path=PATH\`.`,
      },
    );
  }
  const runFolder = posix.join("runs", input.runId);
  const binds = new Map<string, string>();
  const mount = (at: string) => {
    if (binds.has(at)) return;
    binds.set(at, `${root}:${at}:ro`);
    binds.set(posix.join(at, runFolder), `${join(root, runFolder)}:${posix.join(at, runFolder)}`);
  };
  mount(root);
  const configured = input.configuredArtifactPath;
  if (configured && !isAbsolute(configured) && !configured.includes("://")) mount(posix.join(input.containerSourceRoot, configured));
  return [...binds.values()];
}

/** A user volume `host:container[:ro]` with a relative host path resolved against the source root. */
export function resolveVolume(spec: string, sourceRoot: string): string {
  const [host, ...rest] = spec.split(":");
  return [resolve(sourceRoot, host!), ...rest].join(":");
}
