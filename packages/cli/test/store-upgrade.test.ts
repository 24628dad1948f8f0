// A store made by release 0.1.0 (before artifacts had names and versions),
// kept in old-stores/0.1.0, opened by this release: it upgrades in place on
// first open and nothing recorded is lost. Expected values are read from the
// fixture itself before the upgrade.
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../src/store/migrations.js";
import { cli, removeProject, repoRoot } from "./cli-harness.js";

const fixture = fileURLToPath(new URL("./old-stores/0.1.0", import.meta.url));
const quickstart = join(repoRoot, "examples", "quickstart");

interface OldRun {
  id: string;
  name: string;
  status: string;
  created: string;
}
interface OldArtifact {
  id: string;
  run_id: string;
  step_id: string;
  output: string;
  uri: string;
  sha256: string;
  size: number;
  created: string;
}

let dir: string;
let oldRuns: OldRun[];
let oldArtifacts: OldArtifact[];
let oldVersion: number;

/** Puts the fixture in `dir/.stackyard`, as if the project had always lived in `dir`. */
function placeOldStore(target: string): void {
  const store = join(target, ".stackyard");
  cpSync(fixture, store, { recursive: true });
  const here = (text: string) => text.replaceAll("/__PROJECT__", target);
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const file = join(folder, name);
      if (statSync(file).isDirectory()) walk(file);
      else writeFileSync(file, here(readFileSync(file, "utf8")));
    }
  };
  walk(join(store, "artifacts"));
  // Plain SQL on the old schema: no migration runs here.
  const db = new Database(join(store, "stackyard.db"));
  db.function("here", (value: unknown) => (typeof value === "string" ? here(value) : value));
  for (const table of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]) {
    for (const { name } of db.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>) {
      db.prepare(`UPDATE "${table}" SET "${name}" = here("${name}") WHERE typeof("${name}") = 'text'`).run();
    }
  }
  db.close();
}

function json<T>(args: string[]): T {
  const result = cli(dir, [...args, "--json"]);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(() => {
  const base = join(repoRoot, ".test-tmp");
  mkdirSync(base, { recursive: true });
  dir = mkdtempSync(join(base, "old-store-"));
  for (const folder of ["pipelines", "steps", "configs", "materializers", "hooks"]) cpSync(join(quickstart, folder), join(dir, folder), { recursive: true });
  placeOldStore(dir);
  const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
  oldVersion = db.pragma("user_version", { simple: true }) as number;
  oldRuns = db.prepare("SELECT id, name, status, created FROM runs ORDER BY created").all() as OldRun[];
  oldArtifacts = db.prepare("SELECT id, run_id, step_id, output, uri, sha256, size, created FROM artifacts ORDER BY created").all() as OldArtifact[];
  db.close();
});

afterAll(() => removeProject(dir));

describe("a store made by release 0.1.0", () => {
  it("is an old store: an older schema, runs of every outcome and unnamed artifacts", () => {
    expect(oldVersion).toBeLessThan(MIGRATIONS.length);
    expect(new Set(oldRuns.map((r) => r.status))).toEqual(new Set(["completed", "failed"]));
    expect(oldArtifacts.filter((a) => a.step_id === "train_model").length).toBe(2);
  });

  it("lists every run as it was recorded", () => {
    const runs = json<Array<{ id: string; name: string; status: string }>>(["runs", "list"]);
    expect(runs.map((r) => [r.id, r.name, r.status]).sort()).toEqual(oldRuns.map((r) => [r.id, r.name, r.status]).sort());
  });

  it("gives every artifact a name <pipeline>.<step>.<output> and versions in the order they were made, each still readable and intact", () => {
    const byName = new Map<string, OldArtifact[]>();
    for (const a of oldArtifacts) {
      const name = `training_pipeline.${a.step_id}.${a.output}`;
      byName.set(name, [...(byName.get(name) ?? []), a]);
    }
    const out = join(dir, "exported");
    mkdirSync(out);
    for (const [name, made] of byName) {
      const versions = json<Array<{ id: string; version: number; uri: string; sha256: string }>>(["artifact", "versions", name]);
      expect(versions.map((v) => [v.id, v.version, v.uri, v.sha256])).toEqual(made.map((a, i) => [a.id, i + 1, a.uri, a.sha256]).reverse());
      for (const v of versions) {
        const file = join(out, `${name}-${v.version}`);
        const show = cli(dir, ["artifact", "show", `${name}:${v.version}`, "--out", file]);
        expect(show.code, show.stderr).toBe(0);
        expect(createHash("sha256").update(readFileSync(file)).digest("hex")).toBe(v.sha256);
      }
    }
  });

  it("describes the failed run with its error, its cached steps and the step it skipped, and shows a step's log", () => {
    const failed = oldRuns.find((r) => r.status === "failed")!;
    const run = json<{ error: string; steps: Array<{ stepId: string; status: string; cachedFrom?: { runId: string } }> }>(["runs", "describe", failed.id]);
    expect(run.error).toContain("step 'train_model' failed");
    expect(Object.fromEntries(run.steps.map((s) => [s.stepId, s.status]))).toEqual({
      load_data: "cached",
      split_data: "cached",
      train_model: "failed",
      evaluate_model: "skipped",
    });
    expect(run.steps[0]!.cachedFrom?.runId).toBe(oldRuns[0]!.id);
    const logs = cli(dir, ["runs", "logs", oldRuns[0]!.id, "--step", "evaluate_model"]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/test accuracy: \d/);
  });

  it("gains lineage: what each old step read is taken from its snapshot's wiring and the versions its upstream steps made or reused", () => {
    const [first, failed] = [oldRuns[0]!, oldRuns.find((r) => r.status === "failed")!];
    const train = json<{ producer: { runId: string; inputs: Array<{ input: string; artifact: string }> }; consumers: Array<{ runId: string; step: string }> }>([
      "artifact",
      "lineage",
      "training_pipeline.train_model.model:1",
    ]);
    expect(train.producer.runId).toBe(first.id);
    expect(train.producer.inputs).toEqual([expect.objectContaining({ input: "train", artifact: "training_pipeline.split_data.train:1" })]);
    expect(train.consumers).toEqual([expect.objectContaining({ runId: first.id, step: "evaluate_model" })]);
    // The failed run took split_data from the first run's cache, and its train_model read that version.
    const split = json<{ consumers: Array<{ runId: string; step: string }> }>(["artifact", "lineage", "training_pipeline.split_data.train:1"]);
    expect(split.consumers.map((c) => [c.runId, c.step])).toEqual(
      expect.arrayContaining([
        [first.id, "train_model"],
        [failed.id, "train_model"],
      ]),
    );
  });

  it("keeps its stacks and components", () => {
    const stacks = cli(dir, ["stack", "list"]);
    expect(stacks.code).toBe(0);
    expect(stacks.stdout).toMatch(/shared\s+default\s+shared_files/);
  });

  it("runs the quickstart again, reusing the old release's outputs from the cache and recording that it read them", () => {
    const result = cli(dir, ["run", "./pipelines/training.ts#trainingPipeline", "-c", "configs/training_pipeline.yaml"]);
    expect(result.code, result.stderr).toBe(0);
    const runs = json<Array<{ id: string; created: string }>>(["runs", "list"]);
    expect(runs.length).toBe(oldRuns.length + 1);
    const latest = runs.find((r) => !oldRuns.some((o) => o.id === r.id))!;
    const run = json<{ status: string; steps: Array<{ stepId: string; status: string; cachedFrom?: { runId: string } }> }>(["runs", "describe", latest.id]);
    expect(run.status).toBe("completed");
    const split = run.steps.find((s) => s.stepId === "split_data")!;
    expect(split.status).toBe("cached");
    expect(split.cachedFrom?.runId).toBe(oldRuns[0]!.id);
    const lineage = json<{ consumers: Array<{ runId: string; step: string }> }>(["artifact", "lineage", "training_pipeline.split_data.train:1"]);
    expect(lineage.consumers).toContainEqual(expect.objectContaining({ runId: latest.id, step: "train_model" }));

    const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
    try {
      expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      const kept = db.prepare("SELECT id, run_id, step_id, output, uri, sha256, size, created FROM artifacts ORDER BY created").all() as OldArtifact[];
      expect(kept.slice(0, oldArtifacts.length)).toEqual(oldArtifacts);
    } finally {
      db.close();
    }
  });
});
