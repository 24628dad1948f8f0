// Fault injection on the docker stack: `stackyard run` (the built binary)
// killed with SIGKILL at ten points drawn from a fixed seed, while its step
// containers run. After each kill the next reader marks the run failed and
// stops the containers it left, the database passes SQLite's integrity
// check, every recorded artifact's bytes match their recorded sha256, and a
// rerun takes exactly the steps that finished from the cache.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type DockerEngine, dockerClient, ensureBaseImage, ensureDockerEngine } from "@stackyard/tools/engines";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUN_LABEL } from "../src/step-container.js";
import { cli, newProject, ok, registerDockerStack, removeProject, repoRoot } from "./harness.js";

const require = createRequire(import.meta.url);
const bin = join(repoRoot, "packages/cli/dist/bin.js");
const chain = ["./pipelines/probe.ts#cachedChainPipeline", "-c", "configs/probe.yaml"];

interface Described {
  id: string;
  status: string;
  steps: Array<{ stepId: string; status: string }>;
}

let engine: DockerEngine;
let docker: Docker;
let dir: string;

/** A small deterministic generator (mulberry32), so every run of the test kills at the same points. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts a run of the chain and SIGKILLs its runner `afterMs` after it started; resolves once it is gone. */
function runAndKill(name: string, seed: number, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, [bin, "run", ...chain, "--run-name", name, "-p", `seed=${seed}`], {
    cwd: dir,
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0" },
    stdio: "ignore",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), afterMs);
  return new Promise((resolve) => {
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function database<T>(read: (db: import("better-sqlite3").Database) => T): T {
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** The sha256 of the one file an artifact folder holds (its materializer's file), or null when it is gone. */
function digestOf(folder: string): string | null {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return null;
  const files = readdirSync(folder);
  if (files.length !== 1) return `${files.length} files`;
  return createHash("sha256")
    .update(readFileSync(join(folder, files[0]!)))
    .digest("hex");
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
    const next = random(20261203);
    const outcomes: string[] = [];
    for (let round = 1; round <= 10; round++) {
      // From before the first container starts to after the last one ends (a run takes about 6 s here).
      const afterMs = 500 + Math.floor(next() * 7000);
      const name = `killed_${round}`;
      await runAndKill(name, round, afterMs);

      const listed = cli(dir, ["runs", "describe", name, "--json"]);
      if (listed.code !== 0) expect(listed.stderr).toMatch(/No run/);
      const killed: Described = listed.code === 0 ? (JSON.parse(listed.stdout) as Described) : { id: "", status: "never recorded", steps: [] };
      const finished = killed.steps.filter((s) => s.status === "completed").map((s) => s.stepId);
      outcomes.push(`${afterMs} ms: ${killed.status}, ${finished.length} finished`);
      if (killed.status !== "completed" && killed.status !== "never recorded") {
        expect(killed.status, `round ${round} (${afterMs} ms)`).toBe("failed");
        expect(killed.steps.filter((s) => s.status === "running" || s.status === "retrying")).toEqual([]);
      }
      // The reader that marked it failed stopped what it left: no container of the run remains.
      if (killed.id) expect(await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${killed.id}`] } }), `round ${round}`).toEqual([]);
      expect(
        database((db) => db.pragma("integrity_check", { simple: true })),
        `round ${round}`,
      ).toBe("ok");
      const artifacts = database((db) => db.prepare("SELECT uri, sha256 FROM artifacts").all() as Array<{ uri: string; sha256: string }>);
      for (const artifact of artifacts) expect(digestOf(artifact.uri), `${artifact.uri} (round ${round})`).toBe(artifact.sha256);

      const rerun = cli(dir, ["run", ...chain, "--run-name", `${name}_rerun`, "-p", `seed=${round}`]);
      expect(rerun.code, rerun.stderr).toBe(0);
      const resumed = JSON.parse(ok(cli(dir, ["runs", "describe", `${name}_rerun`, "--json"]), "runs describe").stdout) as Described;
      expect(resumed.status).toBe("completed");
      expect(
        resumed.steps
          .filter((s) => s.status === "cached")
          .map((s) => s.stepId)
          .sort(),
        `round ${round} (${afterMs} ms)`,
      ).toEqual([...finished].sort());
      expect(resumed.steps.filter((s) => s.status === "completed").length).toBe(4 - finished.length);
    }
    // The kills landed at different points (before any step finished, in the middle, maybe after the end).
    const finishedCounts = new Set(outcomes.map((o) => Number(/(\d+) finished/.exec(o)![1])));
    expect(finishedCounts.size, outcomes.join("\n")).toBeGreaterThanOrEqual(3);
  }, 900_000);
});
