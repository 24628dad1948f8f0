/**
 * The aws connector passes the service connector conformance kit against moto:
 * config round-trip, secrets masked, verify's errors are Stackyard errors
 * naming it, credentials never in what it shows.
 */
import { testServiceConnector } from "@stackyard/conformance";
import { awsConnectorFlavor } from "@stackyard/connector-aws";
import { closedPort } from "@stackyard/tools/testing";
import { afterAll, beforeAll } from "vitest";
import { ensureMoto, type MotoServer } from "../../../tools/src/engines/moto.js";

const REGION = "eu-west-1";
const KEY = "AKIASTACKYARDKIT0001";
const SECRET = "kit-secret-access-key-that-must-never-show";

let moto: MotoServer;
let closed: string;

beforeAll(async () => {
  moto = await ensureMoto();
  closed = `http://127.0.0.1:${await closedPort()}`;
});
afterAll(async () => moto?.stop());

const secretKey =
  (endpoint: () => string, key = KEY) =>
  () => ({
    auth_method: "secret-key",
    region: REGION,
    endpoint_url: endpoint(),
    access_key_id: key,
    secret_access_key: SECRET,
  });

testServiceConnector({
  name: "aws on moto",
  flavor: awsConnectorFlavor,
  config: secretKey(() => moto.endpoint),
  secretKeys: ["access_key_id", "secret_access_key", "session_token"],
  failures: [
    {
      what: "rejected credentials",
      config: secretKey(() => moto.endpoint, "AKIANOTAREALKEY00000"),
      before: () => moto.enforceAuth(0),
      after: () => moto.enforceAuth(Number.POSITIVE_INFINITY),
    },
    { what: "an unreachable endpoint", config: secretKey(() => closed) },
  ],
});
