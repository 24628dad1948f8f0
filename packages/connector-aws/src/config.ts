import { awsRegionSchema } from "@stackyard/aws-common";
import { secretString } from "@stackyard/core";
import { z } from "zod";

/** How an AWS connector gets its credentials. */
export const AWS_AUTH_METHODS = ["implicit", "secret-key", "sts-token", "iam-role", "session-token"] as const;
export type AwsAuthMethod = (typeof AWS_AUTH_METHODS)[number];

/** Resource types an AWS connector hands out client configurations for. */
export const AWS_RESOURCE_TYPES = ["aws-generic", "s3-bucket", "docker-registry"] as const;
export type AwsResourceType = (typeof AWS_RESOURCE_TYPES)[number];

/** Keys each auth method cannot do without. */
const REQUIRED: Record<AwsAuthMethod, readonly string[]> = {
  implicit: [],
  "secret-key": ["region", "access_key_id", "secret_access_key"],
  "sts-token": ["region", "access_key_id", "secret_access_key", "session_token"],
  "session-token": ["region", "access_key_id", "secret_access_key"],
  "iam-role": ["region", "role_arn"],
};

/** Keys that make no sense with a method (they would be silently ignored). */
const FORBIDDEN: Record<AwsAuthMethod, readonly string[]> = {
  implicit: ["access_key_id", "secret_access_key", "session_token", "role_arn", "role_session_name", "external_id"],
  "secret-key": ["session_token", "role_arn", "role_session_name", "external_id", "duration_seconds"],
  "sts-token": ["role_arn", "role_session_name", "external_id", "duration_seconds"],
  "session-token": ["session_token", "role_arn", "role_session_name", "external_id"],
  "iam-role": ["session_token"],
};

const FIX: Record<AwsAuthMethod, string> = {
  implicit: "credentials come from the environment (AWS_* variables, ~/.aws profiles, instance roles)",
  "secret-key": "pass --region, --access_key_id and --secret_access_key",
  "sts-token": "pass --region, --access_key_id, --secret_access_key and --session_token of a temporary STS token",
  "session-token": "pass --region, --access_key_id and --secret_access_key; the connector asks STS for short-lived session tokens",
  "iam-role":
    "pass --region and --role_arn (and --access_key_id/--secret_access_key of the identity that assumes the role, or leave them out to use the environment's)",
};

/**
 * Config of the `aws` service connector. Secret fields (`secret_access_key`,
 * `session_token`) are marked with `secretString()`, so stores keep them apart
 * and every output masks them.
 */
export const awsConnectorConfigSchema = z
  .strictObject({
    /** How credentials are obtained. */
    auth_method: z.enum(AWS_AUTH_METHODS).default("implicit"),
    /** AWS region, e.g. `eu-west-1`. Required except for `implicit`, which falls back to AWS_REGION. */
    region: awsRegionSchema.optional(),
    /** Profile of ~/.aws/config and ~/.aws/credentials (implicit; source identity for iam-role). */
    profile: z.string().min(1).optional(),
    /** Endpoint for every AWS API, for emulators and S3-compatible stores, e.g. http://127.0.0.1:5000. */
    endpoint_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Access key id. Kept with the secrets, as it names the identity the secret key belongs to. */
    access_key_id: secretString((s) => s.min(16)).optional(),
    /** Secret access key. */
    secret_access_key: secretString().optional(),
    /** Session token of temporary credentials (`sts-token`). */
    session_token: secretString().optional(),
    /** Role to assume (`iam-role`). */
    role_arn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "expected a role ARN such as arn:aws:iam::123456789012:role/name")
      .optional(),
    /** Session name recorded in CloudTrail for assumed roles; default `stackyard`. */
    role_session_name: z
      .string()
      .regex(/^[\w+=,.@-]{2,64}$/)
      .optional(),
    /** Lifetime of generated credentials (`iam-role`, `session-token`), 900 to 43200 seconds; default 3600. */
    duration_seconds: z.number().int().min(900).max(43200).optional(),
    /** External id the role's trust policy asks for (`iam-role`). */
    external_id: z.string().min(2).optional(),
  })
  .superRefine((config, ctx) => {
    const method = config.auth_method;
    const values = config as Record<string, unknown>;
    for (const key of REQUIRED[method]) {
      if (values[key] === undefined) {
        ctx.addIssue({ code: "custom", path: [key], message: `required by auth method '${method}': ${FIX[method]}` });
      }
    }
    for (const key of FORBIDDEN[method]) {
      if (values[key] !== undefined) {
        ctx.addIssue({ code: "custom", path: [key], message: `not used by auth method '${method}'; remove it or choose another --auth-method` });
      }
    }
    if (method === "iam-role" && (config.access_key_id === undefined) !== (config.secret_access_key === undefined)) {
      const missing = config.access_key_id === undefined ? "access_key_id" : "secret_access_key";
      ctx.addIssue({ code: "custom", path: [missing], message: "access_key_id and secret_access_key go together: give both or neither" });
    }
  });

export type AwsConnectorConfig = z.output<typeof awsConnectorConfigSchema>;
export type AwsConnectorConfigInput = z.input<typeof awsConnectorConfigSchema>;

/** AWS credentials, as the AWS SDK v3 takes them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** A function the SDK calls for credentials; it refreshes them before they expire. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/** What `connect()` returns: spread it into any SDK v3 client constructor. */
export interface AwsClientConfig {
  region: string;
  /** Set when the connector talks to an emulator or an S3-compatible store. */
  endpoint?: string;
  credentials: AwsCredentialsProvider;
  /** Path-style S3 addressing, needed by most emulators and S3-compatible stores. */
  forcePathStyle?: boolean;
}
