/**
 * The AWS service connector's implementation. Loaded only through
 * `awsConnectorFlavor.implementation()`, because it pulls in the AWS SDK.
 */
import { inspect } from "node:util";
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from "@aws-sdk/client-sts";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { isAwsAccessDenied, resolveRegion } from "@stackyard/aws-common";
import {
  type ComponentInit,
  ConfigError,
  type ConnectorResource,
  type ConnectorVerification,
  isStackyardError,
  maskSecrets,
  parseConfig,
  ServiceConnector,
  type StackyardError,
} from "@stackyard/core";
import {
  AWS_AUTH_METHODS,
  AWS_RESOURCE_TYPES,
  type AwsClientConfig,
  type AwsConnectorConfig,
  type AwsCredentials,
  type AwsCredentialsProvider,
  type AwsResourceType,
  awsConnectorConfigSchema,
} from "./config.js";
import { DEFAULT_REFRESH_WINDOW_MS, memoizeCredentials } from "./credentials.js";
import { explainAwsError } from "./errors.js";
import { parseEcrRegistry, parseS3Resource } from "./resources.js";

export type { AwsClientConfig, AwsCredentials, AwsCredentialsProvider } from "./config.js";
export { AWS_AUTH_METHODS, AWS_RESOURCE_TYPES } from "./config.js";
export { parseEcrRegistry, parseS3Resource } from "./resources.js";

const DEFAULT_DURATION_SECONDS = 3600;

/**
 * Holds AWS credentials and hands out SDK v3 client configurations for
 * `aws-generic`, `s3-bucket` and `docker-registry` resources. Temporary
 * credentials (`iam-role`, `session-token`) are refreshed before they expire.
 * Secrets never show in `toString()`, `JSON.stringify`, `util.inspect` or errors.
 */
export class AwsServiceConnector extends ServiceConnector<AwsConnectorConfig> {
  readonly authMethods = AWS_AUTH_METHODS;
  readonly resourceTypes = AWS_RESOURCE_TYPES;
  /** How long before expiry temporary credentials are renewed; default 5 minutes. */
  refreshWindowMs: number = DEFAULT_REFRESH_WINDOW_MS;
  #provider: AwsCredentialsProvider | undefined;

  constructor(init: ComponentInit<AwsConnectorConfig>) {
    super({ ...init, config: parseConfig(awsConnectorConfigSchema, init.config, `service connector '${init.name}' (flavor aws)`) });
  }

  /** The region clients use: the config's, else the environment's (implicit), else the resource's. */
  region(resourceRegion?: string): string {
    const region = resolveRegion([this.config.region], resourceRegion);
    if (!region) {
      throw new ConfigError(`${this.describe()} has no region: it is not configured and AWS_REGION is not set`, {
        hint: `Run \`stackyard service-connector update ${this.name} --region=<REGION>\`, or export AWS_REGION.`,
      });
    }
    return region;
  }

  /** The credentials provider behind every client config this connector hands out. */
  credentials(): AwsCredentialsProvider {
    this.#provider ??= memoizeCredentials(
      () => this.#fetchCredentials().catch((error: unknown) => Promise.reject(this.#explain(error, "obtain credentials"))),
      () => this.refreshWindowMs,
    );
    return this.#provider;
  }

  /**
   * A client configuration for one resource, ready for SDK v3 constructors:
   * `new S3Client(await connector.connect("s3-bucket", "s3://bucket"))`.
   */
  override async connect(resourceType: string, resourceId?: string): Promise<AwsClientConfig> {
    const type = this.#resourceType(resourceType);
    let resourceRegion: string | undefined;
    if (type === "s3-bucket" && resourceId !== undefined) parseS3Resource(resourceId, this.describe());
    if (type === "docker-registry" && resourceId !== undefined) {
      resourceRegion = parseEcrRegistry(resourceId, this.describe()).region;
      const region = this.config.region ?? resourceRegion;
      if (region !== resourceRegion) {
        throw new ConfigError(`${this.describe()} is configured for region ${region}, but registry ${resourceId} is in region ${resourceRegion}`, {
          hint: `Use a connector for ${resourceRegion} (\`stackyard service-connector register ... --region=${resourceRegion}\`), or a registry in ${region}.`,
        });
      }
    }
    // An ECR address carries its region; it wins over the environment's when the connector has none.
    const config: AwsClientConfig = { region: this.config.region ?? resourceRegion ?? this.region(), credentials: this.credentials() };
    if (this.config.endpoint_url) {
      config.endpoint = this.config.endpoint_url;
      if (type === "s3-bucket") config.forcePathStyle = true;
    }
    return config;
  }

  /**
   * Checks the credentials with STS GetCallerIdentity, then lists the S3
   * buckets they can list and the account's ECR registry if a token can be had.
   */
  override async verify(): Promise<ConnectorVerification> {
    const base = this.#clientBase();
    const sts = new STSClient(base);
    let identity: { Arn?: string | undefined; Account?: string | undefined };
    try {
      identity = await sts.send(new GetCallerIdentityCommand({}));
    } catch (error) {
      throw this.#explain(error, "verify credentials with STS GetCallerIdentity");
    } finally {
      sts.destroy();
    }
    const region = base.region;
    const resources: ConnectorResource[] = [{ resourceType: "aws-generic", resourceId: region }];
    const s3 = new S3Client({ ...base, ...(this.config.endpoint_url ? { forcePathStyle: true } : {}) });
    try {
      const listed = await s3.send(new ListBucketsCommand({}));
      for (const bucket of listed.Buckets ?? []) if (bucket.Name) resources.push({ resourceType: "s3-bucket", resourceId: `s3://${bucket.Name}` });
    } catch (error) {
      if (!isAwsAccessDenied(error)) throw this.#explain(error, "list S3 buckets");
    } finally {
      s3.destroy();
    }
    const ecr = new ECRClient(base);
    try {
      const token = await ecr.send(new GetAuthorizationTokenCommand({}));
      const account = identity.Account ?? token.authorizationData?.[0]?.proxyEndpoint?.match(/(\d{12})\.dkr/)?.[1];
      if (account) resources.push({ resourceType: "docker-registry", resourceId: `${account}.dkr.ecr.${region}.amazonaws.com` });
    } catch (error) {
      if (!isAwsAccessDenied(error)) throw this.#explain(error, "get an ECR authorization token", `ECR in ${region}`);
    } finally {
      ecr.destroy();
    }
    return { identity: identity.Arn ?? "(unknown identity)", resources };
  }

  override async listResources(resourceType?: string): Promise<ConnectorResource[]> {
    if (resourceType !== undefined) this.#resourceType(resourceType);
    return super.listResources(resourceType);
  }

  /** The config with secrets masked: what `describe` prints. */
  maskedConfig(): Record<string, unknown> {
    return maskSecrets(awsConnectorConfigSchema, { ...this.config });
  }

  override toString(): string {
    return `${this.describe()} ${JSON.stringify(this.maskedConfig())}`;
  }

  toJSON(): Record<string, unknown> {
    return { type: this.type, flavor: this.flavor, name: this.name, id: this.id, config: this.maskedConfig() };
  }

  [inspect.custom](): string {
    return `AwsServiceConnector ${inspect(this.toJSON(), { depth: 4 })}`;
  }

  #resourceType(resourceType: string): AwsResourceType {
    if (!(AWS_RESOURCE_TYPES as readonly string[]).includes(resourceType)) {
      throw new ConfigError(`${this.describe()} cannot connect to resource type '${resourceType}'`, {
        hint: `AWS connectors serve ${AWS_RESOURCE_TYPES.join(", ")}.`,
      });
    }
    return resourceType as AwsResourceType;
  }

  #clientBase(): { region: string; endpoint?: string; credentials: AwsCredentialsProvider } {
    return {
      region: this.region(),
      credentials: this.credentials(),
      ...(this.config.endpoint_url ? { endpoint: this.config.endpoint_url } : {}),
    };
  }

  #secrets(): string[] {
    return [this.config.secret_access_key, this.config.session_token].filter((s): s is string => typeof s === "string");
  }

  #explain(error: unknown, action: string, resource?: string): StackyardError {
    // Already explained (e.g. a credentials failure surfacing through a client call).
    if (isStackyardError(error)) return error;
    return explainAwsError(error, {
      connector: this.describe(),
      name: this.name,
      authMethod: `auth method ${this.config.auth_method}`,
      action,
      ...(resource ? { resource } : {}),
      ...(this.config.endpoint_url ? { endpoint: this.config.endpoint_url } : {}),
      ...(this.config.region ? { region: this.config.region } : {}),
      secrets: this.#secrets(),
    });
  }

  #staticKeys(): AwsCredentials | undefined {
    const { access_key_id, secret_access_key, session_token } = this.config;
    if (!access_key_id || !secret_access_key) return undefined;
    return { accessKeyId: access_key_id, secretAccessKey: secret_access_key, ...(session_token ? { sessionToken: session_token } : {}) };
  }

  #environmentChain(): AwsCredentialsProvider {
    const chain = fromNodeProviderChain(this.config.profile ? { profile: this.config.profile } : {});
    return async () => {
      const c = await chain();
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        ...(c.expiration ? { expiration: c.expiration } : {}),
      };
    };
  }

  #sts(source: AwsCredentialsProvider | AwsCredentials): STSClient {
    return new STSClient({
      region: this.region(),
      credentials: source,
      ...(this.config.endpoint_url ? { endpoint: this.config.endpoint_url } : {}),
    });
  }

  async #fetchCredentials(): Promise<AwsCredentials> {
    const c = this.config;
    switch (c.auth_method) {
      case "implicit":
        return this.#environmentChain()();
      case "secret-key":
      case "sts-token":
        return this.#staticKeys()!;
      case "session-token": {
        const sts = this.#sts(this.#staticKeys()!);
        try {
          const out = await sts.send(new GetSessionTokenCommand({ DurationSeconds: c.duration_seconds ?? DEFAULT_DURATION_SECONDS }));
          return temporary(out.Credentials);
        } finally {
          sts.destroy();
        }
      }
      case "iam-role": {
        const sts = this.#sts(this.#staticKeys() ?? this.#environmentChain());
        try {
          const out = await sts.send(
            new AssumeRoleCommand({
              RoleArn: c.role_arn!,
              RoleSessionName: c.role_session_name ?? "stackyard",
              DurationSeconds: c.duration_seconds ?? DEFAULT_DURATION_SECONDS,
              ...(c.external_id ? { ExternalId: c.external_id } : {}),
            }),
          );
          return temporary(out.Credentials);
        } finally {
          sts.destroy();
        }
      }
    }
  }
}

function temporary(
  creds:
    | { AccessKeyId?: string | undefined; SecretAccessKey?: string | undefined; SessionToken?: string | undefined; Expiration?: Date | undefined }
    | undefined,
): AwsCredentials {
  if (!creds?.AccessKeyId || !creds.SecretAccessKey) throw new Error("STS answered without credentials");
  return {
    accessKeyId: creds.AccessKeyId,
    secretAccessKey: creds.SecretAccessKey,
    ...(creds.SessionToken ? { sessionToken: creds.SessionToken } : {}),
    ...(creds.Expiration ? { expiration: creds.Expiration } : {}),
  };
}
