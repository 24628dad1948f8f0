import { StackComponent } from "../component/stack-component.js";

/** One resource a connector can reach. */
export interface ConnectorResource {
  /** Resource type, e.g. `s3-bucket`. */
  resourceType: string;
  /** Resource id, e.g. `s3://my-bucket` or an ECR registry address. */
  resourceId: string;
}

/** Result of `verify()`. */
export interface ConnectorVerification {
  /** Who the credentials belong to, e.g. an ARN. Never a secret. */
  identity: string;
  /** Resources reachable with these credentials. */
  resources: ConnectorResource[];
}

/**
 * Base class of service connectors: they hold credentials and hand out
 * client configurations for the resources they can reach. Secrets never
 * leave through `describe()`, errors or logs.
 */
export abstract class ServiceConnector<C = Record<string, unknown>> extends StackComponent<C> {
  readonly type = "service_connector" as const;

  /** Auth methods this connector type supports, e.g. `secret-key`. */
  abstract readonly authMethods: readonly string[];
  /** Resource types it can connect to, e.g. `s3-bucket`. */
  abstract readonly resourceTypes: readonly string[];

  /**
   * A client configuration for one resource: for AWS, region, endpoint and a
   * credentials provider that refreshes before expiry. Its shape is the
   * connector type's own.
   */
  abstract connect(resourceType: string, resourceId?: string): Promise<unknown>;

  /** Checks the credentials work and lists what they reach. */
  abstract verify(): Promise<ConnectorVerification>;

  /** Resources of a type (or all types) these credentials reach. */
  async listResources(resourceType?: string): Promise<ConnectorResource[]> {
    const { resources } = await this.verify();
    return resourceType ? resources.filter((r) => r.resourceType === resourceType) : resources;
  }
}

/** Options of a connector flavor's `autoConfigure`. */
export interface AutoConfigureOptions {
  /** Auth method to configure (`--auth-method`); each connector type has its default. */
  authMethod?: string;
  /** Environment to read; default `process.env`. */
  env?: Record<string, string | undefined>;
}

/**
 * A connector flavor that can read its config from the environment
 * (`stackyard service-connector register NAME --type T --auto-configure`).
 * The flavor object carries it, so it runs without the implementation.
 */
export interface AutoConfigurable<C = Record<string, unknown>, O extends AutoConfigureOptions = AutoConfigureOptions> {
  /** Config captured from the environment; validated. */
  autoConfigure(options?: O): Promise<C>;
}

/** True when a flavor can auto-configure its components. */
export function isAutoConfigurable(flavor: unknown): flavor is AutoConfigurable {
  return typeof (flavor as Partial<AutoConfigurable> | undefined)?.autoConfigure === "function";
}
