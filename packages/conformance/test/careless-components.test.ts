/**
 * The kits fail careless components: a container registry and a service
 * connector that show their secrets, throw plain Errors or accept any
 * resource type (fixtures/careless.kit.ts), and an orchestrator that leaves a
 * stopped step running (fixtures/careless-orchestrator.kit.ts). They run
 * through the kits in a separate vitest, and each careless behaviour fails
 * the test that checks it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const fixtures = fileURLToPath(new URL("./fixtures", import.meta.url));
const vitestBin = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");

interface Outcome {
  status: string;
  message: string;
}
let outcomes: Record<string, Outcome>;
let output: string;

beforeAll(() => {
  const out = mkdtempSync(join(tmpdir(), "careless-kit-"));
  try {
    const run = spawnSync(
      process.execPath,
      [vitestBin, "run", "--config", join(fixtures, "vitest.config.ts"), "--root", fixtures, "--reporter=json", `--outputFile=${join(out, "results.json")}`],
      { cwd: fixtures, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" }, timeout: 120_000 },
    );
    output = run.stdout + run.stderr;
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as {
      testResults: Array<{ assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
    };
    outcomes = Object.fromEntries(
      results.testResults.flatMap((file) => file.assertionResults.map((a) => [a.fullName, { status: a.status, message: a.failureMessages.join("\n") }])),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 150_000);

/** The outcome of the one test whose full name contains every part. */
function outcome(...parts: string[]): Outcome {
  const names = Object.keys(outcomes).filter((name) => parts.every((part) => name.includes(part)));
  expect(names, `one test named with ${parts.join(" / ")} among:\n${Object.keys(outcomes).join("\n")}\n${output.slice(-2000)}`).toHaveLength(1);
  return outcomes[names[0]!]!;
}

describe("the container registry kit", () => {
  it("fails a registry whose describe() shows its password, without printing the password itself", () => {
    const o = outcome("container registry conformance: careless", "never shows them");
    expect(o.status).toBe("failed");
    expect(o.message).toContain("describe() of container_registry 'conformance_registry' before any push shows secret values");
    expect(o.message).not.toContain("registry-password-1234");
  });

  it("fails a registry that throws a plain Error, and says to throw a StackyardError", () => {
    const o = outcome("container registry conformance: careless", "a registry that is down");
    expect(o.status).toBe("failed");
    expect(o.message).toContain("threw Error: cannot log in with ********; throw a StackyardError of @stackyard/core");
    expect(o.message).not.toContain("registry-password-1234");
  });

  it("passes what the careless registry does right: the flavor, its config round-trip and its masked password", () => {
    expect(outcome("container registry conformance: careless", "is a container registry flavor").status).toBe("passed");
    expect(outcome("container registry conformance: careless", "round-trips its config").status).toBe("passed");
    expect(outcome("container registry conformance: careless", "masks its secret fields").status).toBe("passed");
  });
});

describe("the service connector kit", () => {
  it("fails a connector whose token is not marked secret", () => {
    const o = outcome("service connector conformance: careless", "masks its secret fields");
    expect(o.status).toBe("failed");
    expect(o.message).toContain("the config fields marked secret");
  });

  it("fails a connector whose token shows in JSON.stringify and verify()'s identity", () => {
    const o = outcome("service connector conformance: careless", "verifies working credentials");
    expect(o.status).toBe("failed");
    expect(o.message).toMatch(/of service_connector 'conformance_connector' before verify\(\) shows secret values/);
    expect(o.message).not.toContain("connector-token-5678");
  });

  it("fails a connector that connects to a resource type it does not list", () => {
    const o = outcome("service connector conformance: careless", "refuses a resource type it does not list");
    expect(o.status).toBe("failed");
    expect(o.message).toContain(`connect("no-such-resource-type") succeeded; it was expected to fail`);
  });

  it("fails a connector whose verify() throws a plain Error holding the token", () => {
    const o = outcome("service connector conformance: careless", "an endpoint that is down");
    expect(o.status).toBe("failed");
    expect(o.message).toContain("throw a StackyardError of @stackyard/core");
    expect(o.message).not.toContain("connector-token-5678");
  });
});

describe("the orchestrator kit", () => {
  it("fails an orchestrator that leaves a stopped step running: its heartbeat goes on", () => {
    const o = outcome("orchestrator conformance: careless", "stops a run mid-step");
    expect(o.status).toBe("failed");
    expect(o.message).toContain("the stopped step is still running (its process or container outlived the stop): its heartbeat goes on");
  });

  it("passes what the careless orchestrator does right", () => {
    expect(outcome("orchestrator conformance: careless", "runs independent steps").status).toBe("passed");
  });
});
