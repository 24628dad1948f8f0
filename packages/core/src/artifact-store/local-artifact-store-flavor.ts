import { defineFlavor } from "../flavor/flavor.js";
import { baseArtifactStoreConfigSchema } from "./base-artifact-store.js";

/** Config of the `local` artifact store: `path`, a folder (relative to the source root when relative). */
export const localArtifactStoreConfigSchema = baseArtifactStoreConfigSchema.strict();

/**
 * The `local` artifact store flavor: files under a local folder (by default
 * `.stackyard/artifacts`), with atomic writes. Part of core: it has no
 * dependencies beyond Node.
 */
export const localArtifactStoreFlavor = defineFlavor({
  name: "local",
  type: "artifact_store",
  description: "Artifacts as files in a local folder",
  configSchema: localArtifactStoreConfigSchema,
  remote: false,
  packageName: "@stackyard/core",
  implementation: async () => (await import("./local-artifact-store.js")).LocalArtifactStore,
});
