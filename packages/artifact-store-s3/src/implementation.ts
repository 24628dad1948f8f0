/**
 * The S3 artifact store's implementation. Loaded only through
 * `s3ArtifactStoreFlavor.implementation()`, because it pulls in the AWS SDK.
 */
import { Readable } from "node:stream";
import { inspect } from "node:util";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { awsErrorCode, awsErrorFacts, awsHttpStatus, awsRedirectRegion, connectAws, isAwsNotFound, LazyClient, resolveRegion } from "@stackyard/aws-common";
import {
  type ArtifactFileEntry,
  type ArtifactStat,
  type ArtifactStoreStepAccess,
  AuthenticationError,
  BaseArtifactStore,
  type ComponentInit,
  ConfigError,
  ConflictError,
  isStackyardError,
  maskSecrets,
  NotFoundError,
  parseConfig,
  StackyardError,
  type WriteBody,
} from "@stackyard/core";
import { MAX_PARTS, parseS3Path, type S3ArtifactStoreConfig, s3ArtifactStoreConfigSchema } from "./config.js";

export { type S3ArtifactStoreConfig, s3ArtifactStoreConfigSchema } from "./config.js";

/** S3's limit for a single CopyObject. */
const COPY_OBJECT_LIMIT = 5 * 1024 ** 3;
const DELETE_BATCH = 1000;

/**
 * Artifacts in S3: `s3://bucket/prefix` is the root, keys below it are
 * artifact paths, and folders are key prefixes (an empty folder is a `name/`
 * marker object). Reads stream; large writes stream as multipart uploads.
 */
export class S3ArtifactStore extends BaseArtifactStore<S3ArtifactStoreConfig> {
  readonly scheme = "s3";
  /** Objects larger than this are copied part by part (UploadPartCopy); S3's CopyObject takes up to 5 GiB. */
  copyPartThreshold: number = COPY_OBJECT_LIMIT;
  /** Part size of multipart copies. */
  copyPartSize: number = 512 * 1024 ** 2;
  readonly bucket: string;
  /** Key prefix of the root inside the bucket, without slashes at either end. */
  readonly prefix: string;
  readonly #client = new LazyClient(() => this.#makeClient());
  #checked: Promise<void> | undefined;

  constructor(init: ComponentInit<S3ArtifactStoreConfig>) {
    super({ ...init, config: parseConfig(s3ArtifactStoreConfigSchema, init.config, `artifact store '${init.name}' (flavor s3)`) });
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Path(this.config.path));
  }

  /** The S3 client, built once from the connector (if any), the config and the environment. */
  client(): Promise<S3Client> {
    return this.#client.get();
  }

  /** Releases the client's sockets. */
  async close(): Promise<void> {
    this.#checked = undefined;
    await this.#client.close();
  }

  // --- keys -----------------------------------------------------------------

  /** The object key of a store key. */
  #objectKey(key: string): string {
    return this.prefix ? (key ? `${this.prefix}/${key}` : this.prefix) : key;
  }

  /** The prefix that lists what is inside folder `key`. */
  #folderPrefix(key: string): string {
    const k = this.#objectKey(key);
    return k ? `${k}/` : "";
  }

  // --- operations ------------------------------------------------------------

  protected async readKey(key: string): Promise<Readable> {
    const s3 = await this.#ready();
    if (!key) throw new ConfigError(`Cannot read the root of ${this.describe()}: it is a folder`);
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
      const body = out.Body;
      if (body instanceof Readable) return body;
      return Readable.from(body as AsyncIterable<Uint8Array>);
    } catch (error) {
      if (isAwsNotFound(error)) throw this.#notFound(key);
      throw this.#explain(error, `read ${this.uri(key)}`);
    }
  }

  protected async writeKey(key: string, body: WriteBody): Promise<void> {
    const s3 = await this.#ready();
    if (!key) throw new ConfigError(`Cannot write to the root of ${this.describe()}: give a file path under it`);
    const Key = this.#objectKey(key);
    const threshold = this.config.multipart_threshold;
    try {
      if (typeof body === "string" || body instanceof Uint8Array) {
        const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
        if (bytes.byteLength <= threshold) {
          await s3.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength: bytes.byteLength }));
          return;
        }
        await this.#upload(s3, Key, Readable.from(chunksOf(bytes, this.config.multipart_part_size)), bytes.byteLength);
        return;
      }
      // Buffer up to the threshold: a small stream becomes one PutObject,
      // a large one a multipart upload that starts with what was buffered.
      const iterator = (body as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
      const head: Buffer[] = [];
      let size = 0;
      let done = false;
      while (size <= threshold) {
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        const chunk =
          typeof next.value === "string" ? Buffer.from(next.value, "utf8") : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        head.push(chunk);
        size += chunk.byteLength;
      }
      if (done) {
        const bytes = Buffer.concat(head, size);
        await s3.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength: size }));
        return;
      }
      // highWaterMark 1: hold one chunk here, not sixteen; the upload buffers its parts itself.
      await this.#upload(s3, Key, Readable.from(resume(head, iterator), { objectMode: true, highWaterMark: 1 }));
    } catch (error) {
      throw this.#explain(error, `write ${this.uri(key)}`);
    }
  }

  protected async existsKey(key: string): Promise<boolean> {
    const s3 = await this.#ready();
    if (!key) return true;
    if (await this.#headObject(s3, key)) return true;
    return this.#hasChildren(s3, key);
  }

  protected async listKey(key: string): Promise<string[]> {
    const s3 = await this.#ready();
    const prefix = this.#folderPrefix(key);
    const names = new Set<string>();
    let ContinuationToken: string | undefined;
    try {
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: "/", ContinuationToken }));
        for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(prefix.length, -1));
        for (const o of page.Contents ?? []) if (o.Key && o.Key !== prefix) names.add(o.Key.slice(prefix.length));
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (error) {
      throw this.#explain(error, `list ${this.uri(key)}`);
    }
    return [...names].filter(Boolean).sort();
  }

  protected override async listFilesKey(key: string): Promise<ArtifactFileEntry[]> {
    const s3 = await this.#ready();
    const prefix = this.#folderPrefix(key);
    const files: ArtifactFileEntry[] = [];
    let ContinuationToken: string | undefined;
    try {
      do {
        // No delimiter: every key under the prefix, 1,000 a page, whatever the depth.
        const page = await s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken }));
        for (const o of page.Contents ?? []) {
          // Folder markers (mkdirs) are not files.
          if (!o.Key || o.Key.endsWith("/")) continue;
          files.push({ path: o.Key.slice(prefix.length), size: o.Size ?? 0, modified: o.LastModified, etag: o.ETag });
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (error) {
      throw this.#explain(error, `list ${this.uri(key)}`);
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  protected async statKey(key: string): Promise<ArtifactStat> {
    const s3 = await this.#ready();
    if (!key) return { size: 0, isDirectory: true };
    const head = await this.#headObject(s3, key);
    if (head) return { size: head.size, isDirectory: false, modified: head.modified };
    if (await this.#hasChildren(s3, key)) return { size: 0, isDirectory: true };
    throw this.#notFound(key);
  }

  protected async mkdirsKey(key: string): Promise<void> {
    const s3 = await this.#ready();
    if (!key) return;
    if (await this.#headObject(s3, key)) throw new ConflictError(`Cannot create folder ${this.uri(key)}: a file exists there`);
    try {
      await s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.#folderPrefix(key), Body: new Uint8Array(0), ContentLength: 0 }));
    } catch (error) {
      throw this.#explain(error, `create folder ${this.uri(key)}`);
    }
  }

  protected async removeKey(key: string): Promise<void> {
    const s3 = await this.#ready();
    if (!(await this.#headObject(s3, key))) {
      if (key === "" || (await this.#hasChildren(s3, key))) {
        throw new ConfigError(`Cannot remove ${this.uri(key)}: it is a folder`, { hint: "Use rmtree to remove a folder and everything in it." });
      }
      throw this.#notFound(key);
    }
    try {
      await s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
    } catch (error) {
      throw this.#explain(error, `remove ${this.uri(key)}`);
    }
  }

  protected async rmtreeKey(key: string): Promise<void> {
    const s3 = await this.#ready();
    const prefix = this.#folderPrefix(key);
    let ContinuationToken: string | undefined;
    try {
      do {
        // Deleting while listing is safe with continuation tokens: they point past the last key returned.
        const page = await s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken, MaxKeys: DELETE_BATCH }));
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        for (let i = 0; i < keys.length; i += DELETE_BATCH) {
          const out = await s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + DELETE_BATCH), Quiet: true } }));
          const failed = out.Errors ?? [];
          if (failed.length) {
            throw new StackyardError(
              `Could not remove ${failed.length} object(s) under ${this.uri(key)}: ${failed
                .slice(0, 3)
                .map((e) => `${e.Key} (${e.Code})`)
                .join(", ")}`,
              {
                hint: "Check the identity may s3:DeleteObject in this bucket, then run rmtree again.",
              },
            );
          }
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (error) {
      throw this.#explain(error, `remove folder ${this.uri(key)}`);
    }
  }

  protected async copyKey(from: string, to: string, overwrite: boolean): Promise<void> {
    const s3 = await this.#ready();
    const source = await this.#headObject(s3, from);
    if (!source) throw this.#notFound(from);
    if (from === to) return;
    if (!overwrite && (await this.#headObject(s3, to))) {
      throw new ConflictError(`Cannot copy to ${this.uri(to)}: a file exists there`, { hint: "Pass overwrite: true to replace it." });
    }
    const CopySource = `${this.bucket}/${this.#objectKey(from).split("/").map(encodeURIComponent).join("/")}`;
    const Key = this.#objectKey(to);
    try {
      if (source.size <= this.copyPartThreshold) {
        await s3.send(new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource }));
        return;
      }
      await this.#multipartCopy(s3, CopySource, Key, source.size);
    } catch (error) {
      throw this.#explain(error, `copy ${this.uri(from)} to ${this.uri(to)}`);
    }
  }

  /** Copy, then delete the source: S3 has no rename, so this is not atomic. */
  protected async renameKey(from: string, to: string, overwrite: boolean): Promise<void> {
    if (from === to) {
      if (!(await this.existsKey(from))) throw this.#notFound(from);
      return;
    }
    await this.copyKey(from, to, overwrite);
    await this.removeKey(from);
  }

  // --- secrets stay out of outputs -------------------------------------------

  toJSON(): Record<string, unknown> {
    return { type: this.type, flavor: this.flavor, name: this.name, id: this.id, config: maskSecrets(s3ArtifactStoreConfigSchema, { ...this.config }) };
  }

  override toString(): string {
    return `${this.describe()} at ${this.path}`;
  }

  [inspect.custom](): string {
    return `S3ArtifactStore ${inspect(this.toJSON(), { depth: 4 })}`;
  }

  /**
   * The credentials this store uses (its keys, else its connector's, resolved
   * now), as the AWS variables a step container's copy of the store (no
   * secret fields, no connector) reads from its environment, with the
   * connector's region and endpoint added to its config. Nothing from the
   * client's own environment: a container that should use the machine's
   * role gets no keys.
   */
  async stepAccess(): Promise<ArtifactStoreStepAccess> {
    const c = this.config;
    const connected = await connectAws<S3ClientConfig["credentials"]>(this.connector, "s3-bucket", `s3://${this.bucket}`);
    const given =
      c.access_key_id && c.secret_access_key
        ? { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, sessionToken: c.session_token }
        : typeof connected.credentials === "function"
          ? await connected.credentials()
          : connected.credentials;
    const environment: Record<string, string> = {};
    if (given?.accessKeyId && given.secretAccessKey) {
      environment.AWS_ACCESS_KEY_ID = given.accessKeyId;
      environment.AWS_SECRET_ACCESS_KEY = given.secretAccessKey;
      if (given.sessionToken) environment.AWS_SESSION_TOKEN = given.sessionToken;
    }
    const config: Record<string, unknown> = {};
    const region = resolveRegion([c.region, connected.region]);
    if (c.region === undefined && region !== undefined) config.region = region;
    if (c.endpoint_url === undefined && connected.endpoint !== undefined) config.endpoint_url = connected.endpoint;
    if (c.force_path_style === undefined && connected.forcePathStyle !== undefined) config.force_path_style = connected.forcePathStyle;
    return { environment, config };
  }

  // --- helpers -----------------------------------------------------------------

  async #makeClient(): Promise<S3Client> {
    const c = this.config;
    const connected = await connectAws<S3ClientConfig["credentials"]>(this.connector, "s3-bucket", `s3://${this.bucket}`);
    const endpoint = c.endpoint_url ?? connected.endpoint;
    const credentials =
      c.access_key_id && c.secret_access_key
        ? { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, ...(c.session_token ? { sessionToken: c.session_token } : {}) }
        : connected.credentials;
    const region = resolveRegion([c.region, connected.region]);
    if (!region) {
      throw new ConfigError(`${this.describe()} has no region: none in its config, its connector or AWS_REGION`, {
        hint: `Run \`stackyard artifact-store update ${this.name} --region=<BUCKET_REGION>\`, attach an AWS connector, or export AWS_REGION.`,
      });
    }
    return new S3Client({
      region,
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: c.force_path_style ?? connected.forcePathStyle ?? endpoint !== undefined,
      ...(credentials ? { credentials } : {}),
    });
  }

  /** The client, once the bucket is known to exist in the client's region. */
  async #ready(): Promise<S3Client> {
    const s3 = await this.client();
    this.#checked ??= this.#checkBucket(s3).catch((error: unknown) => {
      this.#checked = undefined;
      throw error;
    });
    await this.#checked;
    return s3;
  }

  async #checkBucket(s3: S3Client): Promise<void> {
    const region = await s3.config.region();
    let bucketRegion: string | undefined;
    try {
      bucketRegion = (await s3.send(new HeadBucketCommand({ Bucket: this.bucket }))).BucketRegion;
    } catch (error) {
      if (isAwsNotFound(error) || awsErrorCode(error) === "NoSuchBucket") {
        throw new NotFoundError(
          `S3 bucket '${this.bucket}' of ${this.describe()} does not exist${this.config.endpoint_url ? ` at ${this.config.endpoint_url}` : ` in region ${region}`}`,
          {
            hint: `Create it (\`aws s3 mb s3://${this.bucket} --region ${region}\`), or point the store at an existing bucket: \`stackyard artifact-store update ${this.name} --path=s3://<BUCKET>/<PREFIX>\`.`,
          },
        );
      }
      if (awsHttpStatus(error) === 301) bucketRegion = awsRedirectRegion(error) ?? "another region";
      else throw this.#explain(error, `reach bucket s3://${this.bucket}`);
    }
    if (bucketRegion && bucketRegion !== region) {
      throw new ConfigError(`S3 bucket '${this.bucket}' of ${this.describe()} is in region ${bucketRegion}, but the store uses region ${region}`, {
        hint: `Run \`stackyard artifact-store update ${this.name} --region=${bucketRegion}\`, or use a connector configured for ${bucketRegion}.`,
      });
    }
  }

  async #headObject(s3: S3Client, key: string): Promise<{ size: number; modified?: Date } | undefined> {
    if (!key) return undefined;
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#objectKey(key) }));
      return { size: head.ContentLength ?? 0, ...(head.LastModified ? { modified: head.LastModified } : {}) };
    } catch (error) {
      if (isAwsNotFound(error)) return undefined;
      throw this.#explain(error, `look up ${this.uri(key)}`);
    }
  }

  async #hasChildren(s3: S3Client, key: string): Promise<boolean> {
    try {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.#folderPrefix(key), MaxKeys: 1 }));
      return (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
    } catch (error) {
      throw this.#explain(error, `list ${this.uri(key)}`);
    }
  }

  async #upload(s3: S3Client, Key: string, Body: Readable, size?: number): Promise<void> {
    let partSize = this.config.multipart_part_size;
    // Keep within S3's 10,000 parts when the size is known up front.
    if (size !== undefined) partSize = Math.max(partSize, Math.ceil(size / MAX_PARTS));
    const upload = new Upload({
      client: s3,
      params: { Bucket: this.bucket, Key, Body },
      partSize,
      queueSize: this.config.multipart_concurrency,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async #multipartCopy(s3: S3Client, CopySource: string, Key: string, size: number): Promise<void> {
    const partSize = Math.max(this.copyPartSize, Math.ceil(size / MAX_PARTS));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    try {
      const parts: { ETag: string; PartNumber: number }[] = [];
      for (let start = 0, n = 1; start < size; start += partSize, n++) {
        const end = Math.min(start + partSize, size) - 1;
        const out = await s3.send(
          new UploadPartCopyCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: n, CopySource, CopySourceRange: `bytes=${start}-${end}` }),
        );
        parts.push({ ETag: out.CopyPartResult?.ETag ?? "", PartNumber: n });
      }
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  #notFound(key: string): NotFoundError {
    return new NotFoundError(`No artifact at ${this.uri(key)} in ${this.describe()}`);
  }

  #explain(error: unknown, action: string): StackyardError {
    if (isStackyardError(error)) return error;
    const { code, kind, message: raw, cause } = awsErrorFacts(error, [this.config.secret_access_key, this.config.session_token]);
    const where = `${this.describe()} could not ${action}`;
    const via = this.connector ? `connector '${this.connector.name}'` : "the store's credentials";
    if (code === "NoSuchBucket") {
      return new NotFoundError(`${where}: S3 bucket '${this.bucket}' does not exist`, {
        hint: `Create the bucket, or fix the store's path with \`stackyard artifact-store update ${this.name} --path=s3://<BUCKET>\`.`,
        cause,
      });
    }
    if (kind === "unreachable") {
      return new AuthenticationError(`${where}: ${this.config.endpoint_url ?? "S3"} is unreachable (${code})`, {
        hint: "Check the network and endpoint_url, then try again.",
        cause,
      });
    }
    if (kind === "rejected" || kind === "expired" || kind === "no-credentials") {
      return new AuthenticationError(`${where}: S3 rejected ${via} (${code})`, {
        hint: this.connector
          ? `Run \`stackyard service-connector verify ${this.connector.name}\` and fix its credentials.`
          : "Attach an AWS connector (--connector NAME) or fix access_key_id/secret_access_key.",
        cause,
      });
    }
    if (kind === "denied") {
      return new AuthenticationError(`${where}: access denied to ${via} (${code})`, {
        hint: `Grant s3:ListBucket on arn:aws:s3:::${this.bucket} and s3:GetObject/PutObject/DeleteObject on arn:aws:s3:::${this.bucket}/*.`,
        cause,
      });
    }
    return new StackyardError(`${where}: ${code}: ${raw}`, { cause });
  }
}

function* chunksOf(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

async function* resume(head: Buffer[], rest: AsyncIterator<Uint8Array | string>): AsyncGenerator<Buffer> {
  yield* head;
  head.length = 0;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield typeof next.value === "string" ? Buffer.from(next.value, "utf8") : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
  }
}
