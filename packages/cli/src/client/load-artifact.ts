import { type ArtifactRecord, type BaseArtifactStore, findArtifactOrThrow, loadArtifactValue, NotFoundError } from "@stackyard/core";
import { importModuleFor } from "../source/load-source.js";
import { openProject, type Project } from "../store/open-project.js";
import { SqliteRunStore } from "../store/sqlite-run-store.js";
import { loadSnapshotComponent, loadStack } from "./load-stack.js";

/** Options of {@link loadArtifact}. */
export interface LoadArtifactOptions {
  /** This version number (default: the newest). */
  version?: number;
  /** The newest version carrying this tag (`production`); `latest` is the newest. */
  tag?: string;
  /** Folder to find the project from (default: the current folder). */
  cwd?: string;
}

/**
 * Loads a version of a named artifact from the project's store: the newest,
 * a version number, or the newest with a tag. The value is read from the
 * artifact store of the run that made it (with that store's credentials)
 * and loaded with the materializer that saved it; its bytes are checked
 * against the recorded sha256.
 *
 * @example
 * ```ts
 * import { loadArtifact } from "stackyard";
 * const model = await loadArtifact<IrisModel>("iris_model", { tag: "production" });
 * ```
 *
 * @throws NotFoundError when no such version exists, or its files are gone (naming the name and URI).
 */
export async function loadArtifact<T = unknown>(name: string, options: LoadArtifactOptions = {}): Promise<T> {
  const project = openProject(options.cwd ?? process.cwd());
  try {
    const store = new SqliteRunStore(project.db);
    const artifact = await findArtifactOrThrow(store, name, { version: options.version, tag: options.tag });
    return await loadArtifactInProject<T>(project, store, artifact);
  } finally {
    project.close();
  }
}

/** The file of an artifact version that its previews and `artifact show` read, in its artifact store. */
export interface ArtifactMainFile {
  /** The artifact's folder (a key of the store). */
  folder: string;
  /** The file's name in it, e.g. `data.bin`. */
  file: string;
  /** `folder/file`. */
  path: string;
  size: number;
  /** How many entries the folder holds: 1 for the built-in materializers. */
  entries: number;
}

/**
 * The file an artifact version's value lives in: the built-in materializers'
 * `data.*` file, else the first file a custom materializer wrote. Undefined
 * when the artifact's folder is gone or holds no file.
 */
export async function artifactMainFile(artifactStore: BaseArtifactStore, artifact: ArtifactRecord): Promise<ArtifactMainFile | undefined> {
  const folder = artifactStore.keyOf(artifact.uri);
  if (!folder || !(await artifactStore.exists(folder))) return undefined;
  const names = await artifactStore.list(folder);
  const file = ["data.json", "data.txt", "data.bin", "data"].find((n) => names.includes(n)) ?? names.find((n) => !n.endsWith("/"));
  if (!file) return undefined;
  const path = `${folder}/${file}`;
  const stat = await artifactStore.stat(path);
  if (stat.isDirectory) return undefined;
  return { folder, file, path, size: stat.size, entries: names.length };
}

/** The first `maxBytes` of a file in an artifact store. */
export async function readHead(artifactStore: BaseArtifactStore, path: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let read = 0;
  const stream = await artifactStore.createReadStream(path);
  for await (const chunk of stream) {
    const bytes = Buffer.from(chunk as Uint8Array);
    chunks.push(bytes);
    read += bytes.length;
    if (read >= maxBytes) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, maxBytes);
}

/** Loads one recorded artifact version's value in an open project; `stack` reads it through that stack's artifact store instead of its run's. */
export async function loadArtifactInProject<T = unknown>(project: Project, store: SqliteRunStore, artifact: ArtifactRecord, stack?: string): Promise<T> {
  return loadArtifactValue<T>(artifact, await artifactStoreFor(project, store, artifact, stack), {
    sourceRoot: project.paths.sourceRoot,
    importModule: importModuleFor(project.paths.sourceRoot),
  });
}

/** The artifact store the version's run wrote to, or the named stack's. */
export async function artifactStoreFor(project: Project, store: SqliteRunStore, artifact: ArtifactRecord, stack?: string): Promise<BaseArtifactStore> {
  if (stack !== undefined) return (await loadStack(project, stack)).stack.artifactStore;
  const run = await store.getRun(artifact.runId);
  const snapshot = run && (await store.getSnapshot(run.snapshotId));
  if (!snapshot) {
    throw new NotFoundError(`The run that made ${artifact.name ?? artifact.id} (${artifact.runId}) is no longer recorded, so its artifact store is unknown`, {
      hint: "Read it through a stack's artifact store: `stackyard artifact show NAME --stack STACK`.",
    });
  }
  return loadSnapshotComponent<BaseArtifactStore>(project, snapshot, "artifact_store");
}
