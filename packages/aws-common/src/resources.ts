import { AWS_REGION_PATTERN } from "./region.js";

/** An S3 bucket name (3-63 lowercase letters, digits, '.' and '-'), as the source of a regular expression without anchors. */
export const S3_BUCKET_PATTERN = "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]";

const ECR_ADDRESS = new RegExp(`^(\\d{12})\\.dkr\\.ecr(?:-fips)?\\.(${AWS_REGION_PATTERN})\\.amazonaws\\.com(?:\\.cn)?$`);

/**
 * Account and region of an ECR registry address
 * `ACCOUNT.dkr.ecr.REGION.amazonaws.com` (no scheme, no trailing slash), or
 * undefined when it is not one.
 */
export function matchEcrAddress(address: string): { account: string; region: string } | undefined {
  const match = ECR_ADDRESS.exec(address);
  return match ? { account: match[1]!, region: match[2]! } : undefined;
}
