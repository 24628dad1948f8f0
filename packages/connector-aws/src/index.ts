/**
 * `@stackyard/connector-aws`: the `aws` service connector flavor. This module
 * is light (zod and core only); the AWS SDK loads with the implementation.
 *
 * @packageDocumentation
 */
import { type AutoConfigurable, defineFlavor, type Flavor } from "@stackyard/core";
import { type AwsAutoConfigureOptions, autoConfigureAws } from "./auto-configure.js";
import { type AwsConnectorConfig, awsConnectorConfigSchema } from "./config.js";
import type { AwsServiceConnector } from "./implementation.js";

export { type AwsAutoConfigureOptions, autoConfigureAws } from "./auto-configure.js";
export * from "./config.js";

/** The `aws` service connector: `stackyard service-connector register NAME --type aws ...`. */
export const awsConnectorFlavor: Flavor<typeof awsConnectorConfigSchema, AwsServiceConnector> & AutoConfigurable<AwsConnectorConfig, AwsAutoConfigureOptions> =
  {
    ...defineFlavor({
      name: "aws",
      type: "service_connector",
      description: "AWS credentials (implicit, secret-key, sts-token, iam-role, session-token) for S3, ECR and other AWS APIs",
      configSchema: awsConnectorConfigSchema,
      remote: true,
      packageName: "@stackyard/connector-aws",
      docsUrl: "https://github.com/stackyard/stackyard/tree/main/packages/connector-aws#readme",
      implementation: async () => (await import("@stackyard/connector-aws/implementation")).AwsServiceConnector,
    }),
    autoConfigure: autoConfigureAws,
  };
