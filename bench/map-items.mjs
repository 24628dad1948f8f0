// Benchmark of map steps on the local stack: a 10,000-item map of a trivial
// step, every item's step run, output artifact and consumed-input link
// persisted in the embedded SQLite store and the local artifact store, as
// `stackyard run` does on the default stack. Measures wall time per item, the
// peak RSS of the process that ran it, and a cached rerun per item.
// Each run happens in a fresh child process so that its peak RSS is its own.
//
//   npx tsx bench/map-items.mjs           (from the repository root; loads the TypeScript sources)
//   npx tsx bench/map-items.mjs --quick   (2,000 items)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const quick = process.argv.includes("--quick");
const ITEMS = quick ? 2_000 : 10_000;

async function child(root, items, cache) {
  const { openDatabase } = await import("../packages/cli/src/store/database.ts");
  const { SqliteRunStore } = await import("../packages/cli/src/store/sqlite-run-store.ts");
  const { LocalArtifactStore, pipeline, runSnapshotInProcess, step } = await import("../packages/core/src/index.ts");
  const store = new SqliteRunStore(openDatabase(join(root, "stackyard.db"), { create: true }));
  const artifactStore = new LocalArtifactStore({ id: "a", name: "bench", flavor: "local", config: { path: join(root, "artifacts") }, sourceRoot: root });
  const { z } = await import("zod");
  const make = step({ name: "make", parameters: z.object({ n: z.number().int() }) }, (_inputs, ctx) => Array.from({ length: ctx.parameters.n }, (_, i) => i));
  const square = step({ name: "square" }, ({ x }) => x * x);
  const total = step({ name: "total" }, ({ xs }) => xs.reduce((a, b) => a + b, 0));
  const p = pipeline({ name: "map_bench", parameters: z.object({ n: z.number().int() }) }, (params) => {
    total({ xs: square.map({ x: make({}, { parameters: { n: params.n } }).output }).collect() });
  });
  const snapshot = p.compile({ source: "./bench.ts#p", enableCache: cache, parameters: { n: items } });
  const started = performance.now();
  const result = await runSnapshotInProcess({ pipeline: p, snapshot, store, artifactStore, concurrency: availableParallelism() * 4, writeResultFile: false });
  const elapsed = performance.now() - started;
  if (result.status !== "completed") throw new Error(`map run ${result.status}: ${JSON.stringify(result.steps.find((s) => s.error))}`);
  const statuses = (await store.listStepRuns(result.runId)).filter((s) => s.stepId.startsWith("square[")).map((s) => s.status);
  process.stdout.write(
    JSON.stringify({ elapsed, items: statuses.length, cached: statuses.filter((s) => s === "cached").length, maxRssMb: process.resourceUsage().maxRSS / 1024 }),
  );
}

function measure(root, cache) {
  const script = fileURLToPath(import.meta.url);
  const result = spawnSync(process.execPath, ["--import", "tsx", script, "--child", root, String(ITEMS), String(cache)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`child failed:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

if (process.argv[2] === "--child") {
  await child(process.argv[3], Number(process.argv[4]), process.argv[5] === "true");
} else {
  const root = mkdtempSync(join(tmpdir(), "stackyard-bench-"));
  try {
    const first = measure(root, true);
    const rerun = measure(root, true);
    if (first.items !== ITEMS || rerun.cached !== ITEMS) throw new Error(`expected ${ITEMS} items run then cached, got ${JSON.stringify({ first, rerun })}`);
    const perItem = first.elapsed / ITEMS;
    const cachedPerItem = rerun.elapsed / ITEMS;
    const rss = Math.max(first.maxRssMb, rerun.maxRssMb);
    console.log(`Node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(1)}\n`);
    console.log("| measure | result | target | met |");
    console.log("|---|---|---|---|");
    console.log(
      `| ${ITEMS.toLocaleString("en")}-item map of a trivial step, then a collector; SQLite store + local artifact store (wall ms per item; total) | ${perItem.toFixed(3)} (${(first.elapsed / 1000).toFixed(1)} s) | ≤ 1 ms | ${perItem <= 1 ? "yes" : "no"} |`,
    );
    console.log(
      `| The same map rerun, every item cached (wall ms per item; total) | ${cachedPerItem.toFixed(3)} (${(rerun.elapsed / 1000).toFixed(1)} s) | well under the first run | ${cachedPerItem < perItem ? "yes" : "no"} |`,
    );
    console.log(`| Peak RSS of the process running the map (MB) | ${rss.toFixed(0)} | < 300 MB | ${rss < 300 ? "yes" : "no"} |`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
