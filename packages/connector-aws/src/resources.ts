import { ConfigError } from "@stackyard/core";

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

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

const ECR = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d)\.amazonaws\.com(?:\.cn)?$/;

/** Parses an ECR registry address `ACCOUNT.dkr.ecr.REGION.amazonaws.com`. */
export function parseEcrRegistry(uri: string, where: string): { account: string; region: string; address: string } {
  const address = uri.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
  const match = ECR.exec(address);
  if (!match) {
    throw new ConfigError(`${where}: '${uri}' is not an ECR registry address`, {
      hint: "Use ACCOUNT_ID.dkr.ecr.REGION.amazonaws.com, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com.",
    });
  }
  return { account: match[1]!, region: match[2]!, address };
}
