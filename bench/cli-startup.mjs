// CLI start-up: `stackyard stack list` against `node -e 0`.
// Usage: node bench/cli-startup.mjs [runs]   (after `npm run build`)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
const runs = Number(process.argv[2] ?? 30);
mkdirSync(join(root, ".test-tmp"), { recursive: true });
const project = mkdtempSync(join(root, ".test-tmp", "bench-startup-"));

function time(args) {
  const samples = [];
  for (let i = 0; i < runs + 3; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd: project, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}`);
    if (i >= 3) samples.push(ms); // warm the file cache first
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], p90: samples[Math.floor(samples.length * 0.9)] };
}

try {
  const init = spawnSync(process.execPath, [bin, "init"], { cwd: project, encoding: "utf8" });
  if (init.status !== 0) throw new Error(init.stderr);
  const node = time(["-e", "0"]);
  const list = time([bin, "stack", "list"]);
  const help = time([bin, "--help"]);
  const rows = [
    ["node -e 0", node],
    ["stackyard stack list", list],
    ["stackyard --help", help],
  ];
  console.log(`| command | median ms | p90 ms | x node |\n|---|---|---|---|`);
  for (const [name, t] of rows) console.log(`| \`${name}\` | ${t.median.toFixed(1)} | ${t.p90.toFixed(1)} | ${(t.median / node.median).toFixed(2)} |`);
  console.log(`\nstack list / node start-up: ${(list.median / node.median).toFixed(2)}x (target < 3x), ${runs} runs each, Node ${process.version}`);
} finally {
  rmSync(project, { recursive: true, force: true });
}
