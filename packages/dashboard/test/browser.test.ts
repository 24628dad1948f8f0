/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core,
 * against `stackyard up` over a project that ran the fixture pipeline.
 * Screenshots go to .test-tmp/dashboard-screenshots/.
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../cli/test/cli-harness.js";
import { dashboardInChromium, shots } from "./chromium.js";
import { runInBackground } from "./dashboard-server.js";

// style.css: completed and running node borders.
const COMPLETED = "rgb(47, 158, 68)";
const RUNNING = "rgb(28, 126, 214)";

describe("the dashboard in Chromium", () => {
  const ui = dashboardInChromium(
    "dashboard-browser",
    (dir) => {
      for (const args of [
        ["run", "./pipelines/hello.ts#hello", "--run-name", "first", "-p", "count=4"],
        ["run", "./pipelines/hello.ts#hello", "--run-name", "second", "-p", "count=4"],
      ]) {
        const out = cli(dir, args);
        if (out.code !== 0) throw new Error(out.stderr);
      }
      cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "broken", "-p", "fail=true", "--no-cache"]);
    },
    { height: 800, open: false },
  );

  it("opens the printed URL on the runs list, showing the runs and their statuses", async () => {
    await ui.page.goto(ui.server.url);
    expect(new URL(ui.page.url()).pathname).toBe("/runs");
    await ui.page.waitForSelector("table.runs tbody tr");
    const rows = await ui.page.$$eval("table.runs tbody tr", (trs) =>
      trs.map((tr) => [tr.querySelector("a")!.textContent, tr.querySelector(".status")!.textContent]),
    );
    expect(rows).toEqual([
      ["broken", "failed"],
      ["second", "completed"],
      ["first", "completed"],
    ]);
    expect(await ui.page.textContent("main")).not.toMatch(/\b(null|undefined|NaN)\b/);
    await ui.page.screenshot({ path: join(shots, "runs.png"), fullPage: true });
  });

  it("opens a run: the DAG's nodes drawn by status, the step panel with outputs and logs", async () => {
    await ui.page.click("table.runs a:text('first')");
    await ui.page.waitForSelector("svg.dag g.node");
    expect(new URL(ui.page.url()).pathname).toMatch(/^\/runs\/[0-9a-f-]+$/);
    const nodes = await ui.page.$$eval("svg.dag g.node", (gs) =>
      gs.map((g) => ({ step: g.getAttribute("data-step"), status: g.getAttribute("data-status"), stroke: getComputedStyle(g.querySelector("rect")!).stroke })),
    );
    expect(nodes.map((n) => n.step).sort()).toEqual(["make_numbers", "maybe_fail", "sum_numbers"]);
    for (const node of nodes) expect(node).toMatchObject({ status: "completed", stroke: COMPLETED });
    expect(await ui.page.$$eval("svg.dag path.edge", (ps) => ps.map((p) => p.getAttribute("data-edge")).sort())).toEqual([
      "make_numbers->sum_numbers",
      "sum_numbers->maybe_fail",
    ]);
    // The timeline: one bar per step, in start order, coloured by status.
    const bars = await ui.page.$$eval(".timeline-row", (rows) =>
      rows.map((r) => [r.getAttribute("data-step"), getComputedStyle(r.querySelector(".timeline-bar")!).backgroundColor]),
    );
    expect(bars).toEqual([
      ["make_numbers", COMPLETED],
      ["sum_numbers", COMPLETED],
      ["maybe_fail", COMPLETED],
    ]);
    await ui.page.click("svg.dag g.node[data-step='sum_numbers']");
    await ui.page.waitForSelector(".step-panel pre.logs:text('total is 10')");
    expect(await ui.page.textContent(".step-panel table.outputs")).toContain("total");
    await ui.page.waitForSelector(".output-preview[data-output='total'] pre.preview[data-kind='json']");
    expect(await ui.page.textContent(".output-preview[data-output='total'] pre.preview")).toBe("10");
    expect(await ui.page.textContent(".step-panel")).toContain("not cached: this run computed it");
    expect(new URL(ui.page.url()).searchParams.get("step")).toBe("sum_numbers");
    expect(await ui.page.textContent("main")).not.toMatch(/\b(null|undefined|NaN)\b/);
    await ui.page.screenshot({ path: join(shots, "run.png"), fullPage: true });
  });

  it("shows where a cached step's outputs came from, with their previews", async () => {
    await ui.page.goto(`${ui.server.origin}/runs/second?step=make_numbers`);
    await ui.page.waitForSelector(".step-panel[data-step='make_numbers'] a.cache-origin");
    const first = await (await fetch(`${ui.server.origin}/api/runs/first`, { headers: { authorization: `Bearer ${ui.server.token}` } })).json();
    expect(await ui.page.getAttribute(".step-panel a.cache-origin", "href")).toBe(`/runs/${first.run.id}?step=make_numbers`);
    // A JSON array shows as a tree (its items one per row), its text under "Raw JSON".
    const tree = ".output-preview[data-output='numbers'] .json-tree";
    await ui.page.waitForSelector(`${tree} details.json-node[open] > summary:has-text('[4 items]')`);
    expect(await ui.page.$$eval(`${tree} .json-row`, (rows) => rows.map((r) => r.textContent))).toEqual(["0: 1", "1: 2", "2: 3", "3: 4"]);
    expect(await ui.page.isVisible(".output-preview[data-output='numbers'] pre.preview")).toBe(false);
    await ui.page.click(".output-preview[data-output='numbers'] details.raw-json > summary");
    expect(JSON.parse((await ui.page.textContent(".output-preview[data-output='numbers'] pre.preview[data-kind='json']"))!)).toEqual([1, 2, 3, 4]);
    expect(await ui.page.isVisible(".output-preview[data-output='numbers'] pre.preview")).toBe(true);
    expect(await ui.page.textContent(".step-panel dl")).toContain("attempts1");
  });

  it("filters the runs list by status, pipeline and stack from menus of the store's values", async () => {
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.waitForSelector("table.runs tbody tr");
    expect(await ui.page.$$eval("select[name='pipeline'] option", (os) => os.map((o) => o.textContent))).toEqual(["any pipeline", "hello"]);
    expect(await ui.page.$$eval("select[name='stack'] option", (os) => os.map((o) => o.textContent))).toEqual(["any stack", "default"]);
    await ui.page.selectOption("select[name='status']", "failed");
    await ui.page.waitForURL((url) => url.searchParams.get("status") === "failed");
    await ui.page.waitForFunction(() => document.querySelectorAll("table.runs tbody tr").length === 1);
    expect(await ui.page.textContent("table.runs tbody")).toContain("broken");
    await ui.page.selectOption("select[name='pipeline'] ", "hello");
    await ui.page.waitForURL((url) => url.searchParams.get("pipeline") === "hello" && url.searchParams.get("status") === "failed");
    await ui.page.selectOption("select[name='status']", "");
    await ui.page.waitForURL((url) => !url.searchParams.has("status"));
    await ui.page.waitForFunction(() => document.querySelectorAll("table.runs tbody tr").length === 3);
  });

  it("compares two runs picked on the runs list, marking what differs", async () => {
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.waitForSelector("table.runs tbody tr");
    expect(await ui.page.getAttribute("a.compare-link", "class")).toContain("disabled");
    await ui.page.check("tr:has(a:text('first')) input.pick");
    await ui.page.check("tr:has(a:text('broken')) input.pick");
    await ui.page.click("a.compare-link");
    await ui.page.waitForSelector("table.compare.steps");
    const url = new URL(ui.page.url());
    expect(url.pathname).toBe("/compare");
    expect([url.searchParams.get("a"), url.searchParams.get("b")].every((id) => /^[0-9a-f-]{36}$/.test(id ?? ""))).toBe(true);
    expect(await ui.page.textContent("main h1")).toBe("Compare first and broken");
    expect(await ui.page.getAttribute("table.parameters tr[data-key='fail']", "class")).toBe("differs");
    expect(await ui.page.getAttribute("table.parameters tr[data-key='count']", "class")).toBe("differs");
    expect(await ui.page.getAttribute("table.config tr[data-key='stack']", "class")).toBe("same");
    expect(await ui.page.textContent("table.steps tr[data-step='maybe_fail']")).toMatch(/completed.*failed/);
    expect(await ui.page.getAttribute("table.outputs tr[data-output='sum_numbers.total']", "class")).toBe("differs");
    expect(await ui.page.getAttribute("table.outputs tr[data-output='maybe_fail.ok']", "class")).toBe("differs");
    expect(await ui.page.textContent("main")).not.toMatch(/\b(null|undefined|NaN)\b/);
    await ui.page.screenshot({ path: join(shots, "compare.png"), fullPage: true });
  });

  it("charts a pipeline's runs over time with uPlot: run duration, then a chosen output", async () => {
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.click("header nav a:text('Pipelines')");
    await ui.page.click("table.pipelines a:text('hello')");
    await ui.page.waitForSelector(".chart[data-metric='duration'] .uplot canvas");
    expect(new URL(ui.page.url()).pathname).toBe("/pipelines/hello");
    expect(await ui.page.getAttribute(".chart", "data-points")).toBe("3");
    const canvas = await ui.page.$eval(".chart canvas", (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    expect(canvas[0]).toBeGreaterThan(300);
    expect(canvas[1]).toBeGreaterThan(100);
    expect(await ui.page.$$eval("select[name='metric'] option", (os) => os.map((o) => o.getAttribute("value")))).toEqual([
      "duration",
      "output:sum_numbers.total",
      "param:count",
      "param:sleep_ms",
    ]);
    await ui.page.selectOption("select[name='metric']", "output:sum_numbers.total");
    await ui.page.waitForSelector(".chart[data-metric='output:sum_numbers.total'] .uplot canvas");
    expect(new URL(ui.page.url()).searchParams.get("metric")).toBe("output:sum_numbers.total");
    expect(await ui.page.textContent(".chart .u-legend")).toContain("output sum_numbers.total");
    expect(await ui.page.$$eval("table.runs tbody tr", (trs) => trs.map((tr) => tr.querySelector("a")!.textContent))).toEqual(["broken", "second", "first"]);
    await ui.page.screenshot({ path: join(shots, "pipeline.png"), fullPage: true });
  });

  it("shows a failed run's error and its failed node", async () => {
    await ui.page.goto(`${ui.server.origin}/runs/broken`);
    await ui.page.waitForSelector("svg.dag g.node[data-step='maybe_fail'][data-status='failed']");
    expect(await ui.page.textContent("pre.run-error")).toContain("refusing total 15");
    await ui.page.screenshot({ path: join(shots, "run-failed.png"), fullPage: true });
  });

  it("turns nodes from running to completed while the page is open, without reloading it", async () => {
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.waitForSelector("table.runs tbody tr");
    const exited = runInBackground(ui.dir, "slow", ["sleep_ms=2500"]);
    // The new run appears in the open list by itself, then its page shows the slow step running.
    await ui.page.waitForSelector("table.runs a:text('slow')", { timeout: 20_000 });
    await ui.page.click("table.runs a:text('slow')");
    const sleep = "svg.dag g.node[data-step='sleep']";
    await ui.page.waitForSelector(`${sleep}[data-status='running']`, { timeout: 20_000 });
    expect(await ui.page.$eval(`${sleep} rect`, (r) => getComputedStyle(r).stroke)).toBe(RUNNING);
    await ui.page.screenshot({ path: join(shots, "run-live.png"), fullPage: true });
    await ui.page.waitForSelector(`${sleep}[data-status='completed']`, { timeout: 20_000 });
    expect(await ui.page.$eval(`${sleep} rect`, (r) => getComputedStyle(r).stroke)).toBe(COMPLETED);
    await ui.page.waitForSelector("h1 .status-completed");
    await exited;
  });

  it("stops a running run from its page", async () => {
    const exited = runInBackground(ui.dir, "endless", ["sleep_ms=60000"]);
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.click("table.runs a:text('endless')", { timeout: 20_000 });
    await ui.page.waitForSelector("svg.dag g.node[data-step='sleep'][data-status='running']", { timeout: 20_000 });
    await ui.page.click("button.stop");
    await ui.page.waitForSelector("h1 .status-stopped", { timeout: 20_000 });
    expect(await ui.page.$("button.stop")).toBeNull();
    await ui.page.screenshot({ path: join(shots, "run-stopped.png"), fullPage: true });
    await exited;
  });

  it("lists stacks and components", async () => {
    await ui.page.click("header nav a:text('Stacks')");
    await ui.page.waitForSelector("table.stacks tr[data-stack='default']");
    expect(await ui.page.textContent("table.components")).toContain("local");
    // The flavors there are, with the components made of each.
    const local = await ui.page.$$eval("table.flavors tr[data-flavor='orchestrator/local'] td", (tds) => tds.map((td) => td.textContent));
    expect(local.slice(0, 3)).toEqual(["orchestrator", "local", "built-in"]);
    expect(local[4]).toBe("default");
    await ui.page.screenshot({ path: join(shots, "stacks.png"), fullPage: true });
  });
});

describe("tags, metadata and artifacts in Chromium", () => {
  const ui = dashboardInChromium("dashboard-artifacts-browser", (dir) => {
    copyFileSync(new URL("./fixtures/catalog.ts", import.meta.url), join(dir, "pipelines", "catalog.ts"));
    for (const args of [
      ["run", "./pipelines/hello.ts#hello", "--run-name", "plain"],
      ["run", "./pipelines/catalog.ts#catalog", "--run-name", "cat1", "-p", "n=2", "--tag", "nightly"],
      ["run", "./pipelines/catalog.ts#catalog", "--run-name", "cat2", "-p", "n=4", "--tag", "nightly", "--tag", "best"],
      ["artifact", "tag", "catalog_rows:2", "production"],
    ]) {
      const out = cli(dir, args);
      if (out.code !== 0) throw new Error(out.stderr);
    }
  });

  it("filters the runs list by tag from a menu of the store's tags, and shows each run's tags", async () => {
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.waitForSelector("table.runs tbody tr");
    expect(await ui.page.$$eval("select[name='tag'] option", (os) => os.map((o) => o.textContent))).toEqual(["any tag", "best", "nightly"]);
    expect(await ui.page.$$eval("tr:has(a:text('cat2')) td.run-tags .tag", (ts) => ts.map((t) => t.textContent))).toEqual(["nightly", "best"]);
    await ui.page.selectOption("select[name='tag']", "nightly");
    await ui.page.waitForURL((url) => url.searchParams.get("tag") === "nightly");
    await ui.page.waitForFunction(() => document.querySelectorAll("table.runs tbody tr").length === 2);
    expect(await ui.page.$$eval("table.runs tbody tr td:nth-child(2) a", (as) => as.map((a) => a.textContent))).toEqual(["cat2", "cat1"]);
    // A tag chip filters by its tag.
    await ui.page.click("tr:has(a:text('cat2')) td.run-tags a.tag:text('best')");
    await ui.page.waitForFunction(() => document.querySelectorAll("table.runs tbody tr").length === 1);
    expect(new URL(ui.page.url()).searchParams.get("tag")).toBe("best");
  });

  it("shows a run's tags and typed metadata, a step's metadata, inputs and output versions linking to their pages", async () => {
    await ui.page.goto(`${ui.server.origin}/runs/cat2?step=report`);
    await ui.page.waitForSelector("table.metadata[aria-label='run metadata']");
    expect(await ui.page.textContent("table[aria-label='run metadata'] tr[data-key='accuracy'] td")).toBe("0.54");
    // An s3:// URI is no link; an https one is.
    expect(await ui.page.$("table[aria-label='run metadata'] tr[data-key='dataset'] a")).toBeNull();
    expect(await ui.page.textContent("table[aria-label='run metadata'] tr[data-key='dataset'] code.meta-uri")).toBe("s3://bucket/rows.csv");
    expect(await ui.page.$$eval(".run-header .run-tags .tag", (ts) => ts.map((t) => t.textContent))).toEqual(["nightly", "best"]);
    await ui.page.waitForSelector(".step-panel[data-step='report'] table.inputs");
    expect(await ui.page.textContent(".step-panel table.inputs tr[data-input='rows'] a.version-link")).toBe("catalog_rows:2");
    expect(await ui.page.textContent(".step-panel table.outputs tr[data-output='chart'] a.version-link")).toBe("catalog_chart:2");
    await ui.page.click("svg.dag g.node[data-step='prepare']");
    await ui.page.waitForSelector(".step-panel[data-step='prepare'] table[aria-label='step metadata']");
    expect(await ui.page.textContent("table[aria-label='step metadata'] tr[data-key='prep_time'] .meta-duration")).toBe("1m 15s");
    expect(await ui.page.textContent("table[aria-label='step metadata'] tr[data-key='kind'] .meta-dtype")).toBe("int64");
    expect(await ui.page.textContent(".step-panel table.outputs tr[data-output='rows']")).toContain("production");
    await ui.page.click(".step-panel table.outputs tr[data-output='rows'] a.version-link");
    await ui.page.waitForSelector("svg.lineage");
    expect(new URL(ui.page.url()).pathname).toBe("/artifacts/catalog_rows/2");
    expect(await ui.page.textContent("main")).not.toMatch(/\b(null|undefined|NaN)\b/);
  });

  it("lists artifacts filtered by name text and tag, and one name's versions newest first", async () => {
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.click("header nav a:text('Artifacts')");
    await ui.page.waitForSelector("table.artifacts tr[data-artifact='catalog_rows']");
    expect(await ui.page.textContent("table.artifacts tr[data-artifact='catalog_rows']")).toMatch(/catalog_rows2catalog_rows:2.*production/);
    await ui.page.fill("input[name='name']", "table");
    await ui.page.click("form.filters button");
    await ui.page.waitForFunction(() => document.querySelectorAll("table.artifacts tbody tr").length === 1);
    expect(new URL(ui.page.url()).searchParams.get("name")).toBe("table");
    await ui.page.goto(`${ui.server.origin}/artifacts?tag=production`);
    await ui.page.waitForFunction(() => document.querySelectorAll("table.artifacts tbody tr").length === 1);
    await ui.page.click("table.artifacts a:text('catalog_rows')");
    await ui.page.waitForSelector("table.versions tr[data-version='1']");
    expect(await ui.page.$$eval("table.versions > tbody > tr", (trs) => trs.map((tr) => tr.getAttribute("data-version")))).toEqual(["2", "1"]);
    expect(await ui.page.getAttribute("table.versions tr[data-version='2'] a.meta-uri", "href")).toBe("https://example.com/rows.csv");
    expect(await ui.page.getAttribute("table.versions tr[data-version='2'] a.meta-uri", "rel")).toBe("noopener noreferrer");
    expect(await ui.page.textContent("table.versions tr[data-version='2'] code.meta-path")).toBe("data/rows.csv");
    expect(await ui.page.textContent("table.versions tr[data-version='1']")).toContain("cat1");
  });

  it("shows a version's lineage graph and its visualizations, with no script of theirs run", async () => {
    await ui.page.goto(`${ui.server.origin}/artifacts/catalog_chart/2`);
    await ui.page.waitForSelector("svg.lineage a.lineage-node");
    const labels = await ui.page.$$eval("svg.lineage a.lineage-node", (as) => as.map((a) => a.getAttribute("data-label")).sort());
    expect(labels).toEqual(["catalog_chart:2", "catalog_rows:2", "prepare", "report"]);
    expect(await ui.page.getAttribute("svg.lineage a.lineage-node.focus", "data-label")).toBe("catalog_chart:2");
    expect(await ui.page.$$eval("svg.lineage path.edge", (ps) => ps.length)).toBe(3);
    expect(await ui.page.textContent(".sha256")).toMatch(/^[0-9a-f]{64}$/);
    expect(await ui.page.textContent("ul.producer-inputs")).toBe("rows: catalog_rows:2");
    // The SVG drawn as an image (its script never runs).
    const img = await ui.page.waitForSelector(".visualization[data-type='svg'] img");
    await ui.page.waitForFunction((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0, img);
    expect(await img.evaluate((el) => (el as HTMLImageElement).naturalWidth)).toBe(200);
    await ui.page.screenshot({ path: join(shots, "artifact.png"), fullPage: true });
    // The producing step's panel draws the same view in place of the SVG's source text.
    const detail = await ui.page.evaluate(async () => (await (await fetch("/api/artifacts/catalog_chart/2")).json()) as { artifact: { runId: string } });
    await ui.page.goto(`${ui.server.origin}/runs/${detail.artifact.runId}?step=report`);
    const inPanel = await ui.page.waitForSelector(".output-preview[data-output='chart'] .visualization[data-type='svg'] img");
    await ui.page.waitForFunction((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0, inPanel);
    expect(await ui.page.$(".output-preview[data-output='chart'] pre.preview")).toBeNull();
    await ui.page.waitForSelector(".output-preview[data-output='table'] .visualization[data-type='csv'] table.csv tbody tr");

    await ui.page.goto(`${ui.server.origin}/artifacts/catalog_page/2`);
    const frame = await (await ui.page.waitForSelector(".visualization[data-type='html'] iframe")).contentFrame();
    expect(await ui.page.getAttribute(".visualization iframe", "sandbox")).toBe("");
    await frame!.waitForSelector("#inner");
    expect(await frame!.textContent("#inner")).toBe("Inner page");

    await ui.page.goto(`${ui.server.origin}/artifacts/catalog_notes/2`);
    await ui.page.waitForSelector(".visualization[data-type='markdown'] .markdown h3");
    expect(await ui.page.textContent(".markdown h3")).toBe("Report");
    expect(await ui.page.textContent(".markdown strong")).toBe("4");
    expect(await ui.page.$$eval(".markdown li", (ls) => ls.map((l) => l.textContent))).toEqual(["first", "second"]);
    expect(await ui.page.$(".markdown img")).toBeNull();
    expect(await ui.page.textContent(".markdown")).toContain('<img src=x onerror="window.pwned=1">');

    await ui.page.goto(`${ui.server.origin}/artifacts/catalog_table/2`);
    await ui.page.waitForSelector(".visualization[data-type='csv'] table.csv tbody tr");
    expect(await ui.page.$$eval("table.csv thead th", (ths) => ths.map((t) => t.textContent))).toEqual(["id", "label"]);
    expect(await ui.page.$$eval("table.csv tbody tr", (trs) => trs.length)).toBe(4);
    expect(await ui.page.textContent("table.csv tbody tr:first-child td:last-child")).toBe("row 1, quoted");
    expect(await ui.page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    expect(ui.errors).toEqual([]);
  });

  it("charts a chosen run metadata key across a pipeline's runs", async () => {
    await ui.page.goto(`${ui.server.origin}/pipelines/catalog`);
    await ui.page.waitForSelector(".chart .uplot canvas");
    expect(await ui.page.$$eval("select[name='metric'] option", (os) => os.map((o) => o.getAttribute("value")))).toContain("meta:accuracy");
    await ui.page.selectOption("select[name='metric']", "meta:accuracy");
    await ui.page.waitForSelector(".chart[data-metric='meta:accuracy'] .uplot canvas");
    expect(await ui.page.getAttribute(".chart", "data-points")).toBe("2");
    expect(await ui.page.textContent(".chart .u-legend")).toContain("metadata accuracy");
  });
});
