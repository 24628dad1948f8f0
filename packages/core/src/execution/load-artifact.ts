import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { NotFoundError, StackyardError } from "../errors/errors.js";
import { createArtifactReader, loadChecked } from "../materializers/artifact-io.js";
import { type MaterializerImporter, resolveMaterializer } from "../materializers/registry.js";
import type { ArtifactRecord, ArtifactSelector, RunStore } from "../store/run-store.js";

/** Options of {@link loadArtifactValue}. */
export interface LoadArtifactValueOptions {
  /** Folder that materializer source paths are relative to (default: the current folder). */
  sourceRoot?: string;
  /** Loads custom materializer modules (the CLI passes its TypeScript-aware loader). */
  importModule?: MaterializerImporter;
}

/**
 * Loads the value of one artifact version from the artifact store that holds
 * it, with the materializer that saved it. The bytes are checked against the
 * recorded size and sha256 as they are read.
 *
 * @throws NotFoundError naming the version and its URI when its files are gone.
 * @throws StackyardError when the materializer cannot load it or the bytes do not match the record.
 */
export async function loadArtifactValue<T = unknown>(
  artifact: ArtifactRecord,
  artifactStore: BaseArtifactStore,
  options: LoadArtifactValueOptions = {},
): Promise<T> {
  const label =
    artifact.name === undefined ? `Output '${artifact.output}' of step '${artifact.stepId}'` : `Artifact '${artifact.name}' version ${artifact.version}`;
  let present: boolean;
  try {
    present = await artifactStore.exists(artifact.uri);
  } catch (error) {
    throw new NotFoundError(`${label} is at ${artifact.uri}, which artifact store '${artifactStore.name}' cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!present) {
    throw new NotFoundError(`${label} is recorded at ${artifact.uri}, but its files are gone from artifact store '${artifactStore.name}'`, {
      hint: "Its run's outputs were removed from the artifact store; run the pipeline again to make a new version.",
    });
  }
  const materializer = await resolveMaterializer(artifact.materializer, options);
  try {
    return (await loadChecked(materializer, createArtifactReader(artifactStore, artifact.uri, artifact))) as T;
  } catch (error) {
    throw new StackyardError(
      `${label} could not be loaded from ${artifact.uri} with materializer '${artifact.materializer}': ${(error as Error).message ?? String(error)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Finds a version of an artifact name: a version number, the newest with a
 * tag, or the newest.
 *
 * @throws NotFoundError naming what was asked for, with a hint to list what exists.
 */
export async function findArtifactOrThrow(store: RunStore, name: string, which: ArtifactSelector = {}): Promise<ArtifactRecord> {
  const found = await store.findArtifactVersion(name, which);
  if (found) return found;
  const exists = (await store.listArtifactVersions(name, { limit: 1 })).length > 0;
  const what =
    which.version !== undefined
      ? `version ${which.version} of artifact '${name}'`
      : which.tag !== undefined
        ? `version of artifact '${name}' tagged '${which.tag}'`
        : `artifact '${name}'`;
  throw new NotFoundError(`No ${what} in this store`, {
    hint: exists ? `See its versions with \`stackyard artifact versions ${name}\`.` : "See the artifact names with `stackyard artifact list`.",
  });
}
