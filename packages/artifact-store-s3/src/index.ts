/**
 * `@stackyard/artifact-store-s3`: the `s3` artifact store flavor. This module
 * is light (zod and core only); the AWS SDK loads with the implementation.
 *
 * @packageDocumentation
 */
import { defineFlavor } from "@stackyard/core";
import { s3ArtifactStoreConfigSchema } from "./config.js";

export { parseS3Path, type S3ArtifactStoreConfig, type S3ArtifactStoreConfigInput, s3ArtifactStoreConfigSchema } from "./config.js";

/** The `s3` artifact store: `stackyard artifact-store register NAME -f s3 --path=s3://BUCKET [--connector aws_auto]`. */
export const s3ArtifactStoreFlavor = defineFlavor({
  name: "s3",
  type: "artifact_store",
  description: "Artifacts in Amazon S3 or an S3-compatible store, streamed with multipart uploads",
  configSchema: s3ArtifactStoreConfigSchema,
  remote: true,
  packageName: "@stackyard/artifact-store-s3",
  docsUrl: "https://github.com/stackyard/stackyard/tree/main/packages/artifact-store-s3#readme",
  connectorRequirements: { connectorType: "aws", resourceType: "s3-bucket" },
  implementation: async () => (await import("@stackyard/artifact-store-s3/implementation")).S3ArtifactStore,
});
