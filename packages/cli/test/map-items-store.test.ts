// The store's queries for big map steps (real SQLite): a run's steps without
// their items, items counted by status in SQL, and one map's items paged in
// item order (10 before 9 would be text order), filtered by status.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunStatus, StepRunRecord } from "@stackyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/store/database.js";
import { SqliteRunStore } from "../src/store/sqlite-run-store.js";

describe("map items in the SQLite store", () => {
  let dir: string;
  let store: SqliteRunStore;
  const step = (stepId: string, status: RunStatus): StepRunRecord => ({
    runId: "r1",
    stepId,
    stepName: stepId.split("[")[0]!,
    status,
    attempt: 1,
    outputs: {},
  });
  // Item i of `score`: failed when i % 7 == 3, running for the last five, else completed.
  const itemStatus = (i: number): RunStatus => (i >= 1195 ? "running" : i % 7 === 3 ? "failed" : "completed");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "stackyard-map-items-"));
    store = new SqliteRunStore(openDatabase(join(dir, "stackyard.db"), { create: true }));
    await store.createRun({
      id: "r1",
      name: "wide",
      pipeline: "p",
      snapshotId: "s",
      snapshotUri: "u",
      stack: "default",
      orchestrator: "local",
      status: "running",
      created: new Date().toISOString(),
    });
    for (const id of ["make", "score", "scores", "total"]) await store.putStepRun(step(id, id === "total" ? "running" : "completed"));
    for (let i = 0; i < 1200; i++) await store.putStepRun(step(`score[${i}]`, itemStatus(i)));
    // A second map whose name starts like the first: none of its items belong to `score`.
    for (let i = 0; i < 3; i++) await store.putStepRun(step(`scores[${i}]`, "completed"));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists a run's steps without their items", async () => {
    expect((await store.listStepRunsWithoutItems("r1")).map((s) => s.stepId).sort()).toEqual(["make", "score", "scores", "total"]);
  });

  it("counts each map's items by status, with the first failed indices in item order", async () => {
    const tallies = await store.tallyMapItems("r1", 4);
    const failed = Array.from({ length: 1200 }, (_, i) => i).filter((i) => itemStatus(i) === "failed");
    expect(tallies.get("score")).toEqual({
      counts: { completed: 1200 - 5 - failed.length, failed: failed.length, running: 5 },
      failedIndices: [3, 10, 17, 24],
    });
    expect(tallies.get("scores")).toEqual({ counts: { completed: 3 }, failedIndices: [] });
    expect([...tallies.keys()].sort()).toEqual(["score", "scores"]);
  });

  it("pages through one map's items in item order, filtered by status", async () => {
    const page = await store.listMapItems("r1", "score", { limit: 4, offset: 8 });
    expect(page.total).toBe(1200);
    expect(page.items.map((s) => s.stepId)).toEqual(["score[8]", "score[9]", "score[10]", "score[11]"]);
    const failed = await store.listMapItems("r1", "score", { statuses: ["failed"], limit: 2, offset: 1 });
    expect(failed.items.map((s) => [s.stepId, s.status])).toEqual([
      ["score[10]", "failed"],
      ["score[17]", "failed"],
    ]);
    const active = await store.listMapItems("r1", "score", { statuses: ["running", "retrying"], limit: 50, offset: 0 });
    expect(active).toMatchObject({ total: 5, items: [1195, 1196, 1197, 1198, 1199].map((i) => ({ stepId: `score[${i}]` })) });
    expect((await store.listMapItems("r1", "scores", { limit: 50, offset: 0 })).total).toBe(3);
    expect(await store.listMapItems("r1", "make", { limit: 50, offset: 0 })).toEqual({ items: [], total: 0 });
  });
});
