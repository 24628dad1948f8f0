/**
 * The run page's actions in a real browser (Debian's Chromium driven by
 * playwright-core): Retry on a failed run opens the new run, which goes on
 * live to completed and links back to the run it retries; Retry from a step;
 * a running step's log tails live. Screenshots go to
 * .test-tmp/dashboard-screenshots/.
 */
import { copyFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../cli/test/cli-harness.js";
import { dashboardInChromium, shots } from "./chromium.js";
import { runInBackground } from "./dashboard-server.js";

const node = (step: string) => `svg.dag g.node[data-step='${step}']`;

describe("retrying runs from the run page in Chromium", () => {
  const ui = dashboardInChromium("dashboard-actions-browser", (dir) => {
    copyFileSync(new URL("./fixtures/flaky.ts", import.meta.url), join(dir, "pipelines", "flaky.ts"));
    writeFileSync(join(dir, "fail-train"), "");
    const out = cli(dir, ["run", "./pipelines/flaky.ts#flaky", "--run-name", "nightly", "--no-cache"]);
    if (out.code === 0) throw new Error("the run 'nightly' should have failed");
  });

  it("retries a failed run: the page opens the new run, which completes live and links back", async () => {
    await ui.page.goto(`${ui.server.origin}/runs/nightly?step=train`);
    await ui.page.waitForSelector("h1 .status-failed");
    await ui.page.waitForSelector(".step-panel[data-step='train'] pre.logs:text('training on 3 rows')");
    expect(await ui.page.textContent("h1 .run-actions")).toBe("RetryRerun");
    expect(await ui.page.textContent(".step-panel[data-step='train'] button.retry-from")).toBe("Retry from train");
    await ui.page.screenshot({ path: join(shots, "run-actions.png"), fullPage: true });
    // What made it fail is gone: the retry runs train and report, and reuses prepare.
    rmSync(join(ui.dir, "fail-train"));
    await ui.page.click("h1 button.run-action.retry");
    await ui.page.waitForURL(/\/runs\/nightly-retry$/, { timeout: 30_000 });
    await ui.page.waitForSelector("h1 .status-completed", { timeout: 30_000 });
    expect(await ui.page.textContent("h1")).toContain("nightly-retry");
    expect(await ui.page.textContent("a.retry-of")).toBe("nightly");
    await ui.page.waitForSelector(`${node("report")}[data-status='completed']`);
    expect(await ui.page.getAttribute(node("prepare"), "data-status")).toBe("cached");
    expect(await ui.page.getAttribute(node("train"), "data-status")).toBe("completed");
    // A completed run offers Rerun, not Retry.
    expect(await ui.page.textContent("h1 .run-actions")).toBe("Rerun");
    await ui.page.screenshot({ path: join(shots, "run-retried.png"), fullPage: true });
    await ui.page.click("a.retry-of");
    await ui.page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    await ui.page.waitForSelector("h1 .status-failed");
    expect(await ui.page.textContent("h1")).toContain("nightly");
    expect(ui.errors).toEqual([]);
  });

  it("shows why a retry did not start, retries from a step's panel, and reruns", async () => {
    // The pipeline's source gone, `stackyard runs retry` refuses: the page says why and stays.
    const source = join(ui.dir, "pipelines", "flaky.ts");
    renameSync(source, `${source}.away`);
    await ui.page.goto(`${ui.server.origin}/runs/nightly`);
    await ui.page.click("h1 button.run-action.retry");
    await ui.page.waitForSelector(".action-error:text('before recording a run')", { timeout: 30_000 });
    expect(await ui.page.textContent(".action-error")).toContain("Cannot load './pipelines/flaky.ts'");
    expect(new URL(ui.page.url()).pathname).toBe("/runs/nightly");
    expect(await ui.page.isEnabled("h1 button.run-action.retry")).toBe(true);
    await ui.page.screenshot({ path: join(shots, "run-retry-refused.png"), fullPage: false });
    renameSync(`${source}.away`, source);

    await ui.page.goto(`${ui.server.origin}/runs/nightly-retry?step=report`);
    await ui.page.click(".step-panel[data-step='report'] button.retry-from");
    await ui.page.waitForURL(/\/runs\/nightly-retry-retry$/, { timeout: 30_000 });
    await ui.page.waitForSelector("h1 .status-completed", { timeout: 30_000 });
    await ui.page.waitForSelector(`${node("report")}[data-status='completed']`, { timeout: 30_000 });
    expect(await ui.page.getAttribute(node("train"), "data-status")).toBe("cached");
    expect(await ui.page.textContent("a.retry-of")).toBe("nightly-retry");
    // Rerun: every step runs again (the snapshot has caching off).
    await ui.page.click("h1 button.run-action.rerun");
    await ui.page.waitForURL(/\/runs\/nightly-retry-retry-rerun$/, { timeout: 30_000 });
    await ui.page.waitForSelector("h1 .status-completed", { timeout: 30_000 });
    // The nodes follow the run's events: each turns completed (the header may say so a moment before the last one does).
    for (const step of ["prepare", "train", "report"]) await ui.page.waitForSelector(`${node(step)}[data-status='completed']`, { timeout: 30_000 });
    expect(ui.errors).toEqual([]);
  });

  it("tails a running step's log live and stops when the step ends; no actions while the run goes on", async () => {
    const exited = runInBackground(ui.dir, "slow", ["sleep_ms=6000"], "./pipelines/flaky.ts#flaky");
    await ui.page.goto(`${ui.server.origin}/runs`);
    await ui.page.click("table.runs a:text('slow')", { timeout: 20_000 });
    await ui.page.waitForSelector(`${node("train")}[data-status='running']`, { timeout: 20_000 });
    await ui.page.click(node("train"));
    await ui.page.waitForSelector(".step-panel[data-step='train'] pre.logs[data-live='true']");
    expect(await ui.page.$("h1 .run-actions")).toBeNull();
    expect(await ui.page.$("button.retry-from")).toBeNull();
    // The running step writes its log out as it goes: its first line shows while it still runs.
    await ui.page.waitForSelector(".step-panel[data-step='train'] pre.logs[data-live='true']:text('training on 3 rows')", { timeout: 20_000 });
    expect(await ui.page.textContent(".step-panel .logs-note")).toMatch(/^Live/);
    expect(await ui.page.textContent(".step-panel[data-step='train'] pre.logs")).not.toContain("trained\n");
    await ui.page.screenshot({ path: join(shots, "run-live-log.png"), fullPage: true });
    await ui.page.waitForSelector(".step-panel[data-step='train'] pre.logs:text('trained')", { timeout: 20_000 });
    await ui.page.waitForSelector("h1 .status-completed", { timeout: 20_000 });
    expect(await ui.page.$("pre.logs[data-live='true']")).toBeNull();
    expect(await ui.page.textContent(".step-panel[data-step='train'] pre.logs")).toBe("training on 3 rows\ntrained\n");
    expect(await exited).toBe(0);
    expect(ui.errors).toEqual([]);
  });
});
