import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { killAtRandomPoints, sha256File, storeIntegrity } from "@stackyard/tools/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliPath, newProject, removeProject } from "./cli-harness.js";

/** The sha256 of an artifact's `data.json`, or null when it is gone. */
function dataDigest(uri: string): { where: string; sha256: string | null } {
  const folder = uri.startsWith("file://") ? fileURLToPath(uri) : uri;
  const file = join(folder, "data.json");
  return { where: file, sha256: existsSync(file) ? sha256File(file) : null };
}

/**
 * Fault injection: a runner killed with SIGKILL at ten points drawn from a
 * fixed seed. After each kill the next reader marks the run failed, the
 * database passes SQLite's integrity check, every recorded artifact's bytes
 * match their recorded sha256, and a rerun takes exactly the steps that
 * finished from the cache and runs the others.
 */
describe("a runner killed at random points", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("fault-injection");
  });
  afterAll(() => removeProject(dir));

  it("loses nothing it recorded, and the rerun resumes exactly", async () => {
    await killAtRandomPoints({
      dir,
      seed: 20261202,
      // From before the first step starts to the last step's end (node start-up takes about a second).
      killAfterMs: (draw) => 300 + Math.floor(draw * 2700),
      bin: cliPath,
      env: { STACKYARD_STORE: "", FORCE_COLOR: "0" },
      run: (name, seed) => ["run", "./pipelines/chain.ts#chain", "--run-name", name, "-p", `seed=${seed}`],
      cli: (args) => cli(dir, args),
      steps: 6,
      unfinished: ["running"],
      artifactDigest: dataDigest,
      distinctOutcomes: 2,
    });
    expect(storeIntegrity(dir)).toBe("ok");
  }, 180_000);
});
