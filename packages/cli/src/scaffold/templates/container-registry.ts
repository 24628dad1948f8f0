import type { ScaffoldNames } from "../names.js";

export function containerRegistryIndex(n: ScaffoldNames): string {
  return `/**
 * \`${n.packageName}\`: the \`${n.flavor}\` container registry flavor for Stackyard.
 *
 * This module stays light (zod and @stackyard/core): the CLI imports it to
 * list, describe and validate components, and loads the implementation only
 * when an image is pushed.
 *
 * @packageDocumentation
 */
import { baseContainerRegistryConfigSchema, defineFlavor, secretString } from "@stackyard/core";
import { z } from "zod";

/** Component config of a \`${n.flavor}\` container registry: \`--key=value\` on \`stackyard container-registry register\`. */
export const ${n.schemaExport} = baseContainerRegistryConfigSchema
  .extend({
    uri: z.string().min(1).describe("Registry address, e.g. registry.example.com or 127.0.0.1:5001"),
    username: z.string().min(1).optional().describe("User name for pushes; without one, pushes are anonymous"),
    // A secret: stored apart from the config and masked in every output.
    password: secretString().optional().describe("Password or token that goes with username"),
  })
  .strict()
  .refine((config) => config.password === undefined || config.username !== undefined, { message: "password needs username", path: ["username"] });
export type ${n.configType} = z.output<typeof ${n.schemaExport}>;

/** The \`${n.flavor}\` container registry flavor. */
export const ${n.flavorExport} = defineFlavor({
  name: "${n.flavor}",
  type: "container_registry",
  description: "An image registry reached with a user name and password",
  configSchema: ${n.schemaExport},
  remote: true,
  packageName: "${n.packageName}",
  // The only place the implementation (and whatever it imports) is loaded.
  implementation: async () => (await import("./implementation.js")).${n.className},
});
`;
}

export function containerRegistryImplementation(n: ScaffoldNames): string {
  return `import { inspect } from "node:util";
import { BaseContainerRegistry, type RegistryAuth, SECRET_MASK } from "@stackyard/core";
import type { ${n.configType} } from "./index.js";

/**
 * A registry at \`uri\`, with push credentials from the component's config.
 * Registries that hand out tokens (ECR, GCR) fetch them here instead, and
 * create repositories on demand in \`prepareRepository\`.
 */
export class ${n.className} extends BaseContainerRegistry<${n.configType}> {
  async credentials(): Promise<RegistryAuth | undefined> {
    if (this.config.username === undefined) return undefined;
    return { username: this.config.username, password: this.config.password ?? "", serveraddress: this.uri };
  }

  /** The config with the password masked: what logs and JSON show of this registry. */
  maskedConfig(): Record<string, unknown> {
    const { password, ...open } = this.config;
    return password === undefined ? open : { ...open, password: SECRET_MASK };
  }

  toJSON(): Record<string, unknown> {
    return { type: this.type, flavor: this.flavor, name: this.name, id: this.id, config: this.maskedConfig() };
  }

  [inspect.custom](): string {
    return \`${n.className} \${inspect(this.toJSON())}\`;
  }
}
`;
}

export function containerRegistryTest(n: ScaffoldNames): string {
  return `import { testContainerRegistry } from "@stackyard/conformance";
import { describe, expect, it } from "vitest";
import { ${n.flavorExport} } from "../src/index.js";

// The behaviour every Stackyard container registry must have: config
// round-trip, secrets masked, image names, push credentials never shown.
testContainerRegistry({
  name: "${n.flavor}",
  flavor: ${n.flavorExport},
  config: { uri: "127.0.0.1:5001", username: "ci", password: "a-distinctive-password" },
  secretKeys: ["password"],
});

describe("${n.flavor} container registry", () => {
  it("pushes anonymously without a username", async () => {
    const Registry = await ${n.flavorExport}.implementation();
    const registry = new Registry({ id: "r1", name: "registry", flavor: "${n.flavor}", config: ${n.flavorExport}.configSchema.parse({ uri: "127.0.0.1:5001" }), sourceRoot: process.cwd() });
    expect(await registry.credentials()).toBeUndefined();
  });

  it("refuses unknown keys, and a password without a username", () => {
    expect(${n.flavorExport}.configSchema.safeParse({ uri: "r", pasword: "p" }).success).toBe(false);
    expect(${n.flavorExport}.configSchema.safeParse({ uri: "r", password: "p" }).success).toBe(false);
  });
});
`;
}
