/**
 * The ECR container registry's implementation. Loaded only through
 * `ecrContainerRegistryFlavor.implementation()`, because it pulls in the AWS SDK.
 */
import { CreateRepositoryCommand, ECRClient, type ECRClientConfig, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { awsErrorFacts, connectAws, LazyClient } from "@stackyard/aws-common";
import {
  AuthenticationError,
  BaseContainerRegistry,
  type ComponentInit,
  ConfigError,
  isStackyardError,
  parseConfig,
  type RegistryAuth,
  StackyardError,
} from "@stackyard/core";
import { type EcrContainerRegistryConfig, ecrContainerRegistryConfigSchema, parseEcrUri } from "./config.js";

export { type EcrContainerRegistryConfig, ecrContainerRegistryConfigSchema } from "./config.js";

/** Renew tokens this long before they expire (ECR tokens live 12 hours). */
const TOKEN_REFRESH_WINDOW_MS = 10 * 60 * 1000;
const REPOSITORY = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/**
 * Amazon ECR as a stack's container registry: push credentials come from
 * GetAuthorizationToken (cached until shortly before they expire), and
 * repositories are created on demand before a push.
 */
export class EcrContainerRegistry extends BaseContainerRegistry<EcrContainerRegistryConfig> {
  /** The ECR registry's account id. */
  readonly account: string;
  /** The ECR registry's region. */
  readonly region: string;
  readonly #client = new LazyClient(() => this.#makeClient());
  #token: { auth: RegistryAuth; expiresAt: number } | undefined;
  #pending: Promise<RegistryAuth> | undefined;
  readonly #prepared = new Set<string>();

  constructor(init: ComponentInit<EcrContainerRegistryConfig>) {
    super({ ...init, config: parseConfig(ecrContainerRegistryConfigSchema, init.config, `container registry '${init.name}' (flavor aws)`) });
    const parsed = parseEcrUri(this.config.uri)!;
    this.account = parsed.account;
    this.region = parsed.region;
  }

  /** The ECR address, `ACCOUNT.dkr.ecr.REGION.amazonaws.com`. */
  get ecrAddress(): string {
    return parseEcrUri(this.config.uri)!.address;
  }

  /** Where pushes go: `registry_address` when set, else the ECR address. */
  override get uri(): string {
    return this.config.registry_address ?? this.ecrAddress;
  }

  /** The ECR API client, built once from the connector (if any), the config and the environment. */
  client(): Promise<ECRClient> {
    return this.#client.get();
  }

  /** Releases the client's sockets. */
  close(): Promise<void> {
    return this.#client.close();
  }

  /**
   * Docker push credentials from ECR's GetAuthorizationToken: user `AWS` and a
   * 12-hour password, reused until ten minutes before it expires.
   */
  override async credentials(): Promise<RegistryAuth> {
    if (this.#token && this.#token.expiresAt - TOKEN_REFRESH_WINDOW_MS > Date.now()) return this.#token.auth;
    this.#pending ??= this.#fetchToken().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Creates the repository in ECR unless it exists. */
  override async prepareRepository(repository: string): Promise<void> {
    if (!REPOSITORY.test(repository)) {
      throw new ConfigError(`'${repository}' is not a valid ECR repository name for ${this.describe()}`, {
        hint: "Use 2-256 lowercase letters, digits and single '.', '_', '-' separators, optionally in '/'-separated namespaces, e.g. stackyard/training.",
      });
    }
    if (this.#prepared.has(repository)) return;
    const ecr = await this.client();
    try {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: repository, imageScanningConfiguration: { scanOnPush: false } }));
    } catch (error) {
      if ((error as { name?: string }).name !== "RepositoryAlreadyExistsException") throw this.#explain(error, `create repository '${repository}'`);
    }
    this.#prepared.add(repository);
  }

  async #makeClient(): Promise<ECRClient> {
    const connected = await connectAws<ECRClientConfig["credentials"]>(this.connector, "docker-registry", this.ecrAddress);
    const endpoint = this.config.endpoint_url ?? connected.endpoint;
    return new ECRClient({
      region: this.region,
      ...(endpoint ? { endpoint } : {}),
      ...(connected.credentials ? { credentials: connected.credentials } : {}),
    });
  }

  async #fetchToken(): Promise<RegistryAuth> {
    const ecr = await this.client();
    let data;
    try {
      data = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    } catch (error) {
      throw this.#explain(error, "get a push token (GetAuthorizationToken)");
    }
    const decoded = data?.authorizationToken ? Buffer.from(data.authorizationToken, "base64").toString("utf8") : "";
    const colon = decoded.indexOf(":");
    if (colon < 1) {
      throw new AuthenticationError(`ECR answered ${this.describe()} with no usable authorization token`, {
        hint: "Check the registry's endpoint_url points at ECR (or an emulator of it).",
      });
    }
    const auth: RegistryAuth = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: this.uri };
    const expiresAt = data?.expiresAt?.getTime();
    // Keep tokens only while they are valid; one that is already expired (emulators) is used once.
    this.#token = expiresAt !== undefined && expiresAt > Date.now() ? { auth, expiresAt } : undefined;
    return auth;
  }

  #explain(error: unknown, action: string): StackyardError {
    if (isStackyardError(error)) return error;
    const { code, kind, message, cause } = awsErrorFacts(error);
    const where = `${this.describe()} could not ${action} in ${this.ecrAddress}`;
    const via = this.connector ? `connector '${this.connector.name}'` : "the environment's AWS credentials";
    if (kind === "unreachable") {
      return new AuthenticationError(`${where}: ${this.config.endpoint_url ?? `ECR in ${this.region}`} is unreachable (${code})`, {
        hint: "Check the network and endpoint_url.",
        cause,
      });
    }
    if (kind === "rejected" || kind === "expired" || kind === "no-credentials") {
      return new AuthenticationError(`${where}: ECR rejected ${via} (${code})`, {
        hint: this.connector
          ? `Run \`stackyard service-connector verify ${this.connector.name}\` and fix its credentials.`
          : "Attach an AWS connector (--connector NAME) or export AWS credentials.",
        cause,
      });
    }
    if (kind === "denied") {
      return new AuthenticationError(`${where}: access denied to ${via} (${code})`, {
        hint: "Grant ecr:GetAuthorizationToken, ecr:CreateRepository, ecr:DescribeRepositories and the push actions (see the README's IAM policy).",
        cause,
      });
    }
    return new StackyardError(`${where}: ${code}: ${message}`, { cause });
  }
}
