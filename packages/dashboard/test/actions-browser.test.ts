/**
 * The run page's actions in a real browser (Debian's Chromium driven by
 * playwright-core): Retry on a failed run opens the new run, which goes on
 * live to completed and links back to the run it retries; Retry from a step;
 * a running step's log tails live. Screenshots go to
 * .test-tmp/dashboard-screenshots/.
 */
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromiumArgs, ensureChromium } from "@stackyard/tools/engines";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject, repoRoot } from "../../cli/test/cli-harness.js";
import { type RunningDashboard, runInBackground, startUp } from "./dashboard-server.js";

const shots = join(repoRoot, ".test-tmp", "dashboard-screenshots");
const node = (step: string) => `svg.dag g.node[data-step='${step}']`;

describe("retrying runs from the run page in Chromium", () => {
  let dir: string;
  let server: RunningDashboard;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const executablePath = await ensureChromium();
    dir = newProject("dashboard-actions-browser");
    copyFileSync(new URL("./fixtures/flaky.ts", import.meta.url), join(dir, "pipelines", "flaky.ts"));
    writeFileSync(join(dir, "fail-train"), "");
    const out = cli(dir, ["run", "./pipelines/flaky.ts#flaky", "--run-name", "nightly", "--no-cache"]);
    if (out.code === 0) throw new Error("the run 'nightly' should have failed");
    server = await startUp(dir);
    browser = await chromium.launch({ executablePath, args: [...chromiumArgs] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(server.url);
    mkdirSync(shots, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) removeProject(dir);
  });

  it("retries a failed run: the page opens the new run, which completes live and links back", async () => {
    await page.goto(`${server.origin}/runs/nightly?step=train`);
    await page.waitForSelector("h1 .status-failed");
    await page.waitForSelector(".step-panel[data-step='train'] pre.logs:text('training on 3 rows')");
    expect(await page.textContent("h1 .run-actions")).toBe("RetryRerun");
    expect(await page.textContent(".step-panel[data-step='train'] button.retry-from")).toBe("Retry from train");
    await page.screenshot({ path: join(shots, "run-actions.png"), fullPage: true });
    // What made it fail is gone: the retry runs train and report, and reuses prepare.
    rmSync(join(dir, "fail-train"));
    await page.click("h1 button.run-action.retry");
    await page.waitForURL(/\/runs\/nightly-retry$/, { timeout: 30_000 });
    await page.waitForSelector("h1 .status-completed", { timeout: 30_000 });
    expect(await page.textContent("h1")).toContain("nightly-retry");
    expect(await page.textContent("a.retry-of")).toBe("nightly");
    await page.waitForSelector(`${node("report")}[data-status='completed']`);
    expect(await page.getAttribute(node("prepare"), "data-status")).toBe("cached");
    expect(await page.getAttribute(node("train"), "data-status")).toBe("completed");
    // A completed run offers Rerun, not Retry.
    expect(await page.textContent("h1 .run-actions")).toBe("Rerun");
    await page.screenshot({ path: join(shots, "run-retried.png"), fullPage: true });
    await page.click("a.retry-of");
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    await page.waitForSelector("h1 .status-failed");
    expect(await page.textContent("h1")).toContain("nightly");
    expect(errors).toEqual([]);
  });

  it("shows why a retry did not start, retries from a step's panel, and reruns", async () => {
    // The pipeline's source gone, `stackyard runs retry` refuses: the page says why and stays.
    const source = join(dir, "pipelines", "flaky.ts");
    renameSync(source, `${source}.away`);
    await page.goto(`${server.origin}/runs/nightly`);
    await page.click("h1 button.run-action.retry");
    await page.waitForSelector(".action-error:text('before recording a run')", { timeout: 30_000 });
    expect(await page.textContent(".action-error")).toContain("Cannot load './pipelines/flaky.ts'");
    expect(new URL(page.url()).pathname).toBe("/runs/nightly");
    expect(await page.isEnabled("h1 button.run-action.retry")).toBe(true);
    await page.screenshot({ path: join(shots, "run-retry-refused.png"), fullPage: false });
    renameSync(`${source}.away`, source);

    await page.goto(`${server.origin}/runs/nightly-retry?step=report`);
    await page.click(".step-panel[data-step='report'] button.retry-from");
    await page.waitForURL(/\/runs\/nightly-retry-retry$/, { timeout: 30_000 });
    await page.waitForSelector("h1 .status-completed", { timeout: 30_000 });
    await page.waitForSelector(`${node("report")}[data-status='completed']`, { timeout: 30_000 });
    expect(await page.getAttribute(node("train"), "data-status")).toBe("cached");
    expect(await page.textContent("a.retry-of")).toBe("nightly-retry");
    // Rerun: every step runs again (the snapshot has caching off).
    await page.click("h1 button.run-action.rerun");
    await page.waitForURL(/\/runs\/nightly-retry-retry-rerun$/, { timeout: 30_000 });
    await page.waitForSelector("h1 .status-completed", { timeout: 30_000 });
    // The nodes follow the run's events: each turns completed (the header may say so a moment before the last one does).
    for (const step of ["prepare", "train", "report"]) await page.waitForSelector(`${node(step)}[data-status='completed']`, { timeout: 30_000 });
    expect(errors).toEqual([]);
  });

  it("tails a running step's log live and stops when the step ends; no actions while the run goes on", async () => {
    const exited = runInBackground(dir, "slow", ["sleep_ms=6000"], "./pipelines/flaky.ts#flaky");
    await page.goto(`${server.origin}/runs`);
    await page.click("table.runs a:text('slow')", { timeout: 20_000 });
    await page.waitForSelector(`${node("train")}[data-status='running']`, { timeout: 20_000 });
    await page.click(node("train"));
    await page.waitForSelector(".step-panel[data-step='train'] pre.logs[data-live='true']");
    expect(await page.$("h1 .run-actions")).toBeNull();
    expect(await page.$("button.retry-from")).toBeNull();
    // The running step writes its log out as it goes: its first line shows while it still runs.
    await page.waitForSelector(".step-panel[data-step='train'] pre.logs[data-live='true']:text('training on 3 rows')", { timeout: 20_000 });
    expect(await page.textContent(".step-panel .logs-note")).toMatch(/^Live/);
    expect(await page.textContent(".step-panel[data-step='train'] pre.logs")).not.toContain("trained\n");
    await page.screenshot({ path: join(shots, "run-live-log.png"), fullPage: true });
    await page.waitForSelector(".step-panel[data-step='train'] pre.logs:text('trained')", { timeout: 20_000 });
    await page.waitForSelector("h1 .status-completed", { timeout: 20_000 });
    expect(await page.$("pre.logs[data-live='true']")).toBeNull();
    expect(await page.textContent(".step-panel[data-step='train'] pre.logs")).toBe("training on 3 rows\ntrained\n");
    expect(await exited).toBe(0);
    expect(errors).toEqual([]);
  });
});
