/**
 * `@stackyard/container-registry-ecr`: the `aws` container registry flavor
 * (Amazon ECR). This module is light (zod and core only); the AWS SDK loads
 * with the implementation.
 *
 * @packageDocumentation
 */
import { defineFlavor } from "@stackyard/core";
import { ecrContainerRegistryConfigSchema } from "./config.js";

export { type EcrContainerRegistryConfig, type EcrContainerRegistryConfigInput, ecrContainerRegistryConfigSchema, parseEcrUri } from "./config.js";

/** The `aws` container registry: `stackyard container-registry register NAME -f aws --uri=ACCOUNT.dkr.ecr.REGION.amazonaws.com [--connector aws_auto]`. */
export const ecrContainerRegistryFlavor = defineFlavor({
  name: "aws",
  type: "container_registry",
  description: "Amazon ECR: token auth, repositories created on demand",
  configSchema: ecrContainerRegistryConfigSchema,
  remote: true,
  packageName: "@stackyard/container-registry-ecr",
  docsUrl: "https://github.com/stackyard/stackyard/tree/main/packages/container-registry-ecr#readme",
  connectorRequirements: { connectorType: "aws", resourceType: "docker-registry" },
  implementation: async () => (await import("@stackyard/container-registry-ecr/implementation")).EcrContainerRegistry,
});
