import { awsRegionSchema, S3_BUCKET_PATTERN } from "@stackyard/aws-common";
import { baseArtifactStoreConfigSchema, secretString } from "@stackyard/core";
import { z } from "zod";

const MiB = 1024 * 1024;
/** S3's smallest part, except the last one. */
export const MIN_PART_SIZE = 5 * MiB;
/** S3 allows at most this many parts per upload. */
export const MAX_PARTS = 10_000;

const S3_URI = new RegExp(`^s3://(${S3_BUCKET_PATTERN})(/[\\s\\S]*)?$`);

/** Splits `s3://bucket/prefix` into bucket and prefix (no leading or trailing slash). */
export function parseS3Path(path: string): { bucket: string; prefix: string } {
  const match = S3_URI.exec(path);
  if (!match) throw new Error(`not an S3 URI: ${path}`);
  return { bucket: match[1]!, prefix: (match[2] ?? "").replace(/^\/+|\/+$/g, "") };
}

/** Config of the `s3` artifact store. */
export const s3ArtifactStoreConfigSchema = baseArtifactStoreConfigSchema
  .extend({
    /** Root of the store: `s3://BUCKET` or `s3://BUCKET/PREFIX`. */
    path: z
      .string()
      .regex(S3_URI, "expected s3://BUCKET or s3://BUCKET/PREFIX, with a bucket name of 3-63 lowercase letters, digits, '.' and '-'")
      .refine((p) => !/\/\/|\/\.\.?(\/|$)/.test(p.slice(5)), "the prefix must not contain empty, '.' or '..' segments"),
    /** Region of the bucket; default: the connector's, else the environment's. */
    region: awsRegionSchema.optional(),
    /** S3 endpoint for emulators and S3-compatible stores (MinIO, Ceph...), e.g. http://127.0.0.1:9000. */
    endpoint_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Path-style addressing (`endpoint/bucket/key`); default true when endpoint_url is set. */
    force_path_style: z.boolean().optional(),
    /** Objects larger than this (bytes) are uploaded in parts; smaller ones in one PutObject. Default 16 MiB. */
    multipart_threshold: z
      .number()
      .int()
      .min(MIN_PART_SIZE)
      .default(16 * MiB),
    /** Size of each part of a multipart upload (bytes), at least 5 MiB. Default 8 MiB. */
    multipart_part_size: z
      .number()
      .int()
      .min(MIN_PART_SIZE)
      .max(5 * 1024 * MiB)
      .default(8 * MiB),
    /**
     * How many parts upload at once. Default 2, which keeps a 1 GiB artifact
     * under 200 MB of memory; raise it for more throughput to real S3 (each
     * extra part in flight holds about twice the part size).
     */
    multipart_concurrency: z.number().int().min(1).max(64).default(2),
    /** Access key id, when neither a connector nor the environment provides credentials. */
    access_key_id: secretString((s) => s.min(16)).optional(),
    /** Secret access key that goes with access_key_id. */
    secret_access_key: secretString().optional(),
    /** Session token of temporary credentials. */
    session_token: secretString().optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    if ((config.access_key_id === undefined) !== (config.secret_access_key === undefined)) {
      const missing = config.access_key_id === undefined ? "access_key_id" : "secret_access_key";
      ctx.addIssue({
        code: "custom",
        path: [missing],
        message: "access_key_id and secret_access_key go together: give both, or neither and use a connector (--connector) or the environment",
      });
    }
    if (config.session_token !== undefined && config.access_key_id === undefined) {
      ctx.addIssue({ code: "custom", path: ["access_key_id"], message: "session_token needs access_key_id and secret_access_key" });
    }
  });

export type S3ArtifactStoreConfig = z.output<typeof s3ArtifactStoreConfigSchema>;
export type S3ArtifactStoreConfigInput = z.input<typeof s3ArtifactStoreConfigSchema>;
