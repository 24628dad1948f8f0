// Benchmark of the pipeline engine in @stackyard/core: per-step orchestration
// overhead, parallel speed-up, cached reruns, compile time of a large DAG,
// and memory use for a 1 GiB artifact through the file materializer.
// Prints a markdown table with each measure's target and whether it is met.
// Timings are wall-clock: run it on an otherwise idle machine.
//
//   npx tsx bench/engine.mjs           (from the repository root; loads the TypeScript sources)
//   npx tsx bench/engine.mjs --quick   (fewer repetitions, 256 MiB instead of 1 GiB)
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createArtifactReader,
  createArtifactWriter,
  fileMaterializer,
  LocalArtifactStore,
  MemoryRunStore,
  pipeline,
  runSnapshotInProcess,
  step,
} from "../packages/core/src/index.ts";

const quick = process.argv.includes("--quick");
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function environment() {
  const root = mkdtempSync(join(tmpdir(), "stackyard-bench-"));
  const artifactStore = new LocalArtifactStore({ id: "a", name: "bench", flavor: "local", config: { path: root }, sourceRoot: root });
  return { root, artifactStore, store: new MemoryRunStore() };
}

async function runOnce(p, env, compile = {}, extra = {}) {
  const snapshot = p.compile({ source: "./bench.ts#p", ...compile });
  const started = performance.now();
  // As `stackyard run` does: steps record into the store they run with, no step.json for a remote client.
  const result = await runSnapshotInProcess({ pipeline: p, snapshot, writeResultFile: false, ...env, ...extra });
  const elapsed = performance.now() - started;
  if (!["completed"].includes(result.status)) throw new Error(`bench run ${result.status}: ${JSON.stringify(result.steps.find((s) => s.error))}`);
  return { elapsed, result };
}

// A chain of trivial steps: each takes the previous output and adds one.
const first = step({ name: "first" }, async () => 0);
const inc = step({ name: "inc" }, async ({ n }) => n + 1);
function chainPipeline(length) {
  return pipeline({ name: `chain_${length}` }, () => {
    let previous = first();
    for (let i = 1; i < length; i++) previous = inc({ n: previous.output });
  });
}

async function chainOverhead() {
  const env = environment();
  const p = chainPipeline(100);
  await runOnce(p, env, { enableCache: false }); // warm-up: JIT, folders
  const perStep = [];
  for (let i = 0; i < (quick ? 5 : 15); i++) perStep.push((await runOnce(p, env, { enableCache: false })).elapsed / 100);
  rmSync(env.root, { recursive: true, force: true });
  return median(perStep);
}

async function cachedRerun() {
  const ratios = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    const env = environment();
    const p = chainPipeline(100);
    await runOnce(chainPipeline(5), env, { enableCache: false }); // warm-up outside the measured pair
    const firstRun = await runOnce(p, env);
    const rerun = await runOnce(p, env);
    if (!rerun.result.steps.every((s) => s.status === "cached")) throw new Error("rerun was not fully cached");
    ratios.push({ first: firstRun.elapsed, rerun: rerun.elapsed, pct: (100 * rerun.elapsed) / firstRun.elapsed });
    rmSync(env.root, { recursive: true, force: true });
  }
  const pct = median(ratios.map((r) => r.pct));
  return { pct, first: median(ratios.map((r) => r.first)), rerun: median(ratios.map((r) => r.rerun)) };
}

async function parallelNaps() {
  const env = environment();
  const nap = step({ name: "nap" }, async () => {
    await sleep(200);
    return 1;
  });
  const one = pipeline({ name: "one_nap" }, () => {
    nap();
  });
  const sixteen = pipeline({ name: "sixteen_naps" }, () => {
    for (let i = 0; i < 16; i++) nap();
  });
  const single = (await runOnce(one, env, { enableCache: false })).elapsed;
  const all = (await runOnce(sixteen, env, { enableCache: false }, { concurrency: 16 })).elapsed;
  rmSync(env.root, { recursive: true, force: true });
  return { single, all };
}

function compileLarge() {
  const noop = step({ name: "noop" }, async () => 1);
  const use = step({ name: "use" }, async ({ x }) => x);
  const p = pipeline({ name: "large" }, () => {
    const all = [noop()];
    for (let i = 1; i < 1000; i++) {
      all.push(i % 2 ? use({ x: all[i - 1].output }) : noop({}, { after: [all[Math.floor(i / 3)]] }));
    }
  });
  p.compile({ source: "./bench.ts#p" });
  const times = [];
  for (let i = 0; i < (quick ? 5 : 15); i++) {
    const started = performance.now();
    const snapshot = p.compile({ source: "./bench.ts#p" });
    times.push(performance.now() - started);
    if (snapshot.steps.length !== 1000) throw new Error("wrong step count");
  }
  return median(times);
}

// Runs in a child process so that its peak RSS is its own.
async function bigArtifactChild(bytes) {
  const env = environment();
  const source = join(env.root, "source.bin");
  const block = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);
  const handle = await open(source, "w");
  const expected = createHash("sha256");
  for (let written = 0; written < bytes; written += block.length) {
    await handle.write(block);
    expected.update(block);
  }
  await handle.close();
  const writer = createArtifactWriter(env.artifactStore, "runs/r/s/big");
  const started = performance.now();
  await fileMaterializer.save(source, writer);
  const saveMs = performance.now() - started;
  const loadedPath = await fileMaterializer.load(createArtifactReader(env.artifactStore, writer.uri));
  const readBack = createHash("sha256");
  for await (const chunk of createReadStream(loadedPath)) readBack.update(chunk);
  const ok = writer.digest() === expected.digest("hex") && readBack.digest("hex") === writer.digest() && writer.size === bytes;
  rmSync(env.root, { recursive: true, force: true });
  const peakMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ ok, peakMb, saveMs, size: writer.size }));
}

function bigArtifact(bytes) {
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--big-child", String(bytes)], { encoding: "utf8" });
  if (child.status !== 0) throw new Error(`big artifact child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop());
}

if (process.argv.includes("--big-child")) {
  await bigArtifactChild(Number(process.argv[process.argv.indexOf("--big-child") + 1]));
} else {
  const bytes = quick ? 256 * 1024 ** 2 : 1024 ** 3;
  const overhead = await chainOverhead();
  const naps = await parallelNaps();
  const cached = await cachedRerun();
  const compileMs = compileLarge();
  const big = bigArtifact(bytes);
  if (!big.ok) throw new Error("big artifact did not round-trip byte-exact");
  const rows = [
    [
      "Orchestration overhead, 100-step chain, every record and artifact persisted, MemoryRunStore + local store (median ms/step)",
      overhead.toFixed(3),
      "≤ 1 ms",
      overhead <= 1,
    ],
    [
      "16 independent 200 ms steps at concurrency 16 (wall ms; one step alone)",
      `${naps.all.toFixed(0)} (${naps.single.toFixed(0)}) = ${(naps.all / naps.single).toFixed(2)}x one step`,
      "well under 16x",
      naps.all / naps.single < 4,
    ],
    [
      "Rerun of unchanged 100-step chain, all cached (median % of the first run)",
      `${cached.pct.toFixed(1)}% (${cached.rerun.toFixed(1)} ms vs ${cached.first.toFixed(1)} ms)`,
      "≤ 10%",
      cached.pct <= 10,
    ],
    ["Compile a 1,000-step DAG (median ms)", compileMs.toFixed(1), "well under 1000", compileMs < 250],
    [
      `${quick ? "256 MiB" : "1 GiB"} artifact written and read back, file materializer (peak RSS MB; write ms)`,
      `${big.peakMb.toFixed(0)} MB; ${big.saveMs.toFixed(0)} ms`,
      "flat, not ~size",
      big.peakMb < 256,
    ],
  ];
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(1)}\n`);
  console.log("| measure | result | target | met |\n|---|---|---|---|");
  for (const [measure, result, target, met] of rows) console.log(`| ${measure} | ${result} | ${target} | ${met ? "yes" : "**no**"} |`);
}
