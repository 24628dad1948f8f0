import { awsRegionSchema, matchEcrAddress } from "@stackyard/aws-common";
import { baseContainerRegistryConfigSchema } from "@stackyard/core";
import { z } from "zod";

/** Splits an ECR registry address into account and region, or returns undefined. */
export function parseEcrUri(uri: string): { account: string; region: string; address: string } | undefined {
  const address = uri.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const match = matchEcrAddress(address);
  return match ? { ...match, address } : undefined;
}

/** Config of the `aws` (ECR) container registry. */
export const ecrContainerRegistryConfigSchema = baseContainerRegistryConfigSchema
  .extend({
    /** The registry: `ACCOUNT_ID.dkr.ecr.REGION.amazonaws.com`. */
    uri: z.string().refine((uri) => parseEcrUri(uri) !== undefined, {
      message: "expected an ECR registry address ACCOUNT_ID.dkr.ecr.REGION.amazonaws.com, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    }),
    /** Region of the registry; derived from uri, and must match it when given. */
    region: awsRegionSchema.optional(),
    /** ECR API endpoint, for emulators, e.g. http://127.0.0.1:5000. */
    endpoint_url: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * Where images are actually pushed, when not the ECR address itself
     * (a pull-through proxy, or a local registry in tests, e.g. 127.0.0.1:5001).
     */
    registry_address: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?$/i, "expected a registry address HOST[:PORT] without scheme, e.g. 127.0.0.1:5001")
      .optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const parsed = parseEcrUri(config.uri);
    if (parsed && config.region && config.region !== parsed.region) {
      ctx.addIssue({
        code: "custom",
        path: ["region"],
        message: `region ${config.region} does not match the registry's region ${parsed.region} (from uri); drop --region or fix the uri`,
      });
    }
  });

export type EcrContainerRegistryConfig = z.output<typeof ecrContainerRegistryConfigSchema>;
export type EcrContainerRegistryConfigInput = z.input<typeof ecrContainerRegistryConfigSchema>;
