// Fault injection on the docker stack: `stackyard run` (the built binary)
// killed with SIGKILL at ten points drawn from a fixed seed, while its step
// containers run. After each kill the next reader marks the run failed and
// stops the containers it left, the database passes SQLite's integrity
// check, every recorded artifact's bytes match their recorded sha256, and a
// rerun takes exactly the steps that finished from the cache.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type DockerEngine, dockerClient, ensureBaseImage, ensureDockerEngine } from "@stackyard/tools/engines";
import { killAtRandomPoints, sha256File } from "@stackyard/tools/testing";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUN_LABEL } from "../src/step-container.js";
import { cli, newProject, ok, registerDockerStack, removeProject, repoRoot } from "./harness.js";

const bin = join(repoRoot, "packages/cli/dist/bin.js");
const chain = ["./pipelines/probe.ts#cachedChainPipeline", "-c", "configs/probe.yaml"];

let engine: DockerEngine;
let docker: Docker;
let dir: string;

/** The sha256 of the one file an artifact folder holds (its materializer's file), or null when it is gone. */
function digestOf(folder: string): string | null {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return null;
  const files = readdirSync(folder);
  if (files.length !== 1) return `${files.length} files`;
  return sha256File(join(folder, files[0]!));
}

beforeAll(async () => {
  engine = await ensureDockerEngine();
  docker = dockerClient(engine.dockerHost);
  const { nodeImage } = await ensureBaseImage(docker);
  dir = newProject("docker-faults");
  registerDockerStack(dir, engine.dockerHost, nodeImage);
  // The image is built once, outside the kills.
  ok(cli(dir, ["run", ...chain, "--run-name", "warm-up", "-p", "seed=0"]), "the first run");
}, 600_000);

afterAll(async () => {
  if (dir) removeProject(dir);
  await engine?.stop();
});

describe("a docker run whose runner is killed at random points", () => {
  it("loses nothing it recorded, leaves no container, and the rerun resumes exactly", async () => {
    await killAtRandomPoints({
      dir,
      seed: 20261203,
      // From before the first container starts to after the last one ends (a run takes about 6 s here).
      killAfterMs: (draw) => 500 + Math.floor(draw * 7000),
      bin,
      env: { STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0" },
      run: (name, seed) => ["run", ...chain, "--run-name", name, "-p", `seed=${seed}`],
      cli: (args) => cli(dir, args),
      steps: 4,
      unfinished: ["running", "retrying"],
      // The reader that marked it failed stopped what it left: no container of the run remains.
      afterKill: async (killed, round) => {
        if (killed.id) expect(await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${killed.id}`] } }), `round ${round}`).toEqual([]);
      },
      artifactDigest: (uri) => ({ where: uri, sha256: digestOf(uri) }),
      distinctOutcomes: 3,
    });
  }, 900_000);
});
