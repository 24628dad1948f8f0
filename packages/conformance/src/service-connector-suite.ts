/**
 * The behaviour every service connector must have, as a vitest suite.
 *
 * @example
 * ```ts
 * testServiceConnector({ name: "aws", flavor: awsConnectorFlavor, config: { auth_method: "secret-key", ... }, secretKeys: ["access_key_id", "secret_access_key", "session_token"] });
 * ```
 */
import { type AnyFlavor, flavorProblems, type ServiceConnector } from "@stackyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildComponent,
  type ComponentBuild,
  expectConfigRoundTrip,
  expectNoSecretsIn,
  expectSecretsMasked,
  expectUserFacingError,
  failureOf,
  label,
  leakedIn,
  secretValuesOf,
} from "./component-checks.js";

/** A connector whose `verify()` must fail (rejected credentials, unreachable endpoint). */
export interface ServiceConnectorFailure {
  /** Shown in the test's title, e.g. "rejected credentials". */
  what: string;
  /** Its config (or a function returning it); the connector is built from the flavor like the suite's own. */
  config: Record<string, unknown> | (() => Record<string, unknown>);
  /** Runs before `verify()` (e.g. make an emulator enforce authentication). */
  before?: () => Promise<void>;
  /** Runs after `verify()`, failed or not. */
  after?: () => Promise<void>;
}

/** Options of {@link testServiceConnector}. */
export interface ServiceConnectorSuiteOptions {
  /** Shown in the suite's title. */
  name: string;
  /** The flavor under test. */
  flavor: AnyFlavor;
  /**
   * A working config whose `verify()` succeeds, with every secret field set to
   * a distinctive value (8+ characters); or a function returning it, called
   * once before the tests (when it names an endpoint started by the test file).
   */
  config: Record<string, unknown> | (() => Record<string, unknown>);
  /** The config fields the flavor must mark secret; omitted: whatever it marks is tested. */
  secretKeys?: readonly string[];
  /** More values that must never show. At least 8 characters each. */
  secretValues?: readonly string[];
  /** Resource types to `connect()` to after `verify()`; default every type the connector lists. */
  connectTo?: readonly string[];
  /** Connectors that cannot work: `verify()` must fail with a Stackyard error naming it and no secret. */
  failures?: readonly ServiceConnectorFailure[];
  /** Releases what a connector holds. */
  cleanup?: (connector: ServiceConnector<any>) => Promise<void>;
  /** Timeout of each test that talks to the service; default 60 s. */
  timeoutMs?: number;
}

const resolve = (config: Record<string, unknown> | (() => Record<string, unknown>)): Record<string, unknown> =>
  typeof config === "function" ? config() : config;

/**
 * Registers `describe`/`it` blocks checking that a service connector flavor
 * is well formed, round-trips its config through the CLI's stages, masks its
 * secrets, verifies working credentials without showing them (in
 * `describe()`, `String()`, `JSON.stringify`, `util.inspect`, the identity or
 * the resources), refuses unknown resource types, and fails `verify()` with
 * Stackyard errors that name it and hold no secret.
 */
export function testServiceConnector(options: ServiceConnectorSuiteOptions): void {
  const timeout = options.timeoutMs ?? 60_000;
  const made: ServiceConnector<any>[] = [];

  describe(`service connector conformance: ${options.name}`, () => {
    let connector: ServiceConnector<any>;
    let secrets: string[];
    let build: ComponentBuild;

    const make = async (config: Record<string, unknown>, name = "conformance_connector"): Promise<ServiceConnector<any>> => {
      const component = await buildComponent<ServiceConnector<any>>(build, config, name);
      made.push(component);
      return component;
    };

    beforeAll(async () => {
      build = { flavor: options.flavor, config: resolve(options.config) };
      secrets = secretValuesOf(options.flavor, build.config, options.secretValues);
      connector = await make(build.config);
    });
    afterAll(async () => {
      if (options.cleanup) for (const component of made) await options.cleanup(component);
    });

    describe("the flavor and its config", () => {
      it("is a service connector flavor that lists its auth methods and resource types", () => {
        expect(flavorProblems(options.flavor)).toEqual([]);
        expect(options.flavor.type).toBe("service_connector");
        expect(connector.type).toBe("service_connector");
        for (const list of ["authMethods", "resourceTypes"] as const) {
          expect(connector[list].length, `${list} is not empty`).toBeGreaterThan(0);
          for (const item of connector[list]) expect(item, `${list} holds names`).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
        }
      });

      it("round-trips its config: command-line strings, stored open values and secrets, the constructed connector", async () => {
        await expectConfigRoundTrip(build, "service_connector", (config) => make(config));
      });

      it("masks its secret fields in what describe shows", () => {
        expectSecretsMasked(build, options.secretKeys, secrets);
      });
    });

    describe("verify and connect", () => {
      it(
        "verifies working credentials: an identity and resources of its types, and no secret anywhere",
        async () => {
          expectNoSecretsIn(connector, secrets, "before verify()");
          const verified = await connector.verify();
          expect(verified.identity, "verify() names who the credentials belong to").toMatch(/\S/);
          expect(leakedIn(JSON.stringify(verified), secrets), "verify()'s identity and resources hold secret values").toEqual([]);
          for (const resource of verified.resources) {
            expect(connector.resourceTypes, `resource ${resource.resourceId} has a type the connector lists`).toContain(resource.resourceType);
            expect(resource.resourceId, "resource ids are non-empty strings").toMatch(/\S/);
          }
          const listed = await connector.listResources(connector.resourceTypes[0]);
          for (const resource of listed) expect(resource.resourceType).toBe(connector.resourceTypes[0]);
          for (const type of options.connectTo ?? connector.resourceTypes) await connector.connect(type);
          expectNoSecretsIn(connector, secrets, "after verify() and connect()");
        },
        timeout,
      );

      it("refuses a resource type it does not list with a Stackyard error naming it", async () => {
        const error = await failureOf(() => connector.connect("no-such-resource-type"), `${label(connector)}.connect("no-such-resource-type")`);
        expectUserFacingError(error, connector, secrets, `connect("no-such-resource-type")`);
      });
    });

    if (options.failures?.length) {
      describe("failures", () => {
        for (const failure of options.failures!) {
          it(
            `${failure.what}: verify() fails with a Stackyard error naming the connector, without secrets`,
            async () => {
              const config = resolve(failure.config);
              const failing = await make(config, "conformance_failing");
              const failureSecrets = [...new Set([...secrets, ...secretValuesOf(options.flavor, config)])];
              await failure.before?.();
              let error: unknown;
              try {
                error = await failureOf(() => failing.verify(), `${failure.what}: ${label(failing)}.verify()`);
              } finally {
                await failure.after?.();
              }
              expectUserFacingError(error, failing, failureSecrets, `${failure.what}: verify()`);
              expectNoSecretsIn(failing, failureSecrets, "after verify() failed");
            },
            timeout,
          );
        }
      });
    }
  });
}
