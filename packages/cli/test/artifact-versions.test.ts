// Named, versioned artifacts, tags, metadata and lineage, as every run store
// records them: the embedded SQLite store and the in-memory one answer the
// same questions the same way.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ArtifactRecord, MemoryRunStore, type RunRecord, type RunStore, type StepRunRecord } from "@stackyard/core";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../src/store/database.js";
import { MIGRATIONS } from "../src/store/migrations.js";
import { SqliteRunStore } from "../src/store/sqlite-run-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const stores: Array<[string, () => RunStore]> = [
  [
    "sqlite",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "stackyard-versions-"));
      dirs.push(dir);
      return new SqliteRunStore(openDatabase(join(dir, "stackyard.db"), { create: true }));
    },
  ],
  ["memory", () => new MemoryRunStore()],
];

let clock = Date.parse("2026-01-01T00:00:00Z");
const now = () => new Date((clock += 1000)).toISOString();

function run(id: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    name: `run-${id}`,
    pipeline: "training",
    snapshotId: "s",
    snapshotUri: "u",
    stack: "default",
    orchestrator: "in-process",
    status: "completed",
    created: now(),
    ...extra,
  };
}

function artifact(id: string, runId: string, name: string | undefined, extra: Partial<ArtifactRecord> = {}): ArtifactRecord {
  return {
    id,
    runId,
    stepId: "train",
    output: "model",
    uri: `/a/${id}`,
    materializer: "json",
    dataType: "object",
    size: 1,
    sha256: id,
    created: now(),
    name,
    ...extra,
  };
}

function step(runId: string, stepId: string, extra: Partial<StepRunRecord> = {}): StepRunRecord {
  return { runId, stepId, stepName: stepId, status: "completed", attempt: 1, outputs: {}, started: now(), ended: now(), ...extra };
}

describe.each(stores)("the %s run store", (_kind, make) => {
  it("numbers each name's versions from 1 in the order they are recorded, and keeps a version's number when recorded again", async () => {
    const store = make();
    for (const id of ["r1", "r2", "r3"]) await store.createRun(run(id));
    const first = artifact("a1", "r1", "iris_model");
    if (store.putStepResult) await store.putStepResult(step("r1", "train", { outputs: { model: "a1" } }), [first]);
    else await store.putArtifact(first);
    await store.putArtifact(artifact("a2", "r2", "iris_model"));
    await store.putArtifact(artifact("b1", "r2", "training.evaluate.accuracy"));
    await store.putArtifact(artifact("a3", "r3", "iris_model"));
    await store.putArtifact(artifact("a2", "r2", "iris_model", { size: 5 })); // the same version again
    expect((await store.listArtifactVersions("iris_model")).map((a) => [a.id, a.version])).toEqual([
      ["a3", 3],
      ["a2", 2],
      ["a1", 1],
    ]);
    expect((await store.getArtifact("a2"))?.size).toBe(5);
    expect((await store.findArtifactVersion("iris_model"))?.id).toBe("a3");
    expect((await store.findArtifactVersion("iris_model", { version: 1 }))?.id).toBe("a1");
    expect(await store.findArtifactVersion("iris_model", { version: 9 })).toBeUndefined();
    expect(await store.findArtifactVersion("nope")).toBeUndefined();
    const names = await store.listArtifactNames();
    expect(names.map((n) => [n.name, n.versions, n.latest.version])).toEqual([
      ["iris_model", 3, 3],
      ["training.evaluate.accuracy", 1, 1],
    ]);
    expect((await store.listArtifactNames({ name: "iris" })).map((n) => n.name)).toEqual(["iris_model"]);
    expect((await store.listArtifactVersions("iris_model", { limit: 1, offset: 1 })).map((a) => a.id)).toEqual(["a2"]);
  });

  it("tags versions and runs, finds the newest version with a tag, and filters runs by tag", async () => {
    const store = make();
    await store.createRun(run("r1", { tags: ["nightly"] }));
    await store.createRun(run("r2"));
    await store.putArtifact(artifact("a1", "r1", "iris_model"));
    await store.putArtifact(artifact("a2", "r2", "iris_model"));
    await store.tag({ artifact: "a1" }, ["production", "production"]);
    expect((await store.findArtifactVersion("iris_model", { tag: "production" }))?.id).toBe("a1");
    expect((await store.findArtifactVersion("iris_model", { tag: "latest" }))?.id).toBe("a2");
    await store.tag({ artifact: "a2" }, ["production"]);
    await store.tag({ artifact: "a1" }, [], ["production"]);
    expect((await store.getArtifact("a1"))?.tags ?? []).toEqual([]);
    expect((await store.findArtifactVersion("iris_model", { tag: "production" }))?.id).toBe("a2");
    expect((await store.listArtifactNames({ tag: "production" })).map((n) => n.name)).toEqual(["iris_model"]);
    expect(await store.listArtifactNames({ tag: "staging" })).toEqual([]);
    // Recording a tagged version again keeps its tags.
    await store.putArtifact(artifact("a2", "r2", "iris_model"));
    expect((await store.getArtifact("a2"))?.tags).toEqual(["production"]);

    await store.tag({ run: "r2" }, ["baseline"]);
    expect((await store.listRuns({ tag: "nightly" })).map((r) => r.id)).toEqual(["r1"]);
    expect((await store.listRuns({ tag: "baseline" })).map((r) => r.id)).toEqual(["r2"]);
    expect((await store.getRun("r1"))?.tags).toEqual(["nightly"]);
    await expect(store.tag({ run: "missing" }, ["x"])).rejects.toThrow(/missing/);
  });

  it("merges metadata into runs, step runs and versions, and a step's run metadata into its run", async () => {
    const store = make();
    await store.createRun(run("r1"));
    await store.putArtifact(artifact("a1", "r1", "iris_model", { metadata: { accuracy: 0.9 } }));
    await store.putStepRun(step("r1", "evaluate", { metadata: { rows: 150 }, runMetadata: { accuracy: 0.9 } }));
    await store.logMetadata({ run: "r1" }, { owner: "ana" });
    await store.logMetadata({ run: "r1", step: "evaluate" }, { rows: 151, split: { test: 0.2 } });
    await store.logMetadata({ artifact: "a1" }, { f1: 0.88 });
    expect((await store.getRun("r1"))?.metadata).toEqual({ accuracy: 0.9, owner: "ana" });
    expect((await store.getStepRun("r1", "evaluate"))?.metadata).toEqual({ rows: 151, split: { test: 0.2 } });
    expect((await store.getArtifact("a1"))?.metadata).toEqual({ accuracy: 0.9, f1: 0.88 });
    await expect(store.logMetadata({ artifact: "nope" }, { x: 1 })).rejects.toThrow();
  });

  it("records what each step run consumed and answers lineage both ways", async () => {
    const store = make();
    await store.createRun(run("r1"));
    await store.createRun(run("r2"));
    await store.putArtifact(artifact("d1", "r1", "training.load.dataset"));
    await store.putStepRun(step("r1", "load", { outputs: { dataset: "d1" } }));
    await store.putStepRun(step("r1", "train", { inputs: { dataset: "d1" } }));
    await store.putStepRun(step("r2", "score", { inputs: { data: "d1" } }));
    const consumers = await store.listConsumers("d1");
    expect(consumers.map((s) => `${s.runId}/${s.stepId}`).sort()).toEqual(["r1/train", "r2/score"]);
    expect((await store.getStepRun("r2", "score"))?.inputs).toEqual({ data: "d1" });
    expect(await store.listConsumers("other")).toEqual([]);
  });
});

describe("the SQLite run store", () => {
  it("refuses to delete a run whose versions another run consumed, and deletes it once that run is gone", async () => {
    const store = stores[0]![1]();
    await store.createRun(run("r1"));
    await store.createRun(run("r2"));
    await store.putArtifact(artifact("d1", "r1", "training.load.dataset"));
    await store.putStepRun(step("r2", "score", { inputs: { data: "d1" } }));
    await expect(store.deleteRun("r1")).rejects.toThrow(/run-r2.*consumed artifact versions/);
    await store.deleteRun("r2");
    await store.deleteRun("r1");
    expect(await store.listArtifactNames()).toEqual([]);
  });

  it("gives concurrent savers of one name distinct versions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stackyard-versions-"));
    dirs.push(dir);
    const file = join(dir, "stackyard.db");
    const a = new SqliteRunStore(openDatabase(file, { create: true }));
    const b = new SqliteRunStore(openDatabase(file, { create: false }));
    await a.createRun(run("r1"));
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).putArtifact(artifact(`x${i}`, "r1", "shared"))));
    const versions = (await a.listArtifactVersions("shared")).map((v) => v.version);
    expect(versions).toEqual(Array.from({ length: 40 }, (_, i) => 40 - i));
  });
});

describe("a store made before artifacts had names", () => {
  it("names its artifacts <pipeline>.<step>.<output>, numbers them in the order they were made, and keeps working", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stackyard-versions-"));
    dirs.push(dir);
    const file = join(dir, "stackyard.db");
    // The schema of the release before this one, with two runs' records in it.
    const old = new Database(file);
    const before = MIGRATIONS.findIndex((m) => m.includes("ADD COLUMN version"));
    for (const migration of MIGRATIONS.slice(0, before)) old.exec(migration);
    old.pragma(`user_version = ${before}`);
    const insertRun = old.prepare(
      "INSERT INTO runs (id, name, pipeline, snapshot_id, snapshot_uri, stack, orchestrator, status, created) VALUES (?, ?, 'training', 's', 'u', 'default', 'local', 'completed', ?)",
    );
    const insertArtifact = old.prepare(
      "INSERT INTO artifacts (id, run_id, step_id, output, uri, materializer, data_type, size, sha256, created) VALUES (?, ?, 'train', 'model', ?, 'json', 'object', 1, 'x', ?)",
    );
    insertRun.run("r1", "first", "2026-01-01T00:00:00Z");
    insertRun.run("r2", "second", "2026-01-02T00:00:00Z");
    insertArtifact.run("late", "r2", "/a/late", "2026-01-02T00:00:01Z");
    insertArtifact.run("early", "r1", "/a/early", "2026-01-01T00:00:01Z");
    // Snapshots the lineage backfill must read past: odd shapes, an odd output name, and one that is not JSON.
    const insertSnapshot = old.prepare("INSERT INTO snapshots (id, pipeline, uri, body, created) VALUES (?, 'training', 'u', ?, 't')");
    insertSnapshot.run(
      "s",
      JSON.stringify({ steps: [5, "x", { id: "evaluate", inputs: { bad: "oops", list: [1], model: { step: "train", output: 'mo"del' } } }] }),
    );
    insertSnapshot.run("other", "not json");
    const insertStep = old.prepare("INSERT INTO step_runs (run_id, step_id, step_name, status, attempt, outputs) VALUES ('r1', ?, ?, 'completed', 1, ?)");
    insertStep.run("train", "train", JSON.stringify({ 'mo"del': "early" }));
    insertStep.run("evaluate", "evaluate", "{}");
    old.close();

    const store = new SqliteRunStore(openDatabase(file, { create: false }));
    expect((await store.listArtifactVersions("training.train.model")).map((a) => [a.id, a.version])).toEqual([
      ["late", 2],
      ["early", 1],
    ]);
    await store.putArtifact(artifact("new", "r2", "training.train.model"));
    expect((await store.findArtifactVersion("training.train.model"))?.version).toBe(3);
    expect((await store.getRun("r1"))?.tags).toBeUndefined();
    expect((await store.getStepRun("r1", "evaluate"))?.inputs).toEqual({ model: "early" });
  });
});
