/**
 * A run with a map step in a real browser (Debian's Chromium driven by
 * playwright-core): the map is one stacked node with its items' counts, its
 * panel pages and filters the items, an item opens its own step panel, the
 * timeline groups items under the map, and the node counts up live.
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
const MAP = "svg.dag g.node.map[data-step='score']";

describe("a run with a map step in Chromium", () => {
  const ui = dashboardInChromium("dashboard-map-browser", (dir) => {
    copyFileSync(new URL("./fixtures/fanout.ts", import.meta.url), join(dir, "pipelines", "fanout.ts"));
    const out = cli(dir, ["run", "./pipelines/fanout.ts#fanout", "--run-name", "sweep", "-p", "n=60", "-p", "failOn=[5]"]);
    if (out.code !== 0) throw new Error(out.stderr);
  });

  it("draws the map as one node with its count and status, and a labelled edge to its collector", async () => {
    await ui.page.goto(`${ui.server.origin}/runs/sweep`);
    await ui.page.waitForSelector(MAP);
    expect(await ui.page.$$eval("svg.dag g.node", (gs) => gs.map((g) => g.getAttribute("data-step")).sort())).toEqual(["score", "shards", "total"]);
    expect(await ui.page.textContent(`${MAP} .node-progress`)).toBe("59/60 done, 1 failed");
    expect(await ui.page.getAttribute(MAP, "data-status")).toBe("completed");
    expect(await ui.page.$eval(`${MAP} rect.card`, (r) => getComputedStyle(r).stroke)).toBe(COMPLETED);
    expect(await ui.page.$$eval(`${MAP} rect.card-back`, (rs) => rs.length)).toBe(2);
    expect(await ui.page.$$eval("svg.dag path.edge", (ps) => ps.map((p) => [p.getAttribute("data-edge"), p.classList.contains("collect")]).sort())).toEqual([
      ["score->total", true],
      ["shards->score", false],
    ]);
    expect(await ui.page.textContent("svg.dag .edge-label")).toBe("collect");
    // The timeline: one row for the map, its items only when expanded.
    expect(await ui.page.$$eval(".timeline-row", (rows) => rows.map((r) => r.getAttribute("data-step")))).toEqual(["shards", "score", "total"]);
    await ui.page.click(".timeline-row[data-step='score'] button.timeline-toggle");
    await ui.page.waitForSelector(".timeline-row.timeline-item[data-step='score[59]']");
    expect(await ui.page.$$eval(".timeline-row.timeline-item", (rows) => rows.length)).toBe(60);
    await ui.page.click(".timeline-row[data-step='score'] button.timeline-toggle");
    await ui.page.waitForFunction(() => document.querySelectorAll(".timeline-row.timeline-item").length === 0);
  });

  it("opens the map's panel: counts, failed items, and a paged, filterable list of items", async () => {
    await ui.page.click(MAP);
    await ui.page.waitForSelector(".map-panel table.items tr.item-row");
    expect(new URL(ui.page.url()).searchParams.get("step")).toBe("score");
    expect(await ui.page.textContent(".map-panel .map-progress")).toBe("59/60 done, 1 failed");
    expect(await ui.page.textContent(".map-panel [data-count='failed'] strong")).toBe("1");
    expect(await ui.page.textContent(".map-panel .failed-items")).toBe("5");
    expect(await ui.page.textContent(".map-panel dl")).toContain("up to 2 failed items");
    expect(await ui.page.textContent(".map-panel dl")).toMatch(/tolerated\s*2/);
    expect(await ui.page.$$eval(".map-panel tr.item-row", (trs) => trs.length)).toBe(50);
    expect(await ui.page.textContent(".map-panel .item-range")).toBe("1–50 of 60");
    await ui.page.screenshot({ path: join(shots, "run-map.png"), fullPage: true });
    await ui.page.click(".map-panel button.next");
    await ui.page.waitForSelector(".map-panel .item-range:text('51–60 of 60')");
    expect(await ui.page.$$eval(".map-panel tr.item-row", (trs) => trs.map((tr) => tr.getAttribute("data-index")))).toEqual(
      Array.from({ length: 10 }, (_, i) => String(50 + i)),
    );
    await ui.page.selectOption(".map-panel select[name='item-status']", "failed");
    await ui.page.waitForSelector(".map-panel .item-range:text('1–1 of 1')");
    expect(await ui.page.textContent(".map-panel tr.item-row td.item-error")).toContain("shard 5 is corrupt");
    expect(await ui.page.textContent("main")).not.toMatch(/\b(null|undefined|NaN)\b/);
  });

  it("opens an item's own step panel with its logs and error, and goes back to the map", async () => {
    await ui.page.click(".map-panel tr.item-row[data-index='5']");
    await ui.page.waitForSelector(".step-panel[data-step='score[5]'] pre.logs:text('scoring shard 5')");
    expect(new URL(ui.page.url()).searchParams.get("step")).toBe("score[5]");
    expect(await ui.page.textContent(".step-panel[data-step='score[5]'] pre.error")).toContain("shard 5 is corrupt");
    // The map's node stays the selected one.
    expect(await ui.page.getAttribute(MAP, "class")).toContain("selected");
    await ui.page.click(".step-panel a.back-to-map");
    await ui.page.waitForSelector(".map-panel[data-step='score']");
    // An item's link opens straight onto its panel, with its output.
    await ui.page.goto(`${ui.server.origin}/runs/sweep?step=${encodeURIComponent("score[7]")}`);
    await ui.page.waitForSelector(".step-panel[data-step='score[7]'] pre.logs:text('scoring shard 7')");
    await ui.page.waitForSelector(".output-preview[data-output='output'] pre.preview[data-kind='json']");
    expect(await ui.page.textContent(".output-preview[data-output='output'] pre.preview")).toBe("70");
    await ui.page.screenshot({ path: join(shots, "run-map-item.png"), fullPage: true });
    expect(ui.errors).toEqual([]);
  });

  it("counts the map's items up live while the run goes on, without reloading", async () => {
    const exited = runInBackground(ui.dir, "live", ["n=16", "sleep_ms=500"], "./pipelines/fanout.ts#fanout");
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.click("table.runs a:text('live')", { timeout: 20_000 });
    await ui.page.waitForSelector(`${MAP}[data-status='running']`, { timeout: 20_000 });
    await ui.page.waitForFunction((sel) => /running/.test(document.querySelector(`${sel} .node-progress`)?.textContent ?? ""), MAP, { timeout: 20_000 });
    expect(await ui.page.$eval(`${MAP} rect.card`, (r) => getComputedStyle(r).stroke)).toBe(RUNNING);
    await ui.page.screenshot({ path: join(shots, "run-map-live.png"), fullPage: true });
    await ui.page.waitForSelector(`${MAP}[data-status='completed']`, { timeout: 30_000 });
    expect(await ui.page.textContent(`${MAP} .node-progress`)).toBe("16/16 done");
    await ui.page.waitForSelector("h1 .status-completed");
    expect(await exited).toBe(0);
    expect(ui.errors).toEqual([]);
  });
});
