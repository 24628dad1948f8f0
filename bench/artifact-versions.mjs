// Benchmark of artifact versions in the embedded SQLite store: listing and
// finding versions of a name with 100,000 versions, listing names, and the
// engine's per-step overhead when every step run, artifact version and
// consumed-input link is persisted in SQLite (not in memory).
// Prints a markdown table with each measure's target and whether it is met.
//
//   npx tsx bench/artifact-versions.mjs           (from the repository root; loads the TypeScript sources)
//   npx tsx bench/artifact-versions.mjs --quick   (10,000 versions, fewer repetitions)
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../packages/cli/src/store/database.ts";
import { SqliteRunStore } from "../packages/cli/src/store/sqlite-run-store.ts";
import { LocalArtifactStore, MemoryRunStore, pipeline, runSnapshotInProcess, step } from "../packages/core/src/index.ts";

const quick = process.argv.includes("--quick");
const VERSIONS = quick ? 10_000 : 100_000;
const NAMES = 1_000;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const dirs = [];
function sqliteStore() {
  const dir = mkdtempSync(join(tmpdir(), "stackyard-bench-"));
  dirs.push(dir);
  return { dir, store: new SqliteRunStore(openDatabase(join(dir, "stackyard.db"), { create: true })) };
}

async function timed(fn, rounds = quick ? 11 : 31) {
  await fn(); // warm-up
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
}

/** A store holding VERSIONS versions of `iris_model` (every 1,000th tagged) and one version each of NAMES other names. */
function fill(store) {
  const runId = "run-1";
  void store.createRun({
    id: runId,
    name: "bench",
    pipeline: "bench",
    snapshotId: "s",
    snapshotUri: "u",
    stack: "default",
    orchestrator: "local",
    status: "completed",
    created: new Date().toISOString(),
  });
  const base = Date.parse("2026-01-01T00:00:00Z");
  const artifact = (id, name, i) => ({
    id,
    runId,
    stepId: "train",
    output: "model",
    uri: `/bench/${id}`,
    materializer: "json",
    dataType: "object",
    size: 10,
    sha256: id,
    created: new Date(base + i).toISOString(),
    name,
  });
  // putArtifact runs its statement synchronously: one transaction for the whole fill.
  store.db.transaction(() => {
    for (let i = 0; i < VERSIONS; i++) void store.putArtifact(artifact(`m${i}`, "iris_model", i));
    for (let i = 0; i < NAMES; i++) void store.putArtifact(artifact(`n${i}`, `pipeline.step_${String(i).padStart(4, "0")}.output`, i));
  })();
  store.db.transaction(() => {
    for (let i = 999; i < VERSIONS; i += 1000) void store.tag({ artifact: `m${i}` }, ["candidate"]);
  })();
}

// A chain of trivial steps, each reading the previous step's output.
const first = step({ name: "first" }, async () => 0);
const inc = step({ name: "inc" }, async ({ n }) => n + 1);
const chain = pipeline({ name: "chain_100" }, () => {
  let previous = first();
  for (let i = 1; i < 100; i++) previous = inc({ n: previous.output });
});

async function chainOverhead(kind) {
  const { dir, store: sqlite } = sqliteStore();
  const store = kind === "sqlite" ? sqlite : new MemoryRunStore();
  const artifactStore = new LocalArtifactStore({ id: "a", name: "bench", flavor: "local", config: { path: join(dir, "artifacts") }, sourceRoot: dir });
  const once = async () => {
    const snapshot = chain.compile({ source: "./bench.ts#p", enableCache: false });
    const started = performance.now();
    // As `stackyard run` does: no step.json for a remote client.
    const result = await runSnapshotInProcess({ pipeline: chain, snapshot, store, artifactStore, writeResultFile: false });
    const elapsed = performance.now() - started;
    if (result.status !== "completed") throw new Error(`bench run ${result.status}`);
    const last = await store.getStepRun(result.runId, "inc_99");
    if (!last?.inputs?.n) throw new Error("the consumed input was not recorded");
    if (kind === "sqlite" && (await store.listConsumers(last.inputs.n)).length !== 1) throw new Error("the consumed input was not indexed");
    return elapsed / 100;
  };
  await once();
  const perStep = [];
  for (let i = 0; i < (quick ? 5 : 15); i++) perStep.push(await once());
  return median(perStep);
}

const { store } = sqliteStore();
const fillStarted = performance.now();
fill(store);
const fillMs = performance.now() - fillStarted;
const listPage = await timed(async () => {
  const page = await store.listArtifactVersions("iris_model", { limit: 50 });
  if (page.length !== 50 || page[0].version !== VERSIONS) throw new Error("wrong page");
});
const listDeep = await timed(async () => {
  const page = await store.listArtifactVersions("iris_model", { limit: 50, offset: VERSIONS - 100 });
  if (page.length !== 50) throw new Error("wrong deep page");
});
const latest = await timed(async () => {
  if ((await store.findArtifactVersion("iris_model"))?.version !== VERSIONS) throw new Error("wrong latest");
});
const byNumber = await timed(async () => {
  if ((await store.findArtifactVersion("iris_model", { version: VERSIONS / 2 }))?.version !== VERSIONS / 2) throw new Error("wrong version");
});
const byTag = await timed(async () => {
  if ((await store.findArtifactVersion("iris_model", { tag: "candidate" }))?.version !== VERSIONS) throw new Error("wrong tagged version");
});
const names = await timed(async () => {
  if ((await store.listArtifactNames({ limit: 5000 })).length !== NAMES + 1) throw new Error("wrong names");
});
// Alternated, so that both see the same load.
const sqliteTimes = [];
const memoryTimes = [];
for (let i = 0; i < 3; i++) {
  sqliteTimes.push(await chainOverhead("sqlite"));
  memoryTimes.push(await chainOverhead("memory"));
}
const perStep = median(sqliteTimes);
const perStepMemory = median(memoryTimes);
for (const dir of dirs) rmSync(dir, { recursive: true, force: true });

const rows = [
  [`List the newest 50 versions of a name with ${VERSIONS.toLocaleString("en")} versions (median ms)`, listPage.toFixed(2), "< 50 ms", listPage < 50],
  [`List 50 versions at offset ${(VERSIONS - 100).toLocaleString("en")} (median ms)`, listDeep.toFixed(2), "< 50 ms", listDeep < 50],
  ["Find the newest version (median ms)", latest.toFixed(3), "< 50 ms", latest < 50],
  ["Find a version by number (median ms)", byNumber.toFixed(3), "< 50 ms", byNumber < 50],
  ["Find the newest version with a tag (median ms)", byTag.toFixed(3), "< 50 ms", byTag < 50],
  [`List ${(NAMES + 1).toLocaleString("en")} names with their newest version (median ms)`, names.toFixed(2), "< 50 ms", names < 50],
  [
    "Engine overhead, 100-step chain, SQLite store: step runs, versions and consumed inputs persisted (median ms/step)",
    perStep.toFixed(3),
    "≤ 1 ms",
    perStep <= 1,
  ],
  [
    "The same chain with the in-memory store (median ms/step; SQLite costs the difference)",
    `${perStepMemory.toFixed(3)} (SQLite ${(perStep / perStepMemory).toFixed(2)}x)`,
    "",
    true,
  ],
];
console.log(
  `Node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(1)}; ${(VERSIONS + NAMES).toLocaleString("en")} versions recorded in ${(fillMs / 1000).toFixed(1)} s (${((fillMs * 1000) / (VERSIONS + NAMES)).toFixed(0)} µs each, numbered by the store)\n`,
);
console.log("| measure | result | target | met |\n|---|---|---|---|");
for (const [measure, result, target, met] of rows) console.log(`| ${measure} | ${result} | ${target} | ${met ? "yes" : "no"} |`);
