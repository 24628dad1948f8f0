// A cold process that runs a 100-step pipeline, as a user does:
// `stackyard run ./chain.ts#chain` on the default stack (SQLite store, local
// artifact store, TypeScript pipeline loaded without a build step).
// Wall time and peak RSS of the whole process, median of several runs.
//
//   node bench/cold-run.mjs [runs]     (after npm run build)
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

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
  // The same pipeline compiled ahead of time, as a project with a build step runs it.
  writeFileSync(join(project, "chain.mjs"), transformSync(readFileSync(join(project, "chain.ts"), "utf8"), { loader: "ts", format: "esm" }).code);
  if (spawnSync(process.execPath, [bin, "init"], { cwd: project }).status !== 0) throw new Error("init failed");
  measure([bin, "run", "./chain.ts#chain", "-q"]); // warm the file cache and the TypeScript compile cache
  measure([bin, "run", "./chain.ts#single", "-q"]);
  // Interleaved, so that a busy moment falls on every command alike.
  const node = [],
    list = [],
    single = [],
    compiled = [],
    samples = [];
  for (let i = 0; i < runs; i++) {
    node.push(measure(["-e", "0"]));
    list.push(measure([bin, "stack", "list"]));
    single.push(measure([bin, "run", "./chain.ts#single", "-q"]));
    compiled.push(measure([bin, "run", "./chain.mjs#chain", "-q"]));
    samples.push(measure([bin, "run", "./chain.ts#chain", "-q"]));
  }
  const row = (label, values) => `| ${label} | ${median(values.map((s) => s.ms)).toFixed(0)} | ${median(values.map((s) => s.mib)).toFixed(0)} |`;
  const wall = median(samples.map((s) => s.ms));
  const rss = median(samples.map((s) => s.mib));
  console.log("| process | wall ms (median) | peak RSS MiB (median) | target |\n|---|---:|---:|---|");
  console.log(`${row("`node -e 0`", node)} |`);
  console.log(`${row("`stackyard stack list` (start-up, store opened)", list)} |`);
  console.log(`${row("`stackyard run ./chain.ts#single` (1 step)", single)} |`);
  console.log(`${row("`stackyard run ./chain.mjs#chain` (100 steps, compiled JavaScript)", compiled)} |`);
  console.log(
    `${row("`stackyard run ./chain.ts#chain` (100 steps, TypeScript source, default stack)", samples)} < 400 ms, < 150 MB: ${wall < 400 && rss * 1.048576 < 150 ? "met" : "not met"} |`,
  );
  const nodeMs = median(node.map((s) => s.ms));
  console.log(`\n${runs} runs, interleaved, Node ${process.version}; each run records 100 step runs and 100 artifacts in SQLite and the local artifact store.`);
  // The target was set on a machine where \`node -e 0\` took about 85 ms (400 ms is 4.7 times that); this machine's speed varies from day to day.
  console.log(
    `The TypeScript run takes ${(wall / nodeMs).toFixed(2)} times \`node -e 0\` (${nodeMs.toFixed(0)} ms) here; the target of 400 ms was set where \`node -e 0\` took about 85 ms, 4.7 times.`,
  );
} finally {
  rmSync(project, { recursive: true, force: true });
}
