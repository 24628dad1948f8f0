import { matchEcrAddress, S3_BUCKET_PATTERN } from "@stackyard/aws-common";
import { ConfigError } from "@stackyard/core";

const BUCKET = new RegExp(`^${S3_BUCKET_PATTERN}$`);

/** Parses `s3://bucket[/prefix]` or a bare bucket name. */
export function parseS3Resource(resourceId: string, where: string): { bucket: string; prefix: string } {
  const match = /^(?:s3:\/\/)?([^/]+)(?:\/(.*))?$/.exec(resourceId);
  const bucket = match?.[1] ?? "";
  if (!BUCKET.test(bucket)) {
    throw new ConfigError(`${where}: '${resourceId}' is not an S3 bucket`, {
      hint: "Use s3://BUCKET or s3://BUCKET/PREFIX with a valid bucket name (3-63 lowercase letters, digits, '.' and '-').",
    });
  }
  return { bucket, prefix: (match?.[2] ?? "").replace(/\/+$/, "") };
}

/** Parses an ECR registry address `ACCOUNT.dkr.ecr.REGION.amazonaws.com`. */
export function parseEcrRegistry(uri: string, where: string): { account: string; region: string; address: string } {
  const address = uri.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
  const match = matchEcrAddress(address);
  if (!match) {
    throw new ConfigError(`${where}: '${uri}' is not an ECR registry address`, {
      hint: "Use ACCOUNT_ID.dkr.ecr.REGION.amazonaws.com, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com.",
    });
  }
  return { ...match, address };
}
