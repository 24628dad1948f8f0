import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromiumArgs, ensureChromium } from "@stackyard/tools/engines";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { newProject, removeProject, repoRoot } from "../../cli/test/cli-harness.js";
import { type RunningDashboard, startUp } from "./dashboard-server.js";

/** Where the browser tests' screenshots go. */
export const shots = join(repoRoot, ".test-tmp", "dashboard-screenshots");

/** A project, `stackyard up` over it and a Chromium page; set once the suite's `beforeAll` has run. */
export interface DashboardInChromium {
  dir: string;
  server: RunningDashboard;
  browser: Browser;
  page: Page;
  /** The messages of the page's uncaught errors. */
  errors: string[];
}

/**
 * Registers the suite's `beforeAll` and `afterAll`: a new project `name`,
 * `prepare(dir)` (the runs the suite looks at), `stackyard up` over it, and
 * Debian's Chromium (playwright-core) on a page of the dashboard, at its
 * printed URL unless `open` is false. `afterAll` closes them and removes the
 * project.
 */
export function dashboardInChromium(
  name: string,
  prepare: (dir: string) => void,
  { height = 900, open = true }: { height?: number; open?: boolean } = {},
): DashboardInChromium {
  const ui = { errors: [] as string[] } as DashboardInChromium;
  beforeAll(async () => {
    const executablePath = await ensureChromium();
    ui.dir = newProject(name);
    prepare(ui.dir);
    ui.server = await startUp(ui.dir);
    ui.browser = await chromium.launch({ executablePath, args: [...chromiumArgs] });
    ui.page = await ui.browser.newPage({ viewport: { width: 1280, height } });
    ui.page.on("pageerror", (e) => ui.errors.push(e.message));
    if (open) await ui.page.goto(ui.server.url);
    mkdirSync(shots, { recursive: true });
  });
  afterAll(async () => {
    await ui.browser?.close();
    await ui.server?.stop();
    if (ui.dir) removeProject(ui.dir);
  });
  return ui;
}
