/**
 * The behaviour every container registry must have, as a vitest suite.
 *
 * @example
 * ```ts
 * testContainerRegistry({ name: "my_registry", flavor: myRegistryFlavor, config: { uri: "127.0.0.1:5001", password: "a-distinctive-secret" }, secretKeys: ["password"] });
 * ```
 */
import { type AnyFlavor, type BaseContainerRegistry, flavorProblems, type RegistryAuth, type ServiceConnector } from "@stackyard/core";
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
  secretValuesOf,
} from "./component-checks.js";

/** A registry that cannot work (unreachable, rejected credentials): what it must say. */
export interface ContainerRegistryFailure {
  /** Shown in the test's title, e.g. "an unreachable endpoint". */
  what: string;
  /** Builds the failing registry; `connector` is the suite's own when it has one. */
  create: () => Promise<BaseContainerRegistry<any>>;
  /** What must fail; default `registry.credentials()`. */
  act?: (registry: BaseContainerRegistry<any>) => Promise<unknown>;
  /** Runs before `act` (e.g. make an emulator reject credentials). */
  before?: () => Promise<void>;
  /** Runs after `act`, failed or not. */
  after?: () => Promise<void>;
}

/** Options of {@link testContainerRegistry}. */
export interface ContainerRegistrySuiteOptions {
  /** Shown in the suite's title. */
  name: string;
  /** The flavor under test: the suite loads its implementation and builds registries from `config`. */
  flavor: AnyFlavor;
  /**
   * A valid config, with every secret field the flavor has set to a distinctive
   * value (8+ characters); or a function returning it, called once before the
   * tests (when it names an endpoint started by the test file).
   */
  config: Record<string, unknown> | (() => Record<string, unknown>);
  /** The connector the registries authenticate through, if any. Called once. */
  connector?: () => Promise<ServiceConnector | undefined>;
  /** The config fields the flavor must mark secret; omitted: whatever it marks is tested. */
  secretKeys?: readonly string[];
  /** More values that must never show: the connector's keys, for example. At least 8 characters each. */
  secretValues?: readonly string[];
  /**
   * A repository name to prepare (`prepareRepository`, twice: it must be
   * idempotent); default `stackyard-conformance/probe`. `null` skips it.
   */
  repository?: string | null;
  /** Registries that cannot work: each must fail with a Stackyard error naming it and no secret. */
  failures?: readonly ContainerRegistryFailure[];
  /** Releases what a registry holds (clients, sockets). */
  cleanup?: (registry: BaseContainerRegistry<any>) => Promise<void>;
  /** Timeout of each test that talks to the registry; default 60 s. */
  timeoutMs?: number;
}

/**
 * Registers `describe`/`it` blocks checking that a container registry flavor
 * is well formed, round-trips its config through the CLI's stages, masks its
 * secrets, names images under its address, hands out push credentials for
 * that address without ever showing them, prepares repositories idempotently,
 * and fails with Stackyard errors that name it and hold no secret.
 */
export function testContainerRegistry(options: ContainerRegistrySuiteOptions): void {
  const timeout = options.timeoutMs ?? 60_000;
  const made: BaseContainerRegistry<any>[] = [];

  describe(`container registry conformance: ${options.name}`, () => {
    let connector: ServiceConnector | undefined;
    let registry: BaseContainerRegistry<any>;
    let secrets: string[];
    let build: ComponentBuild;

    const make = async (config: Record<string, unknown>, name = "conformance_registry"): Promise<BaseContainerRegistry<any>> => {
      const component = await buildComponent<BaseContainerRegistry<any>>(build, config, name, connector);
      made.push(component);
      return component;
    };

    beforeAll(async () => {
      build = { flavor: options.flavor, config: typeof options.config === "function" ? options.config() : options.config };
      secrets = secretValuesOf(options.flavor, build.config, options.secretValues);
      connector = await options.connector?.();
      registry = await make(build.config);
    }, timeout);
    afterAll(async () => {
      if (options.cleanup) for (const component of made) await options.cleanup(component);
    });

    describe("the flavor and its config", () => {
      it("is a container registry flavor", () => {
        expect(flavorProblems(options.flavor)).toEqual([]);
        expect(options.flavor.type).toBe("container_registry");
        expect(registry.type).toBe("container_registry");
      });

      it("round-trips its config: command-line strings, stored open values and secrets, the constructed registry", async () => {
        await expectConfigRoundTrip(build, "container_registry", (config) => make(config));
      });

      it("masks its secret fields in what describe shows", () => {
        expectSecretsMasked(build, options.secretKeys, secrets);
      });
    });

    describe("images and credentials", () => {
      it("names images under its address, without scheme or trailing slash", () => {
        expect(registry.uri, "uri").not.toMatch(/^[a-z]+:\/\/|\/$/);
        expect(registry.imageName("stackyard-conformance/probe", "t1")).toBe(`${registry.uri}/stackyard-conformance/probe:t1`);
      });

      it(
        "hands out push credentials for its address, or none, and never shows them",
        async () => {
          expectNoSecretsIn(registry, secrets, "before any push");
          const auth: RegistryAuth | undefined = await registry.credentials();
          if (auth !== undefined) {
            expect(auth, "credentials() resolves with username, password and serveraddress").toEqual({
              username: expect.any(String),
              password: expect.any(String),
              serveraddress: registry.uri,
            });
          }
          const again = await registry.credentials();
          expect(again === undefined, "credentials() answers the same way twice").toBe(auth === undefined);
          const withToken = auth && auth.password.length >= 8 ? [...secrets, auth.password] : secrets;
          expectNoSecretsIn(registry, withToken, "after credentials() was called");
        },
        timeout,
      );

      if (options.repository !== null) {
        it(
          "prepares a repository, and again without complaint",
          async () => {
            const repository = options.repository ?? "stackyard-conformance/probe";
            await registry.prepareRepository(repository);
            await registry.prepareRepository(repository);
            // A second registry does not know the repository exists already.
            await (await make(build.config, "conformance_registry_2")).prepareRepository(repository);
          },
          timeout,
        );
      }
    });

    if (options.failures?.length) {
      describe("failures", () => {
        for (const failure of options.failures!) {
          it(
            `${failure.what}: fails with a Stackyard error naming the registry, without secrets`,
            async () => {
              const failing = await failure.create();
              made.push(failing);
              await failure.before?.();
              let error: unknown;
              try {
                error = await failureOf(() => (failure.act ?? ((r) => r.credentials()))(failing), `${failure.what}: ${label(failing)}`);
              } finally {
                await failure.after?.();
              }
              expectUserFacingError(error, failing, secrets, `${failure.what}: ${label(failing)}`);
              expectNoSecretsIn(failing, secrets, "after it failed");
            },
            timeout,
          );
        }
      });
    }
  });
}
