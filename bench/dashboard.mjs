// The dashboard (`stackyard up`) over a big store, in Debian's Chromium:
// - a store of 10,000 runs of 10 steps: the runs API's answer time, the runs
//   page's time to interactive, the server's peak RSS;
// - a run of 1,000 steps: the time until its DAG is drawn;
// - a run with a map of 10,000 items: the run's and the items pages' answer times;
// - a step's status written to the store until the node shows it (median of 20).
// The runs are real runs of bench/fixtures/dashboard.ts on the default stack;
// the 10,000 are copies of one real run's records, written through the store.
// Prints a markdown table with each measure's target and whether it is met.
//
//   npx tsx bench/dashboard.mjs [runs]   (after npm run build; runs defaults to 10,000)
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { openDatabase } from "../packages/cli/src/store/database.ts";
import { SqliteRunStore } from "../packages/cli/src/store/sqlite-run-store.ts";
import { chromiumArgs, ensureChromium } from "../tools/src/engines/chromium.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
const RUNS = Number(process.argv[2] ?? 10_000);
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const env = { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0" };

mkdirSync(join(root, ".test-tmp"), { recursive: true });
const project = mkdtempSync(join(root, ".test-tmp", "bench-dashboard-"));

function stackyard(args) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: project, env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`stackyard ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** Starts `stackyard up --no-open` and resolves with the child and the printed URL. */
function up() {
  const child = spawn(process.execPath, [bin, "up", "--no-open"], { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`stackyard up exited ${code}: ${err}`)));
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("http://"));
      if (line) resolve({ child, url: new URL(line.trim()) });
    });
  });
}

/** Peak and current resident memory of a process, in MiB, from /proc. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)[1]);
  return { peak: kib("VmHWM") / 1024, now: kib("VmRSS") / 1024 };
}

let server;
let browser;
try {
  copyFileSync(join(root, "bench/fixtures/dashboard.ts"), join(project, "dashboard.ts"));
  stackyard(["init"]);
  stackyard(["run", "./dashboard.ts#ten", "-q", "--run-name", "seed"]);
  stackyard(["run", "./dashboard.ts#thousand", "-q", "--run-name", "thousand"]);
  stackyard(["run", "./dashboard.ts#wideMap", "-q", "--run-name", "wide-map"]);

  // Copies of the seed run's records: the runs newest first, one in ten failed, one in five tagged.
  const store = new SqliteRunStore(openDatabase(join(project, ".stackyard", "stackyard.db"), { create: false }));
  const seed = await store.getRun("seed");
  const steps = await store.listStepRuns(seed.id);
  const base = Date.parse("2026-01-01T00:00:00Z");
  const seeding = Date.now();
  store.db.exec("BEGIN");
  for (let i = 0; i < RUNS - 2; i++) {
    const id = `bench-${String(i).padStart(6, "0")}`;
    const at = (ms) => new Date(base + i * 60_000 + ms).toISOString();
    const failed = i % 10 === 9;
    await store.createRun({
      ...seed,
      id,
      name: `copy-${i}`,
      status: failed ? "failed" : "completed",
      created: at(0),
      started: at(10),
      ended: at(900),
      ...(failed ? { error: "Step 'join' failed" } : {}),
      tags: i % 5 === 0 ? ["nightly"] : [],
    });
    for (const [n, step] of steps.entries()) {
      await store.putStepRun({
        ...step,
        runId: id,
        started: at(20 + n * 80),
        ended: at(90 + n * 80),
        status: failed && n === steps.length - 1 ? "failed" : "completed",
      });
    }
  }
  store.db.exec("COMMIT");
  const seedSeconds = (Date.now() - seeding) / 1000;

  server = await up();
  const { origin } = server.url;
  const token = server.url.searchParams.get("token");
  const headers = { authorization: `Bearer ${token}` };

  /** Median answer time of an API path, after one warm-up request. */
  async function api(path, rounds = 31) {
    const times = [];
    for (let i = 0; i <= rounds; i++) {
      const started = performance.now();
      const res = await fetch(`${origin}${path}`, { headers });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      if (i > 0) times.push(performance.now() - started);
    }
    return median(times);
  }
  const firstPage = await api("/api/runs?limit=50");
  const lastPage = await api(`/api/runs?limit=50&offset=${RUNS - 50}`);
  const failedPage = await api("/api/runs?limit=50&status=failed&tag=nightly");
  const oneRun = await api(`/api/runs/${seed.id}`);
  const mapRun = (await store.getRun("wide-map")).id;
  const mapDetail = await api(`/api/runs/${mapRun}`, 11);
  const itemsFirst = await api(`/api/runs/${mapRun}/maps/square/items?limit=50`, 11);
  const itemsLast = await api(`/api/runs/${mapRun}/maps/square/items?limit=50&offset=9950&status=completed`, 11);

  browser = await chromium.launch({ executablePath: await ensureChromium(), args: [...chromiumArgs] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(server.url.href); // sets the token's cookie

  /** Median time from navigation until `ready` holds in the page. */
  async function pageTime(path, ready, arg, rounds) {
    const times = [];
    for (let i = 0; i <= rounds; i++) {
      const started = performance.now();
      await page.goto(`${origin}${path}`);
      await page.waitForFunction(ready, arg, { timeout: 60_000, polling: "raf" });
      if (i > 0) times.push(performance.now() - started);
    }
    return median(times);
  }
  const runsPage = await pageTime("/runs", () => document.querySelectorAll("table.runs tbody tr a").length >= 50, undefined, 7);
  const thousand = await store.getRun("thousand");
  const dagPage = await pageTime(`/runs/${thousand.id}`, (n) => document.querySelectorAll("svg.dag g.node").length >= n, 1000, 5);

  // A live run: a copy of the seed run, running; each round writes one step's next status.
  const live = { ...seed, id: "bench-live", name: "live", status: "running", created: new Date().toISOString(), ended: undefined, tags: [] };
  await store.createRun(live);
  await page.goto(`${origin}/runs/${live.id}`);
  await page.waitForSelector("svg.dag g.node");
  const pixel = [];
  for (let round = 0; round < 20; round++) {
    const step = steps[round % steps.length];
    const status = round < steps.length ? "running" : "completed";
    // Resolves with the time (ms since the epoch) of the first frame painted after the node shows `status`.
    await page.evaluate(
      ({ stepId, status }) => {
        window.__shown = new Promise((resolve) => {
          const node = () => document.querySelector(`svg.dag g.node[data-step="${stepId}"]`);
          const check = () => {
            if (node()?.getAttribute("data-status") !== status) return false;
            requestAnimationFrame(() => resolve(Date.now()));
            return true;
          };
          if (check()) return;
          const observer = new MutationObserver(() => check() && observer.disconnect());
          observer.observe(document.body, { attributes: true, subtree: true, childList: true });
        });
      },
      { stepId: step.stepId, status },
    );
    const written = Date.now();
    await store.putStepRun({
      ...step,
      runId: live.id,
      status,
      started: new Date().toISOString(),
      ended: status === "running" ? undefined : new Date().toISOString(),
    });
    pixel.push((await page.evaluate(() => window.__shown)) - written);
  }
  const statusToPixel = median(pixel);
  const rss = memory(server.child.pid);

  const row = (measure, value, target, met) => `| ${measure} | ${value} | ${target} | ${met ? "yes" : "**no**"} |`;
  console.log(
    [
      `${RUNS.toLocaleString("en")} runs of 10 steps (${(RUNS * 10).toLocaleString("en")} step records, written in ${seedSeconds.toFixed(1)} s), a run of 1,000 steps, load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores.`,
      "",
      "| Measure | Result | Target | Met |",
      "| --- | --- | --- | --- |",
      row("`GET /api/runs?limit=50` (first page), median of 31", `${firstPage.toFixed(1)} ms`, "< 100 ms", firstPage < 100),
      row(`\`GET /api/runs?limit=50&offset=${RUNS - 50}\` (last page)`, `${lastPage.toFixed(1)} ms`, "< 100 ms", lastPage < 100),
      row("`GET /api/runs?status=failed&tag=nightly`", `${failedPage.toFixed(1)} ms`, "< 100 ms", failedPage < 100),
      row("`GET /api/runs/<id>` (one run with its steps and snapshot)", `${oneRun.toFixed(1)} ms`, "-", true),
      row("`GET /api/runs/<id>` of a run with a 10,000-item map", `${mapDetail.toFixed(1)} ms`, "< 100 ms", mapDetail < 100),
      row("`GET .../maps/square/items?limit=50` (first page of 10,000 items)", `${itemsFirst.toFixed(1)} ms`, "< 100 ms", itemsFirst < 100),
      row("`GET .../maps/square/items?status=completed&offset=9950` (last page)", `${itemsLast.toFixed(1)} ms`, "< 100 ms", itemsLast < 100),
      row("Runs page: navigation to 50 rows with links, median of 7", `${runsPage.toFixed(0)} ms`, "< 1 s", runsPage < 1000),
      row("Run of 1,000 steps: navigation to all 1,000 DAG nodes drawn, median of 5", `${dagPage.toFixed(0)} ms`, "< 2 s", dagPage < 2000),
      row("Step status written to the store until painted in the open run page, median of 20", `${statusToPixel.toFixed(0)} ms`, "< 1 s", statusToPixel < 1000),
      row("Server peak RSS (`stackyard up`, after all of the above)", `${rss.peak.toFixed(0)} MiB`, "< 150 MB", rss.peak * 1.048576 < 150),
    ].join("\n"),
  );
} finally {
  await browser?.close();
  server?.child.kill("SIGTERM");
  rmSync(project, { recursive: true, force: true });
}
