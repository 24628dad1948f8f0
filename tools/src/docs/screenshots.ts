/**
 * `npm run docs:screenshots`: the dashboard screenshots in docs/screenshots/,
 * shown by the READMEs. Copies the quickstart into a fresh folder under the
 * system's temp folder, runs it a few times there (so no path of this
 * checkout reaches a page), starts `stackyard up`, and photographs the runs
 * page, a run with a step panel open, the comparison of two runs, a
 * pipeline's chart, a version of `iris_model` with its lineage, the
 * confusion matrix an evaluation drew and the sweep's map step, in Debian's Chromium. Needs the packages built
 * (`npm run build`). Fails when a page shows the folder's path.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { chromiumArgs, ensureChromium } from "../engines/chromium.js";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const stackyard = join(repo, "packages/cli/dist/bin.js");
const out = join(repo, "docs", "screenshots");
const env = { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0" };

function cli(cwd: string, args: string[]): string {
  const result = spawnSync(process.execPath, [stackyard, ...args], { cwd, env, encoding: "utf8", timeout: 300_000 });
  if (result.status !== 0) throw new Error(`stackyard ${args.join(" ")} failed:\n${result.stderr}`);
  return result.stdout;
}

/** The quickstart in a neutral folder, its node_modules those of this workspace. */
function makeProject(dir: string): void {
  const example = join(repo, "examples", "quickstart");
  cpSync(example, dir, { recursive: true, filter: (src) => !/[/\\](\.stackyard|test|node_modules)([/\\]|$)/.test(src.slice(example.length)) });
  symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"), "dir");
  cli(dir, ["init"]);
  const train = (name: string, params: string[]) =>
    cli(dir, [
      "run",
      "./pipelines/training.ts#trainingPipeline",
      "-c",
      "configs/training_pipeline.yaml",
      "--run-name",
      name,
      ...params.flatMap((p) => ["-p", p]),
    ]);
  train("baseline", []);
  train("baseline-again", []);
  train("fewer-trees", ["n_estimators=20"]);
  train("bigger-test-split", ["test_size=0.4"]);
  train("more-trees", ["n_estimators=120"]);
}

function startUp(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [stackyard, "up", "--no-open"], { cwd: dir, env, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let stdout = "";
    child.once("exit", (code) => reject(new Error(`stackyard up exited with ${code}`)));
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("http://"));
      if (line) resolve({ child, url: line.trim() });
    });
  });
}

async function shoot(page: Page, name: string, dir: string): Promise<void> {
  const text = await page.content();
  for (const secret of [dir, repo.replace(/\/$/, ""), tmpdir()]) {
    if (text.includes(secret)) throw new Error(`The ${name} page shows a machine path (${secret})`);
  }
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
  process.stdout.write(`docs/screenshots/${name}.png\n`);
}

const executablePath = await ensureChromium();
const dir = mkdtempSync(join(tmpdir(), "stackyard-demo-"));
let up: { child: ChildProcess; url: string } | undefined;
const browser = await chromium.launch({ executablePath, args: [...chromiumArgs] });
try {
  makeProject(dir);
  up = await startUp(dir);
  mkdirSync(out, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const origin = new URL(up.url).origin;

  await page.goto(up.url);
  await page.waitForSelector("table.runs tbody tr");
  await shoot(page, "runs", dir);

  await page.goto(`${origin}/runs/fewer-trees?step=evaluate_model`);
  await page.waitForSelector(".output-preview[data-output='accuracy'] pre.preview[data-kind='json']");
  await page.waitForSelector(".step-panel pre.logs:text('test accuracy')");
  const matrixInPanel = await page.waitForSelector(".output-preview[data-output='confusion_matrix'] .visualization[data-type='svg'] img");
  await page.waitForFunction((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0, matrixInPanel);
  await shoot(page, "run", dir);

  await page.goto(`${origin}/compare?a=baseline&b=fewer-trees`);
  await page.waitForSelector("table.compare.outputs");
  await shoot(page, "compare", dir);

  await page.goto(`${origin}/pipelines/training_pipeline?metric=${encodeURIComponent("meta:accuracy")}`);
  await page.waitForSelector(".chart[data-metric='meta:accuracy'] .uplot canvas");
  await shoot(page, "pipeline", dir);

  // The newest iris_model: what made it, what read it, and what that made.
  await page.goto(`${origin}/artifacts/iris_model`);
  await page.click("table.versions tbody tr:first-child a.version-link");
  await page.waitForSelector("svg.lineage a.lineage-node.focus");
  await shoot(page, "artifact", dir);

  await page.click("svg.lineage a.lineage-node[data-label^='training_pipeline.evaluate_model.confusion_matrix']");
  const matrix = await page.waitForSelector(".visualization[data-type='svg'] img");
  await page.waitForFunction((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0, matrix);
  await page.mouse.move(0, 0);
  await shoot(page, "artifact-visualization", dir);

  // The sweep, run last so that the pages above stay as they were: its map step's node and panel.
  cli(dir, ["run", "./pipelines/sweep.ts#sweepPipeline", "--run-name", "sweep"]);
  await page.goto(`${origin}/runs/sweep?step=score_candidate`);
  await page.waitForSelector(".map-panel table.items tr.item-row");
  await page.mouse.move(0, 0);
  await shoot(page, "run-map", dir);
} finally {
  await browser.close();
  if (up) {
    const exited = new Promise((resolve) => up!.child.once("exit", resolve));
    up.child.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}
