// Runs every benchmark and writes BENCHMARKS.md with each result table and the
// command that produced it.
//
//   npm run bench                 all benchmarks (after npm run build)
//   npm run bench -- cli engine   only those whose name contains one of the words
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Each benchmark: a title, what it measures against which target, and its command. */
const BENCHMARKS = [
  { id: "cli-startup", title: "CLI start-up", command: "node bench/cli-startup.mjs 30" },
  { id: "engine", title: "Pipeline engine on the local stack", command: "npx tsx bench/engine.mjs" },
  { id: "artifact-versions", title: "Artifact versions in the SQLite store", command: "npx tsx bench/artifact-versions.mjs" },
  { id: "map-items", title: "Map steps on the local stack", command: "npx tsx bench/map-items.mjs" },
  { id: "cold-run", title: "A cold `stackyard run` of a 100-step pipeline", command: "node bench/cold-run.mjs 7" },
  { id: "vs-mastra", title: "Pipeline engine beside Mastra's workflows, and system calls per step", command: "node bench/engine-vs-mastra.mjs 11" },
  { id: "image-build", title: "Docker image build and reuse", command: "npx tsx packages/image-builder/bench/image-build.mjs 5" },
  { id: "docker-steps", title: "Docker orchestrator per-step overhead", command: "npx tsx bench/docker-steps.mjs" },
  { id: "s3-artifact", title: "1 GiB artifact through the S3 store (emulator)", command: "npx tsx bench/s3-artifact.mjs 1024 1" },
  { id: "asl-compile", title: "Step Functions compiler", command: "npx tsx bench/asl-compile.mjs" },
  { id: "dashboard", title: "Dashboard (`stackyard up`) over 10,000 runs, in Chromium", command: "npx tsx bench/dashboard.mjs 10000" },
  { id: "remote-runs", title: "Runs every teammate sees (`runs list` against moto)", command: "npx tsx bench/remote-runs.mjs 1000 3" },
];

const filters = process.argv.slice(2);
const chosen = BENCHMARKS.filter((b) => !filters.length || filters.some((f) => b.id.includes(f)));
const file = `${root}BENCHMARKS.md`;
const sections = new Map();
if (existsSync(file)) {
  // Keep the sections of benchmarks not run this time.
  for (const part of readFileSync(file, "utf8")
    .split(/^(?=## )/m)
    .slice(1))
    sections.set(part.split("\n")[0].slice(3).trim(), part.trimEnd());
}

for (const bench of chosen) {
  const script = bench.command.split(" ").find((w) => w.endsWith(".mjs"));
  if (!existsSync(`${root}${script}`)) continue;
  process.stderr.write(`running ${bench.command}\n`);
  const started = Date.now();
  const [cmd, ...args] = bench.command.split(" ");
  const result = spawnSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], shell: false });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const body = result.status === 0 ? result.stdout.trim() : `**Failed** (exit ${result.status}):\n\n\`\`\`\n${result.stdout.trim().slice(-2000)}\n\`\`\``;
  sections.set(bench.title, `## ${bench.title}\n\nCommand: \`${bench.command}\` (took ${seconds} s, ${new Date().toISOString().slice(0, 10)})\n\n${body}`);
}

const header = `# Benchmarks

Produced by \`npm run bench\` (which runs \`node bench/run.mjs\`) on a machine with
${cpus().length} cores and ${Math.round(totalmem() / 2 ** 30)} GiB of memory, Node ${process.version}. Each section
names the command that produced it; run one alone with \`npm run bench -- <name>\`.
Numbers vary with load: compare ratios, not absolute times.
`;
const ordered = BENCHMARKS.map((b) => sections.get(b.title)).filter(Boolean);
writeFileSync(file, [header, ...ordered].join("\n\n") + "\n");
process.stderr.write(`wrote ${file}\n`);
