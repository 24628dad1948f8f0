import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliPath, newProject, removeProject } from "./cli-harness.js";

const require = createRequire(import.meta.url);

interface RunJson {
  id: string;
  status: string;
  steps: Array<{ stepId: string; status: string }>;
  artifacts: Array<{ step: string; output: string; uri: string; sha256: string; size: number }>;
}

const describeRun = (dir: string, run: string): RunJson => {
  const out = cli(dir, ["runs", "describe", run, "--json"]);
  if (out.code !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout) as RunJson;
};

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

/** Starts a run of the six-step chain and SIGKILLs its runner `afterMs` after it started; resolves once it is gone. */
function runAndKill(dir: string, name: string, seed: number, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, [cliPath, "run", "./pipelines/chain.ts#chain", "--run-name", name, "-p", `seed=${seed}`], {
    cwd: dir,
    env: { ...process.env, STACKYARD_STORE: "", FORCE_COLOR: "0" },
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

/** Every artifact the store records, with the sha256 of its bytes as they are on disk now. */
function recordedArtifacts(dir: string): Array<{ id: string; file: string; sha256: string; size: number; actual: string | null }> {
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
  try {
    const rows = db.prepare("SELECT id, uri, sha256, size FROM artifacts").all() as Array<{ id: string; uri: string; sha256: string; size: number }>;
    return rows.map((row) => {
      const folder = row.uri.startsWith("file://") ? fileURLToPath(row.uri) : row.uri;
      const file = join(folder, "data.json");
      return { ...row, file, actual: existsSync(file) ? createHash("sha256").update(readFileSync(file)).digest("hex") : null };
    });
  } finally {
    db.close();
  }
}

function integrity(dir: string): string {
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
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
    const next = random(20261202);
    const outcomes: string[] = [];
    for (let round = 1; round <= 10; round++) {
      // From before the first step starts to the last step's end (node start-up takes about a second).
      const afterMs = 300 + Math.floor(next() * 2700);
      const name = `killed_${round}`;
      await runAndKill(dir, name, round, afterMs);

      // Killed before it recorded the run: there is nothing to mark, and the rerun runs every step.
      const listed = cli(dir, ["runs", "describe", name, "--json"]);
      if (listed.code !== 0) expect(listed.stderr).toMatch(/No run/);
      const killed: RunJson = listed.code === 0 ? (JSON.parse(listed.stdout) as RunJson) : { id: "", status: "never recorded", steps: [], artifacts: [] };
      const finished = killed.steps.filter((s) => s.status === "completed").map((s) => s.stepId);
      outcomes.push(`${afterMs} ms: ${killed.status}, ${finished.length} finished`);
      if (killed.status !== "completed" && killed.status !== "never recorded") {
        expect(killed.status, `round ${round} (${afterMs} ms)`).toBe("failed");
        expect(killed.steps.filter((s) => s.status === "running")).toEqual([]);
      }
      expect(integrity(dir), `round ${round}`).toBe("ok");
      for (const artifact of recordedArtifacts(dir)) expect(artifact.actual, `${artifact.file} (round ${round})`).toBe(artifact.sha256);

      const rerun = cli(dir, ["run", "./pipelines/chain.ts#chain", "--run-name", `${name}_rerun`, "-p", `seed=${round}`]);
      expect(rerun.code, rerun.stderr).toBe(0);
      const resumed = describeRun(dir, `${name}_rerun`);
      expect(resumed.status).toBe("completed");
      expect(
        resumed.steps
          .filter((s) => s.status === "cached")
          .map((s) => s.stepId)
          .sort(),
        `round ${round} (${afterMs} ms)`,
      ).toEqual([...finished].sort());
      expect(resumed.steps.filter((s) => s.status === "completed").length).toBe(6 - finished.length);
    }
    // The kills landed at different points (before any step finished, in the middle, maybe after the end).
    const finishedCounts = new Set(outcomes.map((o) => Number(/(\d+) finished/.exec(o)![1])));
    expect(finishedCounts.size, outcomes.join("\n")).toBeGreaterThanOrEqual(2);
    expect(integrity(dir)).toBe("ok");
  }, 180_000);
});
