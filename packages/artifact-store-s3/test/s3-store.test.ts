import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type S3ArtifactStoreConfigInput, s3ArtifactStoreFlavor } from "@stackyard/artifact-store-s3";
import { S3ArtifactStore } from "@stackyard/artifact-store-s3/implementation";
import { testArtifactStore } from "@stackyard/conformance";
import { AwsServiceConnector } from "@stackyard/connector-aws/implementation";
import { ConfigError, NotFoundError, type ServiceConnector } from "@stackyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";

const REGION = "eu-west-1";
const KEY = "AKIASTACKYARDS3TEST1";
const SECRET = "s3-store-secret-value-that-must-not-leak";
const MiB = 1024 * 1024;

let moto: MotoServer | undefined;
let motoStarting: Promise<MotoServer> | undefined;
/** One moto for this file, started by whichever hook asks first. */
const motoServer = (): Promise<MotoServer> => (motoStarting ??= ensureMoto().then((m) => (moto = m)));
afterAll(async () => moto?.stop());

function rawClient(m: MotoServer): S3Client {
  return new S3Client({ region: REGION, endpoint: m.endpoint, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
}

async function bucket(name: string, region = REGION): Promise<void> {
  const m = await motoServer();
  const s3 = new S3Client({ region, endpoint: m.endpoint, forcePathStyle: true, credentials: { accessKeyId: KEY, secretAccessKey: SECRET } });
  await s3.send(
    new CreateBucketCommand({ Bucket: name, ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as "eu-west-1" } }) }),
  );
  s3.destroy();
}

function connectorFor(m: MotoServer, name = "aws_moto"): AwsServiceConnector {
  return new AwsServiceConnector({
    id: "conn",
    name,
    flavor: "aws",
    config: { auth_method: "secret-key", region: REGION, endpoint_url: m.endpoint, access_key_id: KEY, secret_access_key: SECRET } as never,
    sourceRoot: process.cwd(),
  });
}

function store(config: S3ArtifactStoreConfigInput, connector?: ServiceConnector, name = "s3_store"): S3ArtifactStore {
  return new S3ArtifactStore({ id: "s1", name, flavor: "s3", config: config as never, connector, sourceRoot: process.cwd() });
}

testArtifactStore({
  name: "s3 on moto, through an aws connector",
  create: async () => {
    const m = await motoServer();
    await bucket("conformance");
    // 5 MiB parts and threshold, so the 20 MB file is a real multipart upload.
    return store({ path: "s3://conformance/root/prefix", multipart_threshold: 5 * MiB, multipart_part_size: 5 * MiB }, connectorFor(m));
  },
  cleanup: async (s) => (s as S3ArtifactStore).close(),
});

describe("the s3 artifact store against moto", () => {
  let m: MotoServer;
  beforeAll(async () => {
    m = await motoServer();
    await bucket("store-tests");
  });

  it("uploads an object above the multipart threshold in parts, byte-exact", async () => {
    const s = store({ path: "s3://store-tests/mp", multipart_threshold: 5 * MiB, multipart_part_size: 5 * MiB }, connectorFor(m));
    const data = Buffer.alloc(20 * MiB + 123);
    for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    await s.writeFile("big.bin", data);
    // A multipart upload's ETag is "<md5 of part md5s>-<part count>".
    const head = await rawClient(m).send(new HeadObjectCommand({ Bucket: "store-tests", Key: "mp/big.bin" }));
    expect(head.ETag).toMatch(/-5"$/);
    const back = await s.readFile("big.bin");
    expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));

    // And copies it part by part when above the copy threshold.
    s.copyPartThreshold = 8 * MiB;
    s.copyPartSize = 5 * MiB;
    await s.copy("big.bin", "copy.bin");
    expect((await s.readFile("copy.bin")).equals(data)).toBe(true);
    await s.close();
  });

  it("writes small streams with one PutObject", async () => {
    const s = store({ path: "s3://store-tests/small" }, connectorFor(m));
    await s.writeFile(
      "s.txt",
      (async function* () {
        yield Buffer.from("small");
      })(),
    );
    const head = await rawClient(m).send(new HeadObjectCommand({ Bucket: "store-tests", Key: "small/s.txt" }));
    expect(head.ETag).not.toContain("-");
    await s.close();
  });

  it("lists more than 1000 objects page by page, and deletes them in batches on rmtree", async () => {
    const raw = rawClient(m);
    const keys = Array.from({ length: 1203 }, (_, i) => `many/tree/${String(i).padStart(4, "0")}`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((Key) => raw.send(new PutObjectCommand({ Bucket: "store-tests", Key, Body: "x" }))));
    const s = store({ path: "s3://store-tests/many" }, connectorFor(m));
    expect((await s.list("tree")).length).toBe(1203);
    const files = await s.listFiles("tree");
    expect(files.map((f) => f.path)).toEqual(keys.map((k) => k.slice("many/tree/".length)));
    expect(files.every((f) => f.size === 1 && f.etag)).toBe(true);
    await s.rmtree("tree");
    const left = await raw.send(new ListObjectsV2Command({ Bucket: "store-tests", Prefix: "many/" }));
    expect(left.KeyCount).toBe(0);
    raw.destroy();
    await s.close();
  }, 120_000);

  it("works with keys in its config and no connector", async () => {
    const s = store({ path: "s3://store-tests/keys", region: REGION, endpoint_url: m.endpoint, access_key_id: KEY, secret_access_key: SECRET });
    await s.writeFile("k", "v");
    expect((await s.readFile("k")).toString()).toBe("v");
    await s.close();
  });

  it("says which bucket is missing, in which store, and how to fix it", async () => {
    const s = store({ path: "s3://no-such-bucket-here/x" }, connectorFor(m), "my_s3");
    const error = (await s.writeFile("a", "b").catch((e: unknown) => e)) as NotFoundError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toContain("S3 bucket 'no-such-bucket-here' of artifact store 'my_s3' (flavor s3) does not exist");
    expect(error.hint).toContain("aws s3 mb s3://no-such-bucket-here");
    expect(error.hint).toContain("stackyard artifact-store update my_s3 --path=");
    await s.close();
  });

  it("refuses a bucket in another region than the store's", async () => {
    await bucket("far-away-bucket", "us-west-2");
    const s = store({ path: "s3://far-away-bucket" }, connectorFor(m), "my_s3");
    const error = (await s.exists("x").catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe("S3 bucket 'far-away-bucket' of artifact store 'my_s3' (flavor s3) is in region us-west-2, but the store uses region eu-west-1");
    expect(error.hint).toContain("--region=us-west-2");
    await s.close();
  });

  it("keeps its secret out of JSON and inspect output", () => {
    const s = store({ path: "s3://store-tests/keys", region: REGION, endpoint_url: m.endpoint, access_key_id: KEY, secret_access_key: SECRET });
    for (const text of [JSON.stringify(s), inspect(s, { depth: 10 }), String(s)]) expect(text).not.toContain(SECRET);
  });
});

describe("the s3 flavor", () => {
  it("validates the path and names what is wrong", () => {
    const issues = (config: unknown) =>
      s3ArtifactStoreFlavor.configSchema.safeParse(config).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(issues({ path: "s3://my-bucket/some/prefix" })).toEqual([]);
    expect(issues({ path: "s3://my-bucket" })).toEqual([]);
    expect(issues({ path: "my-bucket/prefix" })[0]).toMatch(/^path: expected s3:\/\/BUCKET/);
    expect(issues({ path: "s3://My_Bucket" })[0]).toMatch(/^path: expected s3:\/\/BUCKET/);
    expect(issues({ path: "s3://bucket/a/../b" })[0]).toMatch(/'\.\.' segments/);
    expect(issues({ path: "s3://bucket", multipart_part_size: 1024 })[0]).toMatch(/^multipart_part_size/);
    expect(issues({ path: "s3://bucket", access_key_id: KEY })[0]).toMatch(/^secret_access_key: access_key_id and secret_access_key go together/);
    expect(s3ArtifactStoreFlavor.connectorRequirements).toEqual({ connectorType: "aws", resourceType: "s3-bucket" });
  });

  it("loads its implementation lazily", async () => {
    expect(await s3ArtifactStoreFlavor.implementation()).toBe(S3ArtifactStore);
  });
});
