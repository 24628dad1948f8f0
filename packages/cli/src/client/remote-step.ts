import {
  ARTIFACT_STORE_ENV,
  ArtifactStoreRunStore,
  type BaseArtifactStore,
  ConfigError,
  formatIssues,
  type PipelineSnapshot,
  pipelineSnapshotSchema,
} from "@stackyard/core";
import { z } from "zod";
import { loadFlavorFromSource } from "../flavors/load-flavor.js";

export { ARTIFACT_STORE_ENV };

const componentSchema = z.object({
  id: z.string(),
  name: z.string(),
  flavor: z.string(),
  flavor_source: z.string(),
  config: z.record(z.string(), z.unknown()),
});

/** Loads the artifact store described by {@link ARTIFACT_STORE_ENV}. */
export async function artifactStoreFromEnvironment(sourceRoot: string, value: string): Promise<BaseArtifactStore> {
  let parsed: z.infer<typeof componentSchema>;
  try {
    parsed = componentSchema.parse(JSON.parse(value));
  } catch (error) {
    throw new ConfigError(`${ARTIFACT_STORE_ENV} is not a valid artifact store description: ${(error as Error).message}`);
  }
  const flavor = await loadFlavorFromSource(parsed.flavor_source, sourceRoot, "artifact_store");
  const Implementation = await flavor.implementation();
  const config = flavor.configSchema.parse(parsed.config);
  return new Implementation({ id: parsed.id, name: parsed.name, flavor: parsed.flavor, config, sourceRoot }) as BaseArtifactStore;
}

/** Reads and validates a snapshot from the artifact store. */
export async function readSnapshot(artifactStore: BaseArtifactStore, uri: string): Promise<PipelineSnapshot> {
  if (!(await artifactStore.exists(uri))) throw new ConfigError(`No snapshot at ${uri} in artifact store '${artifactStore.name}'`);
  const parsed = pipelineSnapshotSchema.safeParse(JSON.parse((await artifactStore.readFile(uri)).toString("utf8")));
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues, `snapshot ${uri}`));
  return parsed.data;
}

/** The run store of a step that cannot reach the client's: JSON records in the artifact store. */
export function remoteRunStore(artifactStore: BaseArtifactStore): ArtifactStoreRunStore {
  return new ArtifactStoreRunStore(artifactStore);
}
