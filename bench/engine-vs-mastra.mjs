// Stackyard's pipeline engine beside Mastra's workflows, on the same chain of
// 100 trivial steps (each returns its input plus one), each run in a fresh
// process of its own, the processes interleaved so that a busy moment falls on
// every kind alike:
//
//   - Stackyard: @stackyard/core's built dist (runSnapshotInProcess), with the
//     SQLite store of the `stackyard` package and the local artifact store on
//     disk, as `stackyard run` records a run on the default stack; and the same
//     with core's MemoryRunStore (artifacts still written to disk), so that the
//     SQLite share shows;
//   - Mastra (@mastra/core 0.24.9, installed by this bench on first use into
//     node_modules/.cache/stackyard-bench, so the project does not depend on
//     it and CI does not install it): a workflow of
//     100 createStep()s chained with .then(), on a Mastra instance with its
//     in-memory store (InMemoryStore), which keeps a snapshot of the run.
//
// Time of the run is measured inside each process (modules loaded, chain
// defined and Stackyard's snapshot compiled beforehand); the whole process is
// timed from spawn to exit. Then one process of each kind runs under
// `strace -f -c` with the 100-step chain and with a 1-step chain, and the
// difference over 99 steps gives the system calls per step.
//
//   node bench/engine-vs-mastra.mjs [pairs]     (after npm run build; default 7 rounds)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const MASTRA = "@mastra/core@0.24.9";
/** Where this bench keeps its own install of Mastra (with the zod it resolves). */
const mastraHome = join(root, "node_modules", ".cache", "stackyard-bench", "mastra-0.24.9");

/** Installs Mastra for the bench once (about 45 s); later runs reuse it. */
function ensureMastra() {
  if (existsSync(join(mastraHome, "node_modules", "@mastra", "core", "package.json"))) return;
  mkdirSync(mastraHome, { recursive: true });
  console.error(`installing ${MASTRA} for this bench into ${mastraHome}`);
  const installed = spawnSync("npm", ["install", "--prefix", mastraHome, "--no-audit", "--no-fund", "--save-exact", MASTRA, "zod@4"], {
    stdio: ["ignore", process.stderr, "inherit"],
  });
  if (installed.status !== 0) throw new Error(`could not install ${MASTRA} (npm exited ${installed.status})`);
}

/** Imports `specifier` as resolved from the bench's Mastra install. */
function fromMastraHome(specifier) {
  return import(pathToFileURL(createRequire(join(mastraHome, "package.json")).resolve(specifier)).href);
}
const self = fileURLToPath(import.meta.url);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The kinds of process compared, in the order each round runs them. */
const KINDS = {
  "stackyard-sqlite": "Stackyard, SQLite store + local artifact store",
  "stackyard-memory": "Stackyard, MemoryRunStore + local artifact store",
  mastra: "Mastra 0.24 workflow, InMemoryStore",
};

// ---------------------------------------------------------------------------
// Child: one process, one kind, `runs` runs of a chain of `steps` steps.

async function stackyardChild(kind, steps, runs, dir) {
  const loadStarted = performance.now();
  const core = await import("../packages/core/dist/index.js");
  const cli = kind === "stackyard-sqlite" ? await import("../packages/cli/dist/index.js") : undefined;
  const loadMs = performance.now() - loadStarted;
  const { LocalArtifactStore, MemoryRunStore, pipeline, runSnapshotInProcess, step } = core;

  // The same chain as bench/fixtures/chain.ts.
  const addOne = step({ name: "add_one", outputs: { value: "json" } }, async ({ value }) => ({ value: value + 1 }));
  const start = step({ name: "start", outputs: { value: "json" } }, async () => ({ value: 0 }));
  const chain = pipeline({ name: `chain_${steps}`, enableCache: false }, () => {
    let { value } = start();
    for (let i = 1; i < steps; i++) ({ value } = addOne({ value }));
  });
  let store;
  let artifactsPath = join(dir, "artifacts");
  let project;
  if (cli) {
    project = cli.openProjectAt(dir, true);
    store = new cli.SqliteRunStore(project.db);
    artifactsPath = project.paths.artifacts;
  } else {
    store = new MemoryRunStore();
  }
  const artifactStore = new LocalArtifactStore({ id: "a", name: "default", flavor: "local", config: { path: artifactsPath }, sourceRoot: dir });
  const times = [];
  for (let r = 0; r < runs; r++) {
    const snapshot = chain.compile({ source: "./chain.ts#chain" });
    const started = performance.now();
    // As `stackyard run` does: steps record into the store they run with, no step.json for a remote client.
    const result = await runSnapshotInProcess({ pipeline: chain, snapshot, store, artifactStore, sourceRoot: dir, writeResultFile: false });
    times.push(performance.now() - started);
    if (result.status !== "completed" || result.steps.length !== steps) throw new Error(`stackyard run ${result.status}`);
  }
  project?.close();
  return { loadMs, times };
}

async function mastraChild(steps, runs) {
  const loadStarted = performance.now();
  const [{ Mastra }, { InMemoryStore }, { createStep, createWorkflow }, { z }] = await Promise.all([
    fromMastraHome("@mastra/core/mastra"),
    fromMastraHome("@mastra/core/storage"),
    fromMastraHome("@mastra/core/workflows"),
    fromMastraHome("zod"),
  ]);
  const loadMs = performance.now() - loadStarted;

  const value = z.object({ value: z.number() });
  const start = createStep({ id: "start", inputSchema: z.object({}), outputSchema: value, execute: async () => ({ value: 0 }) });
  let workflow = createWorkflow({ id: `chain_${steps}`, inputSchema: z.object({}), outputSchema: value }).then(start);
  for (let i = 1; i < steps; i++) {
    workflow = workflow.then(
      createStep({ id: `add_one_${i}`, inputSchema: value, outputSchema: value, execute: async ({ inputData }) => ({ value: inputData.value + 1 }) }),
    );
  }
  workflow.commit();
  const storage = new InMemoryStore();
  const mastra = new Mastra({ workflows: { chain: workflow }, storage, logger: false });
  const times = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    const run = await mastra.getWorkflow("chain").createRunAsync();
    const result = await run.start({ inputData: {} });
    times.push(performance.now() - started);
    if (result.status !== "success" || result.result.value !== steps - 1) throw new Error(`mastra run ${result.status}`);
    const snapshot = await storage.loadWorkflowSnapshot({ workflowName: `chain_${steps}`, runId: run.runId });
    if (!snapshot) throw new Error("mastra kept no snapshot of the run");
  }
  return { loadMs, times };
}

if (process.argv[2] === "--child") {
  const [kind, steps, runs, dir] = [process.argv[3], Number(process.argv[4]), Number(process.argv[5]), process.argv[6]];
  const result = kind === "mastra" ? await mastraChild(steps, runs) : await stackyardChild(kind, steps, runs, dir);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------
// Parent.
ensureMastra();

const rounds = Number(process.argv[2] ?? 7);
const STEPS = 100;

/** Runs one child process in a fresh project folder (made and removed here, outside the process measured). */
function child(kind, steps, runs, wrap = []) {
  mkdirSync(join(root, ".test-tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, ".test-tmp", "bench-vs-mastra-"));
  try {
    const args = [...wrap, process.execPath, self, "--child", kind, String(steps), String(runs), dir];
    const started = process.hrtime.bigint();
    const result = spawnSync(args[0], args.slice(1), { cwd: root, encoding: "utf8" });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) throw new Error(`${kind} child failed (exit ${result.status}): ${result.stderr.slice(-2000)}`);
    return { ...JSON.parse(result.stdout.trim().split("\n").at(-1)), wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadBefore = loadavg()[0];
for (const kind of Object.keys(KINDS)) child(kind, STEPS, 1); // warm the file cache
const cold = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
for (let i = 0; i < rounds; i++) for (const kind of Object.keys(KINDS)) cold[kind].push(child(kind, STEPS, 1));
// Steady state: 1 + 10 runs in one process, the first left out; 3 processes of each kind, interleaved.
const warm = Object.fromEntries(Object.keys(KINDS).map((k) => [k, []]));
for (let i = 0; i < 3; i++) for (const kind of Object.keys(KINDS)) warm[kind].push(median(child(kind, STEPS, 11).times.slice(1)));
const loadAfter = loadavg()[0];

const range = (values) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
const perStep = (kind) => median(cold[kind].map((c) => c.times[0])) / STEPS;
const warmPerStep = (kind) => median(warm[kind]) / STEPS;
const mastraStep = perStep("mastra");
console.log(
  `Node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} CPUs, load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after\n`,
);
console.log(
  "| process (one run of a 100-step chain of trivial steps) | run, median ms/step (min–max) | x Mastra | warm run, ms/step | modules loaded, ms | whole process, wall ms |",
);
console.log("|---|---:|---:|---:|---:|---:|");
for (const [kind, label] of Object.entries(KINDS)) {
  const row = [
    label,
    `${perStep(kind).toFixed(3)} (${range(cold[kind].map((c) => c.times[0] / STEPS))})`,
    `${(perStep(kind) / mastraStep).toFixed(2)}x`,
    warmPerStep(kind).toFixed(3),
    median(cold[kind].map((c) => c.loadMs)).toFixed(0),
    median(cold[kind].map((c) => c.wallMs)).toFixed(0),
  ];
  console.log(`| ${row.join(" | ")} |`);
}
const sqliteStep = perStep("stackyard-sqlite");
const warmRatio = warmPerStep("stackyard-sqlite") / warmPerStep("mastra");
const verdict = [
  sqliteStep <= 1 ? "at most 1 ms/step: met" : `at most 1 ms/step: **not met** (${sqliteStep.toFixed(2)})`,
  sqliteStep < mastraStep
    ? `ahead of Mastra: met (${(sqliteStep / mastraStep).toFixed(2)}x its time per step)`
    : `ahead of Mastra: **not met**, behind it (${(sqliteStep / mastraStep).toFixed(2)}x its time per step)`,
  `in warm runs Stackyard takes ${warmRatio.toFixed(2)}x Mastra's time per step${warmRatio > 1 ? " (**behind**)" : ""}`,
].join("; ");
console.log(
  `\n${rounds} processes of each kind, interleaved (after one warm-up process each); "run" is the one run in each process, timed inside it after its modules loaded (Stackyard's snapshot compiled beforehand); "warm run" is the median of 10 more runs in one process (3 processes each). Stackyard with the SQLite store against its target: ${verdict}.`,
);

// System calls per step: a 100-step process less a 1-step process, over 99 steps.
function straceCounts(kind, steps) {
  mkdirSync(join(root, ".test-tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, ".test-tmp", "bench-strace-"));
  try {
    const out = join(dir, "strace.txt");
    child(kind, steps, 1, ["strace", "-f", "-c", "-o", out]);
    const counts = {};
    for (const line of readFileSync(out, "utf8").split("\n")) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 5 || !/^\d/.test(cols[0]) || cols.at(-1) === "total") continue;
      counts[cols.at(-1)] = { calls: Number(cols[3]), errors: cols.length >= 6 ? Number(cols[4]) : 0 };
    }
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (spawnSync("strace", ["-V"]).status !== 0) {
  console.log("\nstrace is not installed here: no system call counts.");
} else {
  const kinds = ["stackyard-sqlite", "stackyard-memory", "mastra"];
  // Three pairs of traced processes of each kind; the median difference of each call.
  const diff = {};
  for (const kind of kinds) {
    const pairs = [0, 1, 2].map(() => [straceCounts(kind, STEPS), straceCounts(kind, 1)]);
    diff[kind] = {};
    for (const name of new Set(pairs.flatMap(([long, short]) => [...Object.keys(long), ...Object.keys(short)]))) {
      // A difference below zero is noise between two processes: counted as none.
      const per = (field) => Math.max(0, median(pairs.map(([long, short]) => ((long[name]?.[field] ?? 0) - (short[name]?.[field] ?? 0)) / (STEPS - 1))));
      diff[kind][name] = { calls: per("calls"), errors: per("errors") };
    }
  }
  // File-system calls first, then the rest that come to at least 0.5 a step in any kind.
  const files = [
    "mkdir",
    "mkdirat",
    "openat",
    "open",
    "close",
    "rename",
    "renameat",
    "renameat2",
    "write",
    "pwrite64",
    "writev",
    "fsync",
    "fdatasync",
    "unlink",
    "statx",
    "newfstatat",
    "readlink",
    "lstat",
    "stat",
    "fstat",
    "read",
    "pread64",
    "getdents64",
  ];
  const others = [...new Set(kinds.flatMap((k) => Object.keys(diff[k])))]
    .filter((n) => !files.includes(n) && kinds.some((k) => Math.abs(diff[k][n]?.calls ?? 0) >= 0.5))
    .sort((a, b) => (diff["stackyard-sqlite"][b]?.calls ?? 0) - (diff["stackyard-sqlite"][a]?.calls ?? 0));
  const names = [...files.filter((n) => kinds.some((k) => Math.abs(diff[k][n]?.calls ?? 0) >= 0.05)), ...others];
  const cell = (k, n) => {
    const d = diff[k][n];
    if (!d || Math.abs(d.calls) < 0.05) return "0";
    return `${d.calls.toFixed(1)}${d.errors >= 0.05 ? ` (${d.errors.toFixed(1)} failed)` : ""}`;
  };
  const total = (k) => Object.values(diff[k]).reduce((sum, d) => sum + d.calls, 0);
  console.log(
    "\nSystem calls per step (`strace -f -c`, all threads; a 100-step process less a 1-step process, over 99 steps; median of 3 such pairs). Calls that wait between threads (futex, epoll_pwait) vary from run to run; a difference below zero counts as none:\n",
  );
  console.log(`| system call | ${kinds.map((k) => KINDS[k]).join(" | ")} |`);
  console.log(`|---|${kinds.map(() => "---:").join("|")}|`);
  for (const name of names) console.log(`| ${name} | ${kinds.map((k) => cell(k, name)).join(" | ")} |`);
  console.log(`| **all** | ${kinds.map((k) => total(k).toFixed(1)).join(" | ")} |`);
  const calls = (k, n) => diff[k][n]?.calls ?? 0;
  const fileCalls = (k) => files.reduce((sum, n) => sum + calls(k, n), 0);
  console.log(
    `\nPer step, Stackyard with the SQLite store makes ${fileCalls("stackyard-sqlite").toFixed(0)} file-system calls (${(fileCalls("stackyard-sqlite") - calls("stackyard-sqlite", "pwrite64") - calls("stackyard-sqlite", "pread64")).toFixed(0)} of them for the artifact store, the rest SQLite's page writes and reads) and ${calls("stackyard-sqlite", "fcntl").toFixed(0)} fcntl (SQLite's locks); Mastra makes ${fileCalls("mastra").toFixed(0)}. What a step's calls are for, read from \`strace -f\` of one run:`,
  );
  console.log(
    "- readlink (all failing: EINVAL, not a link; ENOENT): `realpathSync.native`, one readlink per folder of the path, run by LocalArtifactStore's check that a path stays inside its root, on every read and write of a step's output;",
  );
  console.log("- mkdir: the step's folder, then its output's folder, one call each, made from the nearest folder the store knows exists;");
  console.log(
    "- openat, write, close: the output's `data.json`, written in place (the artifact's record, committed after it, is what makes it valid: no temporary file, no rename); statx, openat, read: the output read back by the next step;",
  );
  console.log(
    "- pwrite64, pread64, fcntl: the SQLite store's page writes, reads and locks: one transaction per trivial step, its record with its artifact version (the record under way is written only for a step that runs 50 ms or more).",
  );
  const behind = sqliteStep > mastraStep || warmRatio > 1;
  console.log(
    behind
      ? `\nStackyard is behind Mastra here (${sqliteStep > mastraStep ? `${(sqliteStep / mastraStep).toFixed(2)}x its time per step in a process's one run,` : `ahead in a process's one run, ${(sqliteStep / mastraStep).toFixed(2)}x, but`} ${warmRatio.toFixed(2)}x in warm runs, SQLite store): Mastra's steps make next to no system calls, Stackyard's about ${total("stackyard-sqlite").toFixed(0)} each, nearly all synchronous on the main thread; those are the likely cause, the failing readlinks the most numerous.`
      : `\nStackyard is ahead of Mastra here (${(sqliteStep / mastraStep).toFixed(2)}x its time per step in a process's one run, ${warmRatio.toFixed(2)}x in warm runs, SQLite store).`,
  );
}
