/**
 * `@stackyard/connector-aws`: the `aws` service connector flavor. This module
 * is light (zod and core only); the AWS SDK loads with the implementation.
 *
 * @packageDocumentation
 */
import { defineFlavor, type Flavor } from "@stackyard/core";
import { type AwsAutoConfigureOptions, autoConfigureAws } from "./auto-configure.js";
import { type AwsConnectorConfig, awsConnectorConfigSchema } from "./config.js";
import type { AwsServiceConnector } from "./implementation.js";

export { type AwsAutoConfigureOptions, autoConfigureAws } from "./auto-configure.js";
export * from "./config.js";

/** A connector flavor that can read its config from the environment (`--auto-configure`). */
export interface AutoConfigurableFlavor<C> {
  /** Config captured from the environment; validated. */
  autoConfigure(options?: AwsAutoConfigureOptions): Promise<C>;
}

/** The `aws` service connector: `stackyard service-connector register NAME --type aws ...`. */
export const awsConnectorFlavor: Flavor<typeof awsConnectorConfigSchema, AwsServiceConnector> & AutoConfigurableFlavor<AwsConnectorConfig> = {
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
