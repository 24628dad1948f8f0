import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { type AwsConnectorConfigInput, awsConnectorFlavor } from "@stackyard/connector-aws";
import { AwsServiceConnector } from "@stackyard/connector-aws/implementation";
import { AuthenticationError, ConfigError } from "@stackyard/core";
import { closedPort } from "@stackyard/tools/testing";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";

const REGION = "eu-west-1";
const KEY = "AKIASTACKYARDTEST001";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
let moto: MotoServer;

function connector(config: AwsConnectorConfigInput, name = "aws_test"): AwsServiceConnector {
  return new AwsServiceConnector({ id: "c1", name, flavor: "aws", config: config as never, sourceRoot: process.cwd() });
}

beforeAll(async () => {
  moto = await ensureMoto();
  const s3 = new S3Client({ region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(new CreateBucketCommand({ Bucket: "connector-bucket", CreateBucketConfiguration: { LocationConstraint: REGION } }));
  s3.destroy();
});
afterAll(async () => moto?.stop());

describe("the aws connector against moto", () => {
  it("verifies secret-key credentials and lists the bucket and the ECR registry", async () => {
    const c = connector({ auth_method: "secret-key", region: REGION, endpoint_url: moto.endpoint, access_key_id: KEY, secret_access_key: SECRET });
    const result = await c.verify();
    expect(result.identity).toMatch(/^arn:aws:sts::\d{12}:user\//);
    expect(result.resources).toContainEqual({ resourceType: "s3-bucket", resourceId: "s3://connector-bucket" });
    expect(result.resources).toContainEqual({ resourceType: "docker-registry", resourceId: `123456789012.dkr.ecr.${REGION}.amazonaws.com` });
    expect(result.resources).toContainEqual({ resourceType: "aws-generic", resourceId: REGION });
    expect(await c.listResources("s3-bucket")).toEqual([{ resourceType: "s3-bucket", resourceId: "s3://connector-bucket" }]);
  });

  it("uses a temporary STS token as given (sts-token)", async () => {
    const c = connector({
      auth_method: "sts-token",
      region: REGION,
      endpoint_url: moto.endpoint,
      access_key_id: "ASIAIOSFODNN7EXAMPLE",
      secret_access_key: SECRET,
      session_token: "FwoGZXIvYXdzEXAMPLETOKEN",
    });
    const creds = await c.credentials()();
    expect(creds.sessionToken).toBe("FwoGZXIvYXdzEXAMPLETOKEN");
    expect((await c.verify()).identity).toContain("arn:aws:sts::");
  });

  it("asks STS for a session token (session-token)", async () => {
    const c = connector({
      auth_method: "session-token",
      region: REGION,
      endpoint_url: moto.endpoint,
      access_key_id: KEY,
      secret_access_key: SECRET,
      duration_seconds: 900,
    });
    const creds = await c.credentials()();
    expect(creds.accessKeyId).not.toBe(KEY);
    expect(creds.sessionToken).toBeTruthy();
    expect(creds.expiration!.getTime()).toBeGreaterThan(Date.now());
    await c.verify();
  });

  it("assumes a role (iam-role) and reports the assumed-role identity", async () => {
    const c = connector({
      auth_method: "iam-role",
      region: REGION,
      endpoint_url: moto.endpoint,
      access_key_id: KEY,
      secret_access_key: SECRET,
      role_arn: "arn:aws:iam::123456789012:role/stackyard-test",
      role_session_name: "ci-session",
      external_id: "ext-123",
    });
    const result = await c.verify();
    expect(result.identity).toBe("arn:aws:sts::123456789012:assumed-role/stackyard-test/ci-session");
  });

  it("takes credentials from the environment (implicit)", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00001");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", SECRET);
    vi.stubEnv("AWS_REGION", REGION);
    vi.stubEnv("AWS_PROFILE", undefined);
    try {
      const c = connector({ auth_method: "implicit", endpoint_url: moto.endpoint });
      const creds = await c.credentials()();
      expect(creds.accessKeyId).toBe("AKIAENVIRONMENT00001");
      expect(c.region()).toBe(REGION);
      expect((await c.verify()).resources.some((r) => r.resourceType === "s3-bucket")).toBe(true);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("renews assumed-role credentials before they expire, with a new AssumeRole", async () => {
    const c = connector({
      auth_method: "iam-role",
      region: REGION,
      endpoint_url: moto.endpoint,
      access_key_id: KEY,
      secret_access_key: SECRET,
      role_arn: "arn:aws:iam::123456789012:role/short",
      duration_seconds: 900,
    });
    // Credentials live 900 s; renew them once fewer than 898.5 s are left, i.e. after 1.5 s.
    c.refreshWindowMs = 898_500;
    const provider = c.credentials();
    const first = await provider();
    expect(await provider()).toBe(first);
    await new Promise((r) => setTimeout(r, 2000));
    const second = await provider();
    expect(second.accessKeyId).not.toBe(first.accessKeyId);
    expect(second.expiration!.getTime()).toBeGreaterThan(first.expiration!.getTime());
    expect(await provider()).toBe(second);
  });

  it("hands out a client config that SDK clients use as is", async () => {
    const c = connector({ auth_method: "secret-key", region: REGION, endpoint_url: moto.endpoint, access_key_id: KEY, secret_access_key: SECRET });
    const config = await c.connect("s3-bucket", "s3://connector-bucket/prefix");
    expect(config).toMatchObject({ region: REGION, endpoint: moto.endpoint, forcePathStyle: true });
    const s3 = new S3Client(config);
    await s3.send(new PutObjectCommand({ Bucket: "connector-bucket", Key: "hello.txt", Body: "hi" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "connector-bucket", Key: "hello.txt" }));
    expect(await got.Body!.transformToString()).toBe("hi");
    s3.destroy();
  });

  it("refuses bad credentials with an error naming the connector and the fix", async () => {
    const c = connector(
      { auth_method: "secret-key", region: REGION, endpoint_url: moto.endpoint, access_key_id: "AKIANOTAREALKEY00000", secret_access_key: SECRET },
      "aws_bad",
    );
    await moto.enforceAuth(0);
    try {
      const error = await c.verify().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AuthenticationError);
      const e = error as AuthenticationError;
      expect(e.message).toContain("service connector 'aws_bad'");
      expect(e.message).toContain("rejected the credentials (InvalidClientTokenId)");
      expect(e.hint).toContain("stackyard service-connector update aws_bad");
    } finally {
      await moto.enforceAuth(Infinity);
    }
  });

  it("reports an unreachable endpoint", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const c = connector({ auth_method: "secret-key", region: REGION, endpoint_url: endpoint, access_key_id: KEY, secret_access_key: SECRET }, "aws_down");
    const error = (await c.verify().catch((e: unknown) => e)) as AuthenticationError;
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain(`${endpoint} is unreachable (ECONNREFUSED)`);
    expect(error.hint).toContain("--endpoint_url");
  });

  it("refuses a registry in another region", async () => {
    const c = connector({ auth_method: "secret-key", region: REGION, endpoint_url: moto.endpoint, access_key_id: KEY, secret_access_key: SECRET });
    const error = (await c.connect("docker-registry", "123456789012.dkr.ecr.us-east-2.amazonaws.com").catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain("configured for region eu-west-1, but registry 123456789012.dkr.ecr.us-east-2.amazonaws.com is in region us-east-2");
    await expect(c.connect("docker-registry", "registry.example.com")).rejects.toThrow(/not an ECR registry address/);
    await expect(c.connect("kubernetes-cluster")).rejects.toThrow(/cannot connect to resource type 'kubernetes-cluster'/);
  });
});

describe("expired credentials (moto never expires tokens, so STS is stubbed here)", () => {
  it("says the token expired and how to renew it", async () => {
    const mock = mockClient(STSClient);
    try {
      mock
        .on(GetCallerIdentityCommand)
        .rejects(
          Object.assign(new Error("The security token included in the request is expired"), { name: "ExpiredToken", $metadata: { httpStatusCode: 403 } }),
        );
      const c = connector(
        {
          auth_method: "sts-token",
          region: REGION,
          access_key_id: "ASIAIOSFODNN7EXAMPLE",
          secret_access_key: SECRET,
          session_token: "FwoGZXIvYXdzEXAMPLETOKEN",
        },
        "aws_sts",
      );
      const error = (await c.verify().catch((e: unknown) => e)) as AuthenticationError;
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.message).toBe(
        "service connector 'aws_sts' (flavor aws) (auth method sts-token) could not verify credentials with STS GetCallerIdentity: the credentials have expired (ExpiredToken)",
      );
      expect(error.hint).toContain("stackyard service-connector update aws_sts --session_token=");
    } finally {
      mock.restore();
    }
  });
});

describe("the aws connector flavor", () => {
  it("names the key each auth method is missing", () => {
    const problems = (config: unknown) => awsConnectorFlavor.configSchema.safeParse(config).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(problems({ auth_method: "secret-key", region: REGION, access_key_id: KEY })).toEqual([
      expect.stringMatching(/^secret_access_key: required by auth method 'secret-key'/),
    ]);
    expect(problems({ auth_method: "sts-token", region: REGION, access_key_id: KEY, secret_access_key: "x" })).toEqual([
      expect.stringMatching(/^session_token: required by auth method 'sts-token'/),
    ]);
    expect(problems({ auth_method: "iam-role", region: REGION })).toEqual([expect.stringMatching(/^role_arn: required/)]);
    expect(problems({ auth_method: "iam-role", region: REGION, role_arn: "arn:aws:iam::123456789012:role/r", access_key_id: KEY })).toEqual([
      expect.stringMatching(/^secret_access_key: access_key_id and secret_access_key go together/),
    ]);
    expect(problems({ auth_method: "session-token", access_key_id: KEY, secret_access_key: "x" })).toEqual([expect.stringMatching(/^region: required/)]);
    expect(problems({ auth_method: "implicit", secret_access_key: "x" })).toEqual([
      expect.stringMatching(/^secret_access_key: not used by auth method 'implicit'/),
    ]);
    expect(problems({ auth_method: "secret-key", region: REGION, access_key_id: KEY, secret_access_key: "x", colour: "red" })).toEqual([
      expect.stringMatching(/colour/),
    ]);
    expect(problems({ auth_method: "implicit" })).toEqual([]);
  });

  it("auto-configures region and profile without copying secrets for the implicit method", async () => {
    const env = { AWS_REGION: "eu-central-1", AWS_PROFILE: "dev", AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: "tok-123456" };
    const config = await awsConnectorFlavor.autoConfigure({ env });
    expect(config).toEqual({ auth_method: "implicit", region: "eu-central-1", profile: "dev" });
    expect(await awsConnectorFlavor.autoConfigure({ env, authMethod: "secret-key" })).toMatchObject({
      auth_method: "secret-key",
      access_key_id: KEY,
      secret_access_key: SECRET,
    });
    expect(await awsConnectorFlavor.autoConfigure({ env, authMethod: "sts-token" })).toMatchObject({ session_token: "tok-123456" });
  });

  it("auto-configures the region of the profile in the AWS config file", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(`${tmpdir()}/aws-config-`);
    await writeFile(`${dir}/config`, "[default]\nregion = us-west-2\n\n[profile dev]\nregion = ap-south-1\n");
    expect((await awsConnectorFlavor.autoConfigure({ env: { AWS_CONFIG_FILE: `${dir}/config` } })).region).toBe("us-west-2");
    expect((await awsConnectorFlavor.autoConfigure({ env: { AWS_CONFIG_FILE: `${dir}/config`, AWS_PROFILE: "dev" } })).region).toBe("ap-south-1");
    await expect(awsConnectorFlavor.autoConfigure({ env: { AWS_CONFIG_FILE: `${dir}/missing` } })).rejects.toThrow(/no region found/);
  });

  it("loads its implementation lazily", async () => {
    expect(await awsConnectorFlavor.implementation()).toBe(AwsServiceConnector);
  });
});
