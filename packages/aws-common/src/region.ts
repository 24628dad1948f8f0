import { z } from "zod";

/**
 * An AWS region name (`eu-west-1`, `us-gov-west-1`, `us-isob-east-1`) as the
 * source of a regular expression without anchors, for patterns that hold a
 * region among other parts (an ECR address).
 */
export const AWS_REGION_PATTERN = "[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\\d";

const REGION = new RegExp(`^${AWS_REGION_PATTERN}$`);

/** The `region` key of an AWS component's config: checked for shape only, so new regions need no release. */
export const awsRegionSchema: z.ZodString = z.string().regex(REGION, "expected an AWS region such as eu-west-1");

/** The region the environment names: `AWS_REGION`, else `AWS_DEFAULT_REGION`. */
export function environmentRegion(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
}

/**
 * The region an AWS client uses: the first of `preferred` that is set (the
 * component's config, then its connector's), else the environment's, else
 * `fallback` (a region read from the resource itself). Undefined when none
 * is known; the caller says which setting is missing.
 */
export function resolveRegion(preferred: readonly (string | undefined)[], fallback?: string): string | undefined {
  return preferred.find((region) => region !== undefined) ?? environmentRegion() ?? fallback;
}
