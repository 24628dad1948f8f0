import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ArtifactRecord,
  ArtifactStoreRunStore,
  LocalArtifactStore,
  MAP_METADATA_KEY,
  MapProgressReader,
  MemoryRunStore,
  type StepRunRecord,
} from "../src/index.js";

/** A local artifact store that counts the files read. */
class CountingStore extends LocalArtifactStore {
  reads: string[] = [];
  override async readFile(path: string): Promise<Buffer> {
    this.reads.push(path);
    return super.readFile(path);
  }
}

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function setUp() {
  const root = mkdtempSync(join(tmpdir(), "stackyard-map-progress-"));
  roots.push(root);
  const artifactStore = new CountingStore({ id: "a", name: "local", flavor: "local", config: { path: root }, sourceRoot: root });
  const record = (stepId: string, extra: Partial<StepRunRecord> = {}): StepRunRecord => ({
    runId: "r1",
    stepId,
    stepName: "score",
    status: "running",
    attempt: 1,
    outputs: {},
    ...extra,
  });
  /** What a step process writes when it ends. */
  const ended = (step: StepRunRecord, artifacts: ArtifactRecord[] = []) =>
    artifactStore.writeFile(`runs/r1/${step.stepId}/step.json`, JSON.stringify({ step, artifacts }));
  /** What it writes while it runs (and a cached item's only record). */
  const recorded = (step: StepRunRecord) => new ArtifactStoreRunStore(artifactStore).putStepRun(step);
  return { artifactStore, record, ended, recorded };
}

describe("MapProgressReader: a map's item records copied into the client's store as they appear", () => {
  it("copies the items that ended and those under way, counts them on the map's record, and reads each record once", async () => {
    const { artifactStore, record, ended, recorded } = setUp();
    const store = new MemoryRunStore();
    const reader = new MapProgressReader({ artifactStore, store, runId: "r1", mapStepIds: ["score"] });

    // Not expanded yet: nothing to read.
    expect(await reader.read()).toEqual({ expanded: [], items: [] });

    await ended(record("score", { metadata: { [MAP_METADATA_KEY]: { items: 4 } } }));
    await ended(record("score[0]", { status: "completed" }));
    await recorded(record("score[1]"));
    await ended(record("other", { stepName: "other", status: "completed" }));
    artifactStore.reads = [];
    expect(await reader.read()).toEqual({
      expanded: [{ stepId: "score", items: 4 }],
      items: [
        { stepId: "score[0]", status: "completed" },
        { stepId: "score[1]", status: "running" },
      ],
    });
    // The map's record, item 0's result and item 1's record; never a step that is not an item.
    expect(artifactStore.reads.sort()).toEqual(["runs/r1/score/step.json", "runs/r1/score[0]/step.json", "runs/r1/score[1]/record.json"]);
    expect(await store.getStepRun("r1", "score[0]")).toMatchObject({ status: "completed" });
    expect(await store.getStepRun("r1", "score[1]")).toMatchObject({ status: "running" });
    expect((await store.getStepRun("r1", "score"))?.metadata?.[MAP_METADATA_KEY]).toEqual({
      items: 4,
      completed: 1,
      cached: 0,
      failed: [],
      stopped: 0,
      running: 1,
      notStarted: 2,
    });

    // Nothing changed: a listing, no read.
    artifactStore.reads = [];
    expect(await reader.read()).toEqual({ expanded: [], items: [] });
    expect(artifactStore.reads).toEqual([]);

    // Item 1 failed, item 2 came from the cache (a record, no step.json): only their files are read.
    await recorded(record("score[1]", { status: "failed", error: "boom" }));
    await ended(record("score[1]", { status: "failed", error: "boom" }));
    await recorded(record("score[2]", { status: "cached" }));
    expect((await reader.read()).items).toEqual([
      { stepId: "score[1]", status: "failed", error: "boom" },
      { stepId: "score[2]", status: "cached" },
    ]);
    expect(artifactStore.reads.sort()).toEqual(["runs/r1/score[1]/step.json", "runs/r1/score[2]/record.json"]);
    expect(reader.counts("score")).toEqual({ items: 4, completed: 1, cached: 1, failed: [1], stopped: 0, running: 0, notStarted: 1 });
    expect((await store.getStepRun("r1", "score"))?.metadata?.[MAP_METADATA_KEY]).toMatchObject({ completed: 1, cached: 1, failed: [1], notStarted: 1 });
  });

  it("made afresh (a command that looks once), reads only the items its store has no final record of", async () => {
    const { artifactStore, record, ended } = setUp();
    const store = new MemoryRunStore();
    await ended(record("score", { metadata: { [MAP_METADATA_KEY]: { items: 3 } } }));
    for (let i = 0; i < 3; i++) await ended(record(`score[${i}]`, { status: "completed" }));
    await new MapProgressReader({ artifactStore, store, runId: "r1", mapStepIds: ["score"] }).read();
    expect(await store.listStepRuns("r1")).toHaveLength(4);

    artifactStore.reads = [];
    const again = new MapProgressReader({ artifactStore, store, runId: "r1", mapStepIds: ["score"] });
    expect((await again.read()).items).toEqual([]);
    expect(artifactStore.reads).toEqual(["runs/r1/score/step.json"]);
    expect(again.counts("score")).toMatchObject({ items: 3, completed: 3, notStarted: 0 });
  });

  it("leaves the map's record alone once the client recorded its end", async () => {
    const { artifactStore, record, ended } = setUp();
    const store = new MemoryRunStore();
    await ended(record("score", { metadata: { [MAP_METADATA_KEY]: { items: 1 } } }));
    await ended(record("score[0]", { status: "completed" }));
    const summary = { items: 1, completed: 1, cached: 0, failed: [], stopped: 0, notStarted: 0, tolerated: 0 };
    await store.putStepRun(record("score", { status: "completed", metadata: { [MAP_METADATA_KEY]: summary } }));
    await new MapProgressReader({ artifactStore, store, runId: "r1", mapStepIds: ["score"] }).read();
    expect(await store.getStepRun("r1", "score")).toMatchObject({ status: "completed", metadata: { [MAP_METADATA_KEY]: summary } });
  });
});
