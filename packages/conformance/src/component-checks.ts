/**
 * Checks shared by the container registry and service connector suites:
 * config round-trips, secret masking, and where secrets must never show.
 */
import { inspect } from "node:util";
import {
  type AnyFlavor,
  type ComponentType,
  coerceConfigStrings,
  isStackyardError,
  maskSecrets,
  SECRET_MASK,
  type ServiceConnector,
  type StackComponent,
  secretKeys,
  splitSecrets,
} from "@stackyard/core";
import { expect } from "vitest";

/** Shortest secret value the suites accept: a shorter one would match by chance. */
export const MIN_SECRET_LENGTH = 8;

/** The text of a value as a secret: strings as they are, anything else as JSON. */
const asText = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value));

/**
 * The secret values a suite looks for: the config's secret fields and the
 * extra values given. Refuses values too short to be found reliably.
 */
export function secretValuesOf(flavor: AnyFlavor, config: Record<string, unknown>, extra: readonly string[] = []): string[] {
  const keys = secretKeys(flavor.configSchema);
  const values = [...keys.filter((key) => config[key] !== undefined).map((key) => asText(config[key])), ...extra];
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) {
      throw new Error(
        `conformance: a secret value of ${value.length} characters is too short to be looked for in output; use distinctive values of ${MIN_SECRET_LENGTH} or more characters`,
      );
    }
  }
  return values;
}

/** `text` with every secret replaced by the mask, for assertion messages that quote what a component printed. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join(SECRET_MASK), text);
}

/** How assertion messages name a component without calling its (possibly leaking) `describe()`. */
export const label = (component: StackComponent<any>): string => `${component.type} '${component.name}'`;

/** Every secret among `secrets` that occurs in `text`, for an assertion message. */
export function leakedIn(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => text.includes(secret)).map((secret) => `${secret.slice(0, 3)}…`);
}

/**
 * What a person or a log sees of a component: `describe()`, `String()`,
 * `JSON.stringify` and `util.inspect` (what `console.log` prints).
 */
export function renderings(component: StackComponent<any>): Record<string, string> {
  const out: Record<string, string> = { "describe()": component.describe(), "String()": String(component) };
  try {
    out["JSON.stringify"] = JSON.stringify(component) ?? "";
  } catch (error) {
    // A circular structure cannot be serialised, so it cannot leak that way either.
    out["JSON.stringify"] = `(not serialisable: ${(error as Error).message})`;
  }
  out["util.inspect"] = inspect(component, { depth: 8, showHidden: false, getters: false });
  return out;
}

/** Fails when any rendering of `component` holds one of `secrets`. */
export function expectNoSecretsIn(component: StackComponent<any>, secrets: readonly string[], when: string): void {
  for (const [how, text] of Object.entries(renderings(component))) {
    expect(
      leakedIn(text, secrets),
      `${how} of ${label(component)} ${when} shows secret values (${redact(text, secrets).slice(0, 200)}); mask them (maskSecrets, toJSON, [util.inspect.custom]) as AwsServiceConnector does`,
    ).toEqual([]);
  }
}

/**
 * Everything an error carries that reaches a user or a log: message, hint,
 * stack, and the same for its causes, as `util.inspect` prints them.
 */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    const e = current as { message?: unknown; hint?: unknown; stack?: unknown; cause?: unknown };
    parts.push(String(e.message ?? ""), String(e.hint ?? ""), String(e.stack ?? ""));
    current = e.cause;
  }
  parts.push(inspect(error, { depth: 8 }));
  return parts.join("\n");
}

/** Runs `act` and returns what it threw or rejected with; fails when it succeeded. */
export async function failureOf(act: () => unknown, what: string): Promise<unknown> {
  try {
    await act();
  } catch (error) {
    return error;
  }
  expect.fail(`${what} succeeded; it was expected to fail`);
}

/**
 * Checks a failure a user will read: a Stackyard error (so the CLI prints it
 * with its hint and exits 2, not "Unexpected error" with a stack), naming the
 * component, and holding none of the secrets.
 */
export function expectUserFacingError(error: unknown, component: StackComponent<any>, secrets: readonly string[], what: string): void {
  const summary = redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error), secrets);
  expect(
    isStackyardError(error),
    `${what} threw ${summary}; throw a StackyardError of @stackyard/core (AuthenticationError, ConfigError, ...) with a hint instead`,
  ).toBe(true);
  const message = (error as Error).message;
  expect(message.includes(component.name), `${what}: the message names ${label(component)}: ${redact(message, secrets)}`).toBe(true);
  expect(leakedIn(errorText(error), secrets), `${what}: the error (message, hint, stack or cause) shows secret values`).toEqual([]);
}

/** Options every component suite shares for building its component. */
export interface ComponentBuild {
  /** The flavor under test. */
  flavor: AnyFlavor;
  /** A valid config, with every secret field the flavor has set to a distinctive value. */
  config: Record<string, unknown>;
  /** The connector the component authenticates through, if any. */
  connector?: () => Promise<ServiceConnector | undefined>;
}

/** Builds a component from its flavor as the CLI does: implementation loaded, config parsed, then constructed. */
export async function buildComponent<T extends StackComponent<any>>(
  build: ComponentBuild,
  config: Record<string, unknown>,
  name: string,
  connector?: ServiceConnector,
): Promise<T> {
  const Implementation = await build.flavor.implementation();
  const parsed = build.flavor.configSchema.parse(config) as Record<string, unknown>;
  return new Implementation({ id: `${name}-id`, name, flavor: build.flavor.name, config: parsed, connector, sourceRoot: process.cwd() }) as T;
}

/**
 * The journey of a config through the CLI: `--key=value` strings coerced by
 * the schema, split into open values (the database) and secrets (kept apart),
 * both stored as JSON, merged and parsed again, and given to the component.
 * Each stage must give back the same config.
 */
export async function expectConfigRoundTrip(
  build: ComponentBuild,
  type: ComponentType,
  make: (config: Record<string, unknown>) => Promise<StackComponent<any>>,
) {
  const schema = build.flavor.configSchema;
  const parsed = schema.parse(build.config) as Record<string, unknown>;
  const where = `${type} '${build.flavor.name}'`;

  const strings = Object.fromEntries(Object.entries(build.config).map(([key, value]) => [key, asText(value)]));
  const coerced = coerceConfigStrings(schema, strings, where);
  expect(schema.parse(coerced), "the config given as --key=value strings parses to the same config").toEqual(parsed);

  const { open, secrets } = splitSecrets(schema, coerced);
  for (const key of secretKeys(schema)) expect(Object.keys(open), `secret field '${key}' is kept apart from the open config`).not.toContain(key);
  const stored = { ...JSON.parse(JSON.stringify(open)), ...JSON.parse(JSON.stringify(secrets)) };
  expect(schema.parse(stored), "the config stored as JSON (open values and secrets apart) parses back to the same config").toEqual(parsed);
  expect(schema.parse(JSON.parse(JSON.stringify(parsed))), "a parsed config parses to itself (step processes validate it again)").toEqual(parsed);

  const component = await make(stored);
  expect(component.type, "the implementation's type").toBe(type);
  expect(component.flavor).toBe(build.flavor.name);
  expect({ ...component.config }, "the component keeps the config it was given").toEqual(parsed);
  expect(Object.isFrozen(component.config), "the component's config is frozen (StackComponent does this)").toBe(true);
}

/** `maskSecrets` hides every secret field the flavor marks, and exactly those the suite was told. */
export function expectSecretsMasked(build: ComponentBuild, expectedSecretKeys: readonly string[] | undefined, secrets: readonly string[]): void {
  const schema = build.flavor.configSchema;
  const keys = secretKeys(schema);
  if (expectedSecretKeys) {
    expect([...keys].sort(), "the config fields marked secret (secretString() / secretField())").toEqual([...expectedSecretKeys].sort());
  }
  const parsed = schema.parse(build.config) as Record<string, unknown>;
  const masked = maskSecrets(schema, parsed);
  for (const key of keys) if (parsed[key] !== undefined) expect(masked[key], `'${key}' as describe shows it`).toBe(SECRET_MASK);
  expect(leakedIn(JSON.stringify(masked), secrets), "the config as `describe` shows it holds secret values").toEqual([]);
  for (const [key, value] of Object.entries(parsed)) if (!keys.includes(key)) expect(masked[key], `open field '${key}' is shown as it is`).toEqual(value);
}
