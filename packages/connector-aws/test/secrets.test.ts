import { inspect } from "node:util";
import { type AwsConnectorConfigInput, awsConnectorFlavor } from "@stackyard/connector-aws";
import { AwsServiceConnector } from "@stackyard/connector-aws/implementation";
import { closedPort, expectLightFlavorModule } from "@stackyard/tools/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";

const SECRET = "leak-test-SECRET-9f8e7d6c5b4a";
const SESSION = "leak-test-SESSIONTOKEN-1a2b3c";
const KEY = "AKIALEAKTESTKEY00001";
const REGION = "eu-west-1";
let moto: MotoServer;

beforeAll(async () => {
  moto = await ensureMoto();
});
afterAll(async () => moto?.stop());

const configs = (endpoint: string): AwsConnectorConfigInput[] => [
  { auth_method: "secret-key", region: REGION, endpoint_url: endpoint, access_key_id: KEY, secret_access_key: SECRET },
  { auth_method: "sts-token", region: REGION, endpoint_url: endpoint, access_key_id: KEY, secret_access_key: SECRET, session_token: SESSION },
  { auth_method: "session-token", region: REGION, endpoint_url: endpoint, access_key_id: KEY, secret_access_key: SECRET },
  {
    auth_method: "iam-role",
    region: REGION,
    endpoint_url: endpoint,
    access_key_id: KEY,
    secret_access_key: SECRET,
    role_arn: "arn:aws:iam::123456789012:role/leak",
  },
];

const make = (config: AwsConnectorConfigInput) =>
  new AwsServiceConnector({ id: "c", name: "aws_leak", flavor: "aws", config: config as never, sourceRoot: process.cwd() });

/** Every way a value turns into text a user or a log could see. */
function renderings(value: unknown): string[] {
  const out = [String(value), inspect(value, { depth: Infinity, showHidden: true, getters: true })];
  try {
    out.push(JSON.stringify(value) ?? "");
  } catch {
    // circular: inspect covered it
  }
  if (value instanceof Error) {
    out.push(value.message, value.stack ?? "", String((value as { hint?: string }).hint), JSON.stringify({ ...value }));
    if (value.cause !== undefined) out.push(...renderings(value.cause));
  }
  return out;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e,
  );
}

describe("secrets never leave the connector", () => {
  it("in describe, toString, JSON and inspect of every auth method, and in verify results", async () => {
    const seen: string[] = [];
    for (const config of configs(moto.endpoint)) {
      const c = make(config);
      seen.push(...renderings(c), c.describe(), JSON.stringify(c.maskedConfig()), inspect(c.config === undefined ? c : c.maskedConfig()));
      seen.push(...renderings(await c.verify()), ...renderings(await c.listResources()));
      const connected = await c.connect("s3-bucket", "s3://leak-bucket");
      seen.push(JSON.stringify(connected), inspect(connected));
      expect(c.maskedConfig().secret_access_key).toBe("********");
    }
    expect(seen.length).toBeGreaterThan(20);
    for (const text of seen) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SESSION);
    }
  });

  it("in the errors of bad credentials, unreachable endpoints, region mismatches and invalid configs", async () => {
    const errors: unknown[] = [];
    await moto.enforceAuth(0);
    try {
      for (const config of configs(moto.endpoint)) errors.push(await failure(make(config).verify()));
    } finally {
      await moto.enforceAuth(Infinity);
    }
    const down = `http://127.0.0.1:${await closedPort()}`;
    for (const config of configs(down)) {
      errors.push(await failure(make(config).verify()));
      errors.push(
        await failure(
          make(config)
            .credentials()()
            .then((creds) => (config.auth_method === "secret-key" || config.auth_method === "sts-token" ? Promise.reject(new Error("static")) : creds)),
        ),
      );
    }
    errors.push(await failure(make(configs(moto.endpoint)[1]!).connect("docker-registry", "123456789012.dkr.ecr.us-east-2.amazonaws.com")));
    errors.push(await failure(make(configs(moto.endpoint)[0]!).connect("nope")));
    errors.push(
      await failure(
        Promise.resolve().then(() =>
          make({ auth_method: "secret-key", region: REGION, access_key_id: KEY, secret_access_key: SECRET, session_token: SESSION }),
        ),
      ),
    );
    errors.push(await failure(Promise.resolve().then(() => make({ auth_method: "implicit", secret_access_key: SECRET, session_token: SESSION }))));
    const parsed = awsConnectorFlavor.configSchema.safeParse({ auth_method: "iam-role", secret_access_key: SECRET, session_token: SESSION });
    expect(parsed.success).toBe(false);

    expect(errors.filter((e) => e instanceof Error && e.message !== "static").length).toBeGreaterThanOrEqual(12);
    const seen = [...errors.flatMap(renderings), JSON.stringify(parsed.error?.issues), parsed.error?.message ?? ""];
    for (const text of seen) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SESSION);
    }
  });
});

describe("the flavor module stays light", () => {
  it("imports neither the AWS SDK nor the implementation, directly or through its own files", () => {
    const seen = expectLightFlavorModule(new URL("../src/index.ts", import.meta.url), /^@aws-sdk\/|^@smithy\/|implementation/);
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });
});
