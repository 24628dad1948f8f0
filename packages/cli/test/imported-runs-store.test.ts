// Runs other machines started, as this machine's store keeps them: recorded
// from an orchestrator's listing alone (details still to be read), hidden
// until described, and executions that turn out not to be Stackyard's kept
// out of sight for good (real SQLite).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArtifactStoreRunStore, LocalArtifactStore, pipeline, type RunRecord, type StepRunRecord, step } from "@stackyard/core";
import { afterEach, describe, expect, it } from "vitest";
import { importSteps } from "../src/client/remote-runs.js";
import { openDatabase } from "../src/store/database.js";
import { SqliteRunStore } from "../src/store/sqlite-run-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newStore(): SqliteRunStore {
  const dir = mkdtempSync(join(tmpdir(), "stackyard-imported-"));
  dirs.push(dir);
  return new SqliteRunStore(openDatabase(join(dir, "stackyard.db"), { create: true }));
}

/** A run as the listing gives it: id, status and start, pipeline guessed from its state machine. */
function listed(i: number): RunRecord {
  const started = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
  return {
    id: `run-${i}`,
    name: `run-${i}`,
    pipeline: "nightly",
    snapshotId: "",
    snapshotUri: "",
    stack: "aws_stack",
    orchestrator: "sfn",
    status: "running",
    orchestratorRunId: `arn:aws:states:us-east-1:123456789012:execution:stackyard-deployment-nightly:run-${i}`,
    created: started,
    started,
  };
}

describe("imported runs recorded from the orchestrator's listing alone", () => {
  it("are not listed until described, except for the page that is to be described", async () => {
    const store = newStore();
    const runs = [0, 1, 2, 3].map(listed);
    expect(store.importRuns(runs, undefined, new Set(["run-2", "run-3"]))).toBe(4);

    expect((await store.listRuns()).map((r) => r.id)).toEqual(["run-1", "run-0"]);
    // The page to describe holds them whatever the pipeline filter says (the pipeline is not known before).
    expect((await store.listRuns({ pipeline: "other", withPendingDetails: true })).map((r) => r.id)).toEqual(["run-3", "run-2"]);
    expect(store.pendingDetails()).toEqual(["run-3", "run-2"]);
    expect(store.importedRun("run-3")).toMatchObject({ detailsPending: true, stepsPending: true });

    await store.completeDetails("run-3", { name: "nightly-3", pipeline: "training", deployment: "nightly", deploymentVersion: 2 });
    expect((await store.listRuns()).map((r) => r.name)).toEqual(["nightly-3", "run-1", "run-0"]);
    expect((await store.listRuns({ pipeline: "training" })).map((r) => r.name)).toEqual(["nightly-3"]);
    expect(store.pendingDetails()).toEqual(["run-2"]);
  });

  it("are dropped once found not to be Stackyard's, and stay known so that they are not imported again", async () => {
    const store = newStore();
    const run = listed(7);
    store.importRuns([run], undefined, new Set([run.id]));
    store.markForeign(run.id, run.orchestratorRunId!, "aws_stack", "running");

    expect(await store.getRun(run.id)).toBeUndefined();
    expect(await store.listRuns({ withPendingDetails: true })).toEqual([]);
    expect(store.knownOrchestratorRuns().get(run.orchestratorRunId!)).toEqual({ id: "", status: "running", foreign: true });
    store.updateForeignStatus(run.orchestratorRunId!, "completed");
    expect(store.knownOrchestratorRuns().get(run.orchestratorRunId!)?.status).toBe("completed");
  });
});

describe("an imported run that ended", () => {
  /** A three-step chain a -> b -> c, stored as the imported run's snapshot, and a run of it as the listing gives it. */
  async function importedChain(store: SqliteRunStore, status: RunRecord["status"]) {
    const a = step({ name: "a" }, async () => 1);
    const b = step({ name: "b" }, async ({ x }: { x: number }) => x + 1);
    const c = step({ name: "c" }, async ({ x }: { x: number }) => x + 1);
    const chain = pipeline({ name: "chain" }, () => {
      c({ x: b({ x: a().output }).output });
    });
    const snapshot = chain.compile({ source: "./chain.ts#chain" });
    await store.saveSnapshot(snapshot, `snapshots/${snapshot.id}.json`);
    const run: RunRecord = { ...listed(0), pipeline: "chain", snapshotId: snapshot.id, status, ended: "2026-01-01T00:05:00.000Z" };
    store.importRuns([run]);
    const root = mkdtempSync(join(tmpdir(), "stackyard-imported-store-"));
    dirs.push(root);
    const artifactStore = new LocalArtifactStore({ id: "as", name: "shared", flavor: "local", config: { path: root }, sourceRoot: root });
    // Step a's container got as far as recording it running; b and c never started.
    await new ArtifactStoreRunStore(artifactStore).putStepRun({ runId: run.id, stepId: "a", stepName: "a", status: "running", attempt: 1, outputs: {} });
    return { run, artifactStore };
  }

  it("shows a failed run's steps that never started as skipped, and the one cut short as failed", async () => {
    const store = newStore();
    const { run, artifactStore } = await importedChain(store, "failed");
    await importSteps(store, artifactStore, run);
    const steps = await store.listStepRuns(run.id);
    expect(Object.fromEntries(steps.map((s) => [s.stepId, [s.status, s.error]]))).toEqual({
      a: ["failed", "the run ended before the step finished"],
      b: ["skipped", "not run: the run failed"],
      c: ["skipped", "not run: the run failed"],
    });
    expect(store.importedRun(run.id)).toMatchObject({ stepsPending: false });
  });

  it("shows a stopped run's unfinished steps as stopped", async () => {
    const store = newStore();
    const { run, artifactStore } = await importedChain(store, "stopped");
    await importSteps(store, artifactStore, run);
    expect((await store.listStepRuns(run.id)).map((s) => [s.stepId, s.status])).toEqual([
      ["a", "stopped"],
      ["b", "stopped"],
      ["c", "stopped"],
    ]);
  });
});

describe("an imported run whose map step is running", () => {
  /** A local artifact store that counts the files read. */
  class CountingStore extends LocalArtifactStore {
    reads: string[] = [];
    override async readFile(path: string): Promise<Buffer> {
      this.reads.push(path);
      return super.readFile(path);
    }
  }

  it("shows the items that ended so far and the map's counts, reading only the records new since the last look", async () => {
    const store = newStore();
    const shards = step({ name: "shards" }, async () => [1, 2, 3]);
    const score = step({ name: "score" }, async ({ x }: { x: number }) => x * 2);
    const mapped = pipeline({ name: "mapped" }, () => {
      score.map({ x: shards().output });
    });
    const snapshot = mapped.compile({ source: "./mapped.ts#mapped" });
    await store.saveSnapshot(snapshot, `snapshots/${snapshot.id}.json`);
    const run: RunRecord = { ...listed(0), pipeline: "mapped", snapshotId: snapshot.id };
    store.importRuns([run]);
    const root = mkdtempSync(join(tmpdir(), "stackyard-imported-store-"));
    dirs.push(root);
    const artifactStore = new CountingStore({ id: "as", name: "shared", flavor: "local", config: { path: root }, sourceRoot: root });
    const record = (stepId: string, status: RunRecord["status"], metadata?: StepRunRecord["metadata"]): StepRunRecord => ({
      runId: run.id,
      stepId,
      stepName: stepId.replace(/\[\d+\]$/, ""),
      status,
      attempt: 1,
      outputs: {},
      ...(metadata ? { metadata } : {}),
    });
    const ended = (stepId: string, status: RunRecord["status"], metadata?: StepRunRecord["metadata"]) =>
      artifactStore.writeFile(`runs/${run.id}/${stepId}/step.json`, JSON.stringify({ step: record(stepId, status, metadata), artifacts: [] }));
    await ended("shards", "completed");
    await ended("score", "running", { "stackyard.map": { items: 3 } });
    await ended("score[0]", "completed");
    await new ArtifactStoreRunStore(artifactStore).putStepRun(record("score[1]", "running"));

    await importSteps(store, artifactStore, run);
    const statuses = async () => Object.fromEntries((await store.listStepRuns(run.id)).map((s) => [s.stepId, s.status]));
    expect(await statuses()).toEqual({ shards: "completed", score: "running", "score[0]": "completed", "score[1]": "running" });
    expect((await store.getStepRun(run.id, "score"))?.metadata?.["stackyard.map"]).toMatchObject({ items: 3, completed: 1, running: 1, notStarted: 1 });
    expect(store.importedRun(run.id)).toMatchObject({ stepsPending: true });

    // Items 1 and 2 end: the next look reads their two results, not item 0's again, nor item 1's record.
    await ended("score[1]", "completed");
    await ended("score[2]", "completed");
    artifactStore.reads = [];
    await importSteps(store, artifactStore, run);
    expect(artifactStore.reads.filter((path) => path.includes("score[")).sort()).toEqual([
      `runs/${run.id}/score[1]/step.json`,
      `runs/${run.id}/score[2]/step.json`,
    ]);
    expect(await statuses()).toMatchObject({ "score[0]": "completed", "score[1]": "completed", "score[2]": "completed" });
    expect((await store.getStepRun(run.id, "score"))?.metadata?.["stackyard.map"]).toMatchObject({ items: 3, completed: 3, running: 0, notStarted: 0 });
  });
});
