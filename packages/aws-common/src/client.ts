import type { ServiceConnector } from "@stackyard/core";

/** What every AWS SDK v3 client is: something that holds sockets until destroyed. */
export interface Destroyable {
  destroy(): void;
}

/**
 * A client built on first use and shared by every later call. A build that
 * fails is forgotten, so the next call tries again (a connector that could
 * not get credentials may get them later); `close()` releases the sockets,
 * and the next call builds a new client.
 */
export class LazyClient<C extends Destroyable> {
  readonly #build: () => Promise<C>;
  #client: Promise<C> | undefined;

  constructor(build: () => Promise<C>) {
    this.#build = build;
  }

  /** The client, built by the first call. */
  get(): Promise<C> {
    this.#client ??= this.#build().catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    return this.#client;
  }

  /** Destroys the client, if one was built. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) (await client.catch(() => undefined))?.destroy();
  }
}

/**
 * The client configuration an `aws` connector hands out (`connect()`), as the
 * components that use it read it. Duck-typed: a component needs no
 * dependency on the connector package, and `Credentials` is its SDK client's.
 */
export interface ConnectedAwsConfig<Credentials = unknown> {
  region?: string;
  endpoint?: string;
  credentials?: Credentials;
  /** Path-style S3 addressing (emulators, S3-compatible stores). */
  forcePathStyle?: boolean;
}

/**
 * What a component's connector hands out for one resource; nothing without a
 * connector, so that the SDK reads the environment's credentials.
 */
export async function connectAws<Credentials>(
  connector: ServiceConnector | undefined,
  resourceType: string,
  resourceId?: string,
): Promise<ConnectedAwsConfig<Credentials>> {
  if (!connector) return {};
  return (await (resourceId === undefined ? connector.connect(resourceType) : connector.connect(resourceType, resourceId))) as ConnectedAwsConfig<Credentials>;
}
