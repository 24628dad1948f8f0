// A cold process that runs a 100-step pipeline, as a user does:
// `stackyard run ./chain.ts#chain` on the default stack (SQLite store, local
// artifact store, TypeScript pipeline loaded without a build step).
// Wall time and peak RSS of the whole process, median of several runs.
//
//   node bench/cold-run.mjs [runs]     (after npm run build)
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
const runs = Number(process.argv[2] ?? 7);
mkdirSync(join(root, ".test-tmp"), { recursive: true });
const project = mkdtempSync(join(root, ".test-tmp", "bench-cold-"));
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

/** Runs a command under /usr/bin/time and returns wall ms and peak RSS MiB. */
function measure(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...args], { cwd: project, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
  const kib = Number(result.stderr.trim().split("\n").at(-1));
  return { ms, mib: kib / 1024 };
}

try {
  cpSync(join(root, "bench/fixtures/chain.ts"), join(project, "chain.ts"));
  if (spawnSync(process.execPath, [bin, "init"], { cwd: project }).status !== 0) throw new Error("init failed");
  measure([bin, "run", "./chain.ts#chain", "-q"]); // warm the file cache and tsx's transform cache
  const samples = Array.from({ length: runs }, () => measure([bin, "run", "./chain.ts#chain", "-q"]));
  const node = Array.from({ length: runs }, () => measure(["-e", "0"]));
  const wall = median(samples.map((s) => s.ms));
  const rss = median(samples.map((s) => s.mib));
  console.log("| process | wall ms (median) | peak RSS MiB (median) | target |\n|---|---:|---:|---|");
  console.log(`| \`node -e 0\` | ${median(node.map((s) => s.ms)).toFixed(0)} | ${median(node.map((s) => s.mib)).toFixed(0)} | |`);
  console.log(`| \`stackyard run ./chain.ts#chain\` (100 steps, default stack) | ${wall.toFixed(0)} | ${rss.toFixed(0)} | < 400 ms, < 150 MB: ${wall < 400 && rss * 1.048576 < 150 ? "met" : "not met"} |`);
  console.log(`\n${runs} runs, Node ${process.version}; each run records 100 step runs and 100 artifacts in SQLite and the local artifact store.`);
} finally {
  rmSync(project, { recursive: true, force: true });
}
