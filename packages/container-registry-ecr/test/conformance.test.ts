/**
 * The aws (ECR) container registry passes the container registry conformance
 * kit against moto, through an aws connector: config round-trip, push tokens
 * never shown, repositories prepared idempotently, failures as Stackyard errors.
 */
import { testContainerRegistry } from "@stackyard/conformance";
import { AwsServiceConnector } from "@stackyard/connector-aws/implementation";
import { ecrContainerRegistryFlavor } from "@stackyard/container-registry-ecr";
import { EcrContainerRegistry } from "@stackyard/container-registry-ecr/implementation";
import type { BaseContainerRegistry } from "@stackyard/core";
import { closedPort } from "@stackyard/tools/testing";
import { afterAll, beforeAll } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";

const REGION = "eu-west-1";
const ECR_URI = `123456789012.dkr.ecr.${REGION}.amazonaws.com`;
const KEY = "AKIASTACKYARDECRKIT1";
const SECRET = "ecr-kit-secret-access-key-never-shown";

let moto: MotoServer;

beforeAll(async () => {
  moto = await ensureMoto();
});
afterAll(async () => moto?.stop());

function connector(endpoint: string, name = "aws_moto"): AwsServiceConnector {
  return new AwsServiceConnector({
    id: `${name}-id`,
    name,
    flavor: "aws",
    config: { auth_method: "secret-key", region: REGION, endpoint_url: endpoint, access_key_id: KEY, secret_access_key: SECRET } as never,
    sourceRoot: process.cwd(),
  });
}

testContainerRegistry({
  name: "aws (ECR) on moto, through an aws connector",
  flavor: ecrContainerRegistryFlavor,
  config: { uri: ECR_URI },
  connector: async () => connector(moto.endpoint),
  // ECR's config holds no secret; the connector's keys and ECR's push token must never show.
  secretKeys: [],
  secretValues: [KEY, SECRET],
  repository: "stackyard-conformance/probe",
  cleanup: (registry) => (registry as EcrContainerRegistry).close(),
  failures: [
    {
      what: "ECR unreachable",
      create: async () =>
        new EcrContainerRegistry({
          id: "down-id",
          name: "ecr_down",
          flavor: "aws",
          config: { uri: ECR_URI },
          connector: connector(`http://127.0.0.1:${await closedPort()}`, "aws_down"),
          sourceRoot: process.cwd(),
        }),
    },
    {
      what: "credentials ECR rejects",
      create: async () =>
        new EcrContainerRegistry({
          id: "bad-id",
          name: "ecr_rejected",
          flavor: "aws",
          config: { uri: ECR_URI },
          connector: connector(moto.endpoint),
          sourceRoot: process.cwd(),
        }),
      act: (registry: BaseContainerRegistry<any>) => registry.prepareRepository("stackyard-conformance/rejected"),
      before: () => moto.enforceAuth(0),
      after: () => moto.enforceAuth(Number.POSITIVE_INFINITY),
    },
  ],
});
