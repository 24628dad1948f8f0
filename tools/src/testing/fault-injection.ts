/**
 * Fault injection on a project's store: `stackyard run` killed with SIGKILL at
 * points drawn from a fixed seed. After each kill the run is marked failed
 * (or was never recorded, or completed), the database passes SQLite's
 * integrity check, every recorded artifact's bytes match their recorded
 * sha256, and a rerun takes exactly the steps that finished from the cache and
 * runs the others.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { expect } from "vitest";

const require = createRequire(import.meta.url);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DescribedRun {
  id: string;
  status: string;
  steps: Array<{ stepId: string; status: string }>;
}

/** A small deterministic generator (mulberry32), so every run of the test kills at the same points. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts `node <args>` in `cwd` and SIGKILLs it `afterMs` after it started; resolves once it is gone. */
export function runAndKill(cwd: string, args: string[], env: Record<string, string>, afterMs: number): Promise<void> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: "ignore" });
  const timer = setTimeout(() => child.kill("SIGKILL"), afterMs);
  return new Promise((resolve) => {
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads the project's store (`.stackyard/stackyard.db` under `dir`) read-only. */
export function readStore<T>(dir: string, read: (db: import("better-sqlite3").Database) => T): T {
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** SQLite's integrity check of the project's store: "ok" when it passes. */
export function storeIntegrity(dir: string): string {
  return readStore(dir, (db) => db.pragma("integrity_check", { simple: true }) as string);
}

/** The sha256 (hex) of a file's bytes. */
export function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

export interface KillAtRandomPoints {
  /** The project folder. */
  dir: string;
  /** The seed of the kill points. */
  seed: number;
  /** The kill delay for a draw in [0, 1). */
  killAfterMs: (draw: number) => number;
  /** The CLI binary the killed runner runs. */
  bin: string;
  /** Environment of the killed runner, over the test's own. */
  env: Record<string, string>;
  /** The `stackyard run` arguments (after the binary) of a run named `name` with parameter `seed`. */
  run: (name: string, seed: number) => string[];
  /** Runs the CLI in the project (the rerun, `runs describe`). */
  cli: (args: string[]) => CliResult;
  /** How many steps the pipeline has. */
  steps: number;
  /** Step statuses no step of a run marked failed may still have. */
  unfinished: readonly string[];
  /** The sha256 of an artifact's bytes from its recorded uri, or null (or a reason) when they are gone. */
  artifactDigest: (uri: string) => { where: string; sha256: string | null };
  /** How many different numbers of finished steps the kills must have left at least. */
  distinctOutcomes: number;
  /** Further checks on a killed run, after its status is checked. */
  afterKill?: (killed: DescribedRun, round: number) => Promise<void>;
}

/** Ten rounds of: kill a run at a random point, check what it left, rerun it and check the rerun resumed exactly. */
export async function killAtRandomPoints(o: KillAtRandomPoints): Promise<void> {
  const next = random(o.seed);
  const outcomes: string[] = [];
  for (let round = 1; round <= 10; round++) {
    const afterMs = o.killAfterMs(next());
    const name = `killed_${round}`;
    await runAndKill(o.dir, [o.bin, ...o.run(name, round)], o.env, afterMs);

    // Killed before it recorded the run: there is nothing to mark, and the rerun runs every step.
    const listed = o.cli(["runs", "describe", name, "--json"]);
    if (listed.code !== 0) expect(listed.stderr).toMatch(/No run/);
    const killed: DescribedRun = listed.code === 0 ? (JSON.parse(listed.stdout) as DescribedRun) : { id: "", status: "never recorded", steps: [] };
    const finished = killed.steps.filter((s) => s.status === "completed").map((s) => s.stepId);
    outcomes.push(`${afterMs} ms: ${killed.status}, ${finished.length} finished`);
    if (killed.status !== "completed" && killed.status !== "never recorded") {
      expect(killed.status, `round ${round} (${afterMs} ms)`).toBe("failed");
      expect(killed.steps.filter((s) => o.unfinished.includes(s.status))).toEqual([]);
    }
    await o.afterKill?.(killed, round);
    expect(storeIntegrity(o.dir), `round ${round}`).toBe("ok");
    const artifacts = readStore(o.dir, (db) => db.prepare("SELECT uri, sha256 FROM artifacts").all() as Array<{ uri: string; sha256: string }>);
    for (const artifact of artifacts) {
      const actual = o.artifactDigest(artifact.uri);
      expect(actual.sha256, `${actual.where} (round ${round})`).toBe(artifact.sha256);
    }

    const rerun = o.cli(o.run(`${name}_rerun`, round));
    expect(rerun.code, rerun.stderr).toBe(0);
    const described = o.cli(["runs", "describe", `${name}_rerun`, "--json"]);
    expect(described.code, described.stderr).toBe(0);
    const resumed = JSON.parse(described.stdout) as DescribedRun;
    expect(resumed.status).toBe("completed");
    expect(
      resumed.steps
        .filter((s) => s.status === "cached")
        .map((s) => s.stepId)
        .sort(),
      `round ${round} (${afterMs} ms)`,
    ).toEqual([...finished].sort());
    expect(resumed.steps.filter((s) => s.status === "completed").length).toBe(o.steps - finished.length);
  }
  // The kills landed at different points (before any step finished, in the middle, maybe after the end).
  const finishedCounts = new Set(outcomes.map((line) => Number(/(\d+) finished/.exec(line)![1])));
  expect(finishedCounts.size, outcomes.join("\n")).toBeGreaterThanOrEqual(o.distinctOutcomes);
}
