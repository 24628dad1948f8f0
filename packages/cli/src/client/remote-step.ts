import {
  ArtifactStoreRunStore,
  type BaseArtifactStore,
  ConfigError,
  formatIssues,
  type PipelineSnapshot,
  parseArtifactStoreDescription,
  pipelineSnapshotSchema,
  STEP_ENV,
} from "@stackyard/core";
import { makeComponent } from "../flavors/load-component.js";
import { loadFlavorFromSource } from "../flavors/load-flavor.js";

/**
 * Loads the artifact store a step process was given in its environment
 * (`STEP_ENV.artifactStore`): its flavor by source path, then the component,
 * made and validated as on the host (a bad config is a clear error, exit 2).
 */
export async function artifactStoreFromEnvironment(sourceRoot: string, value: string): Promise<BaseArtifactStore> {
  const description = parseArtifactStoreDescription(value);
  const flavor = await loadFlavorFromSource(description.flavor_source, sourceRoot, "artifact_store");
  return makeComponent<BaseArtifactStore>(flavor, { ...description, type: "artifact_store" }, { sourceRoot, source: description.flavor_source });
}

/** Reads and validates a snapshot from the artifact store. */
export async function readSnapshot(artifactStore: BaseArtifactStore, uri: string): Promise<PipelineSnapshot> {
  if (!(await artifactStore.exists(uri))) throw new ConfigError(`No snapshot at ${uri} in artifact store '${artifactStore.name}'`);
  const parsed = pipelineSnapshotSchema.safeParse(JSON.parse((await artifactStore.readFile(uri)).toString("utf8")));
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues, `snapshot ${uri}`));
  return parsed.data;
}

/**
 * The run store of a step that cannot reach the client's: JSON records in the
 * artifact store; only in its run's folder when the environment says so
 * (`STEP_ENV.records`: the client writes the shared records).
 */
export function remoteRunStore(artifactStore: BaseArtifactStore): ArtifactStoreRunStore {
  return new ArtifactStoreRunStore(artifactStore, { sharedIndex: process.env[STEP_ENV.records] !== "run" });
}
