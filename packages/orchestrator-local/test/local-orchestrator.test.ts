import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { flavorProblems, LocalArtifactStore, MemoryRunStore, type Pipeline, pipeline, runSnapshotInProcess, step } from "@stackyard/core";
import { afterEach, describe, expect, it } from "vitest";
import { LocalOrchestrator } from "../src/implementation.js";
import { localOrchestratorFlavor } from "../src/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function orchestrator(config: Record<string, unknown> = {}): LocalOrchestrator {
  const parsed = localOrchestratorFlavor.configSchema.parse(config);
  return new LocalOrchestrator({ id: "o1", name: "local", flavor: "local", config: parsed, sourceRoot: process.cwd() });
}

async function runWith(p: Pipeline<any>, orch: LocalOrchestrator, compile: Parameters<Pipeline<any>["compile"]>[0] = {}) {
  const root = mkdtempSync(join(tmpdir(), "stackyard-local-orch-"));
  dirs.push(root);
  const artifactStore = new LocalArtifactStore({ id: "a1", name: "default", flavor: "local", config: { path: root }, sourceRoot: root });
  const store = new MemoryRunStore();
  const snapshot = p.compile({ source: "./p.ts#p", ...compile });
  const result = await runSnapshotInProcess({ pipeline: p, snapshot, store, artifactStore, orchestrator: orch });
  return { result, store };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let running = 0;
let peak = 0;
const nap = step({ name: "nap" }, async () => {
  peak = Math.max(peak, ++running);
  await sleep(200);
  running--;
  return 1;
});
const naps = pipeline({ name: "naps" }, () => {
  for (let i = 0; i < 16; i++) nap();
});

describe("local orchestrator flavor", () => {
  it("is a valid orchestrator flavor whose module does not load the implementation", async () => {
    expect(flavorProblems(localOrchestratorFlavor)).toEqual([]);
    expect(localOrchestratorFlavor).toMatchObject({ name: "local", type: "orchestrator", remote: false });
    expect(await localOrchestratorFlavor.implementation()).toBe(LocalOrchestrator);
    expect(localOrchestratorFlavor.configSchema.parse({})).toEqual({ fail_fast: true });
    expect(localOrchestratorFlavor.configSchema.safeParse({ concurency: 2 }).success).toBe(false);
    expect(localOrchestratorFlavor.configSchema.safeParse({ concurrency: 0 }).success).toBe(false);
    expect(localOrchestratorFlavor.settingsSchema!.safeParse({ concurrency: 2 }).success).toBe(true);
  });

  it("declares itself synchronous, parallel and local, not honouring resources", () => {
    expect(orchestrator().capabilities).toEqual({
      remote: false,
      synchronous: true,
      schedulable: false,
      honoursResources: false,
      parallel: true,
      mapSteps: true,
    });
  });
});

describe("LocalOrchestrator.submit", () => {
  it("runs 16 independent 200 ms steps in parallel, well under 16 times one", async () => {
    running = peak = 0;
    const started = performance.now();
    const { result } = await runWith(naps, orchestrator({ concurrency: 16 }));
    const elapsed = performance.now() - started;
    expect(result.status).toBe("completed");
    expect(result.steps).toHaveLength(16);
    expect(peak).toBe(16);
    expect(elapsed).toBeLessThan(800);
  });

  it("honours concurrency from the config, overridden by pipeline settings", async () => {
    running = peak = 0;
    await runWith(naps, orchestrator({ concurrency: 4 }));
    expect(peak).toBe(4);
    running = peak = 0;
    await runWith(naps, orchestrator({ concurrency: 4 }), { config: { settings: { "orchestrator.local": { concurrency: 8 } } } });
    expect(peak).toBe(8);
    expect(orchestrator().concurrencyFor(naps.compile({ source: "./p.ts#p" }))).toBe(availableParallelism());
  });

  it("fails fast by default and continues on failure with fail_fast false", async () => {
    const fail = step({ name: "fail" }, async () => {
      throw new Error("bad data");
    });
    const slow = step({ name: "slow" }, async () => {
      await sleep(50);
      return 1;
    });
    const later = step({ name: "later" }, async () => 2);
    const downstream = step({ name: "downstream" }, async ({ x }: { x: unknown }) => x);
    const p = pipeline({ name: "mixed" }, () => {
      const f = fail();
      slow();
      later({}, { after: ["slow"] });
      downstream({ x: f.output });
    });
    const fast = await runWith(p, orchestrator({ concurrency: 2 }));
    expect(fast.result.status).toBe("failed");
    expect(Object.fromEntries(fast.result.steps.map((s) => [s.stepId, s.status]))).toEqual({
      fail: "failed",
      slow: "completed",
      later: "skipped",
      downstream: "skipped",
    });
    expect((await fast.store.getStepRun(fast.result.runId, "later"))!.status).toBe("skipped");

    const patient = await runWith(p, orchestrator({ concurrency: 2, fail_fast: false }));
    expect(Object.fromEntries(patient.result.steps.map((s) => [s.stepId, s.status]))).toEqual({
      fail: "failed",
      slow: "completed",
      later: "completed",
      downstream: "skipped",
    });
    expect((await patient.store.getStepRun(patient.result.runId, "fail"))!.error).toBe("bad data");
  });
});
