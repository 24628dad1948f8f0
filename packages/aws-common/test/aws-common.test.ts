import { SECRET_MASK, type ServiceConnector } from "@stackyard/core";
import { expectLightFlavorModule } from "@stackyard/tools/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  awsErrorFacts,
  awsErrorKind,
  awsRegionSchema,
  connectAws,
  isAwsAccessDenied,
  isAwsNotFound,
  LazyClient,
  matchEcrAddress,
  resolveRegion,
} from "../src/index.js";

const awsError = (name: string, status?: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });

describe("regions", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("accept region names of every partition and refuse others", () => {
    for (const region of ["eu-west-1", "us-gov-west-1", "us-isob-east-1", "cn-north-1"]) expect(awsRegionSchema.safeParse(region).success).toBe(true);
    for (const region of ["eu-west", "EU-WEST-1", "europe-1", "eu-west-1a"])
      expect(awsRegionSchema.safeParse(region).error?.issues[0]?.message).toBe("expected an AWS region such as eu-west-1");
  });

  it("come from the first setting given, then AWS_REGION, then AWS_DEFAULT_REGION, then the fallback", () => {
    vi.stubEnv("AWS_REGION", undefined);
    vi.stubEnv("AWS_DEFAULT_REGION", undefined);
    expect(resolveRegion([undefined, undefined])).toBeUndefined();
    expect(resolveRegion([undefined], "ap-south-1")).toBe("ap-south-1");
    vi.stubEnv("AWS_DEFAULT_REGION", "eu-central-1");
    expect(resolveRegion([undefined], "ap-south-1")).toBe("eu-central-1");
    vi.stubEnv("AWS_REGION", "eu-west-2");
    expect(resolveRegion([undefined, undefined])).toBe("eu-west-2");
    expect(resolveRegion([undefined, "us-east-2"])).toBe("us-east-2");
    expect(resolveRegion(["eu-west-1", "us-east-2"])).toBe("eu-west-1");
  });

  it("are read from ECR addresses", () => {
    expect(matchEcrAddress("123456789012.dkr.ecr.eu-west-1.amazonaws.com")).toEqual({ account: "123456789012", region: "eu-west-1" });
    expect(matchEcrAddress("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com")).toEqual({ account: "123456789012", region: "us-gov-west-1" });
    expect(matchEcrAddress("registry.example.com")).toBeUndefined();
  });
});

describe("AWS errors", () => {
  it("are classified by code, socket error and HTTP status", () => {
    expect(awsErrorKind(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe("unreachable");
    expect(awsErrorKind(Object.assign(new AggregateError([Object.assign(new Error(), { code: "ETIMEDOUT" })]), {}))).toBe("unreachable");
    expect(awsErrorKind(awsError("TimeoutError"))).toBe("unreachable");
    expect(awsErrorKind(awsError("ExpiredToken", 400))).toBe("expired");
    expect(awsErrorKind(awsError("SignatureDoesNotMatch", 403))).toBe("rejected");
    expect(awsErrorKind(awsError("CredentialsProviderError"))).toBe("no-credentials");
    expect(awsErrorKind(awsError("AccessDeniedException", 400))).toBe("denied");
    expect(awsErrorKind(awsError("Whatever", 403))).toBe("denied");
    expect(awsErrorKind(awsError("PermanentRedirect", 301))).toBe("wrong-region");
    expect(awsErrorKind(awsError("NoSuchKey", 404))).toBe("not-found");
    expect(awsErrorKind(awsError("ValidationException", 400))).toBe("other");
    expect(isAwsNotFound(awsError("NotFound", 404))).toBe(true);
    expect(isAwsAccessDenied(awsError("SignatureDoesNotMatch", 403))).toBe(true);
  });

  it("are taken apart without the secrets in their message", () => {
    const facts = awsErrorFacts(awsError("InvalidAccessKeyId", 403, { message: "key AKIAEXAMPLEEXAMPLE and secret s3cr3t-value" }), [
      "s3cr3t-value",
      undefined,
    ]);
    expect(facts).toMatchObject({ code: "InvalidAccessKeyId", kind: "rejected", message: `key AKIAEXAMPLEEXAMPLE and secret ${SECRET_MASK}` });
    expect(facts.cause.message).toBe(`InvalidAccessKeyId: key AKIAEXAMPLEEXAMPLE and secret ${SECRET_MASK}`);
  });
});

describe("LazyClient", () => {
  it("builds once, builds again after a failure, and destroys on close", async () => {
    const destroy = vi.fn();
    const build = vi.fn().mockRejectedValueOnce(new Error("no credentials yet")).mockResolvedValue({ destroy });
    const client = new LazyClient(build);
    await expect(client.get()).rejects.toThrow("no credentials yet");
    const first = await client.get();
    expect(await client.get()).toBe(first);
    expect(build).toHaveBeenCalledTimes(2);
    await client.close();
    expect(destroy).toHaveBeenCalledTimes(1);
    await client.close();
    expect(destroy).toHaveBeenCalledTimes(1);
  });

  it("asks the connector for a resource, or hands out nothing without one", async () => {
    const connect = vi.fn(async () => ({ region: "eu-west-1", endpoint: "http://127.0.0.1:5000" }));
    const connector = { connect } as unknown as ServiceConnector;
    expect(await connectAws(undefined, "s3-bucket", "s3://b")).toEqual({});
    expect(await connectAws(connector, "s3-bucket", "s3://b")).toEqual({ region: "eu-west-1", endpoint: "http://127.0.0.1:5000" });
    await connectAws(connector, "aws-generic");
    expect(connect.mock.calls).toEqual([["s3-bucket", "s3://b"], ["aws-generic"]]);
  });
});

describe("the package", () => {
  it("imports no AWS SDK module, so flavor modules may import it at top level", () => {
    expectLightFlavorModule(new URL("../src/index.ts", import.meta.url), /^@aws-sdk\/|^@smithy\//);
  });
});
