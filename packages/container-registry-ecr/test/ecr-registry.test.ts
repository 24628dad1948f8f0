import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { AwsServiceConnector } from "@stackyard/connector-aws/implementation";
import { type EcrContainerRegistryConfigInput, ecrContainerRegistryFlavor } from "@stackyard/container-registry-ecr";
import { EcrContainerRegistry } from "@stackyard/container-registry-ecr/implementation";
import { ConfigError } from "@stackyard/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DockerEngine, dockerClient, ensureDockerEngine, ensureRegistry, followProgress, type LocalRegistry } from "../../../tools/src/engines/index.js";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";

const REGION = "eu-west-1";
const ECR_URI = `123456789012.dkr.ecr.${REGION}.amazonaws.com`;
const KEY = "AKIASTACKYARDECRTEST";
const SECRET = "ecr-test-secret-value";

let moto: MotoServer;
beforeAll(async () => {
  moto = await ensureMoto();
});
afterAll(async () => moto?.stop());

function connector(region = REGION): AwsServiceConnector {
  return new AwsServiceConnector({
    id: "conn",
    name: "aws_moto",
    flavor: "aws",
    config: { auth_method: "secret-key", region, endpoint_url: moto.endpoint, access_key_id: KEY, secret_access_key: SECRET } as never,
    sourceRoot: process.cwd(),
  });
}

function registry(config: Partial<EcrContainerRegistryConfigInput> = {}, conn: AwsServiceConnector | undefined = connector()): EcrContainerRegistry {
  return new EcrContainerRegistry({
    id: "r1",
    name: "ecr_registry",
    flavor: "aws",
    config: { uri: ECR_URI, ...config } as never,
    connector: conn,
    sourceRoot: process.cwd(),
  });
}

describe("the ECR registry against moto", () => {
  it("gets push credentials from GetAuthorizationToken through the connector", async () => {
    const r = registry();
    const auth = await r.credentials();
    expect(auth).toEqual({ username: "AWS", password: "123456789012-auth-token", serveraddress: ECR_URI });
    await r.close();
  });

  it("creates repositories on demand, and again without complaint", async () => {
    const r = registry();
    await r.prepareRepository("stackyard/training");
    await r.prepareRepository("stackyard/training");
    // A second instance does not know it was created: moto answers RepositoryAlreadyExistsException.
    const other = registry();
    await other.prepareRepository("stackyard/training");
    const ecr = new ECRClient({ region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
    const listed = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ["stackyard/training"] }));
    expect(listed.repositories?.[0]?.repositoryUri).toBe(`${ECR_URI}/stackyard/training`);
    ecr.destroy();
    await expect(r.prepareRepository("Bad Name")).rejects.toThrow(/not a valid ECR repository name/);
    await r.close();
    await other.close();
  });

  it("pushes to registry_address while the token comes from ECR", async () => {
    const r = registry({ registry_address: "127.0.0.1:5001" });
    expect(r.imageName("stackyard/training", "abc")).toBe("127.0.0.1:5001/stackyard/training:abc");
    expect((await r.credentials()).serveraddress).toBe("127.0.0.1:5001");
    await r.close();
  });

  it("refuses a connector configured for another region", async () => {
    const r = registry({}, connector("us-east-2"));
    await expect(r.credentials()).rejects.toThrow(
      /configured for region us-east-2, but registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com is in region eu-west-1/,
    );
  });
});

describe("ECR token caching (call shapes)", () => {
  it("reuses a token until shortly before it expires", async () => {
    const mock = mockClient(ECRClient);
    try {
      let n = 0;
      mock.on(GetAuthorizationTokenCommand).callsFake(() => ({
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:password-${++n}`).toString("base64"),
            expiresAt: new Date(Date.now() + 12 * 3600_000),
            proxyEndpoint: `https://${ECR_URI}`,
          },
        ],
      }));
      const r = registry({ region: REGION }, undefined);
      const [a, b] = await Promise.all([r.credentials(), r.credentials()]);
      expect(a.password).toBe("password-1");
      expect(b).toBe(a);
      expect((await r.credentials()).password).toBe("password-1");
      expect(mock.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
      // Nearly expired: fetched again.
      mock.on(GetAuthorizationTokenCommand).callsFake(() => ({
        authorizationData: [{ authorizationToken: Buffer.from(`AWS:password-${++n}`).toString("base64"), expiresAt: new Date(Date.now() + 60_000) }],
      }));
      const fresh = registry({ region: REGION }, undefined);
      expect((await fresh.credentials()).password).toBe("password-2");
      expect((await fresh.credentials()).password).toBe("password-3");
    } finally {
      mock.restore();
    }
  });
});

describe("the aws container registry flavor", () => {
  it("validates the ECR address and its region", () => {
    const issues = (config: unknown) =>
      ecrContainerRegistryFlavor.configSchema.safeParse(config).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(issues({ uri: ECR_URI })).toEqual([]);
    expect(issues({ uri: "docker.io/library" })[0]).toMatch(/^uri: expected an ECR registry address ACCOUNT_ID.dkr.ecr.REGION.amazonaws.com/);
    expect(issues({ uri: "12345.dkr.ecr.eu-west-1.amazonaws.com" })[0]).toMatch(/^uri: expected an ECR registry address/);
    expect(issues({ uri: ECR_URI, region: "us-east-1" })[0]).toMatch(/^region: region us-east-1 does not match the registry's region eu-west-1/);
    expect(issues({ uri: ECR_URI, registry_address: "http://127.0.0.1:5001" })[0]).toMatch(/^registry_address: expected a registry address/);
    expect(ecrContainerRegistryFlavor.connectorRequirements).toEqual({ connectorType: "aws", resourceType: "docker-registry" });
    expect(() => registry({ uri: "not-ecr" })).toThrow(ConfigError);
  });

  it("derives the region from the uri and loads its implementation lazily", async () => {
    expect(await ecrContainerRegistryFlavor.implementation()).toBe(EcrContainerRegistry);
    expect(registry({}, undefined).region).toBe(REGION);
  });
});

describe("a real push with ECR credentials", () => {
  let engine: DockerEngine;
  let local: LocalRegistry;
  beforeAll(async () => {
    engine = await ensureDockerEngine();
    local = await ensureRegistry();
  });
  afterAll(async () => {
    await local?.stop();
    await engine?.stop();
  });

  it("builds an image, prepares the repository in ECR and pushes with the token to 127.0.0.1:5001", async () => {
    const docker = dockerClient(engine.dockerHost);
    const r = registry({ registry_address: local.address });
    const repository = "stackyard/ecr-push-test";
    const tag = `t${Date.now()}`;
    const image = r.imageName(repository, tag);
    const dir = await mkdtemp(`${tmpdir()}/ecr-push-`);
    try {
      await writeFile(`${dir}/Dockerfile`, "FROM scratch\nCOPY hello.txt /hello.txt\n");
      await writeFile(`${dir}/hello.txt`, `pushed at ${tag}\n`);
      await followProgress(docker, await docker.buildImage({ context: dir, src: ["Dockerfile", "hello.txt"] }, { t: image }));
      await r.prepareRepository(repository);
      const auth = await r.credentials();
      await followProgress(docker, (await docker.getImage(image).push({ authconfig: auth } as never)) as unknown as NodeJS.ReadableStream);
      const tags = (await (await fetch(`${local.url}/v2/${repository}/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toContain(tag);
      await docker.getImage(image).remove();
    } finally {
      await rm(dir, { recursive: true, force: true });
      await r.close();
    }
  });
});
