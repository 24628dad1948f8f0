/**
 * The run page's actions in the JSON API: `POST /api/runs/<id>/retry` starts
 * `stackyard runs retry` in a process of its own and answers with the new run
 * (which records `retryOf`); bad input gets a 400 naming the problem; the
 * live log tail reads a step's log from a byte offset.
 */
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject } from "../../cli/test/cli-harness.js";
import { type RunningDashboard, runInBackground, startUp } from "./dashboard-server.js";

describe("stackyard up: retrying runs and tailing logs", () => {
  let dir: string;
  let server: RunningDashboard;
  let brokenId: string;

  const get = async (path: string) => {
    const res = await fetch(`${server.origin}${path}`, { headers: { authorization: `Bearer ${server.token}` } });
    return { status: res.status, json: await res.json() };
  };
  const retry = async (run: string, body: string | undefined, headers: Record<string, string> = {}, query = "") => {
    const res = await fetch(`${server.origin}/api/runs/${encodeURIComponent(run)}/retry${query}`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "x-stackyard-action": "1", "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, json: await res.json() };
  };
  const waitForRun = async (name: string, wanted: (status: string) => boolean, timeout = 30_000) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const res = await get(`/api/runs/${encodeURIComponent(name)}`);
      if (res.status === 200 && wanted(res.json.run.status)) return res.json;
      if (Date.now() > deadline) throw new Error(`run ${name}: ${JSON.stringify(res.json.run?.status ?? res.json)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const stepsOf = (detail: { steps: Array<{ stepId: string; status: string; cachedFrom?: { runId: string } }> }) =>
    Object.fromEntries(detail.steps.map((s) => [s.stepId, { status: s.status, cachedFrom: s.cachedFrom?.runId ?? null }]));

  beforeAll(async () => {
    dir = newProject("dashboard-actions");
    copyFileSync(new URL("./fixtures/flaky.ts", import.meta.url), join(dir, "pipelines", "flaky.ts"));
    writeFileSync(join(dir, "fail-train"), "");
    const broken = cli(dir, ["run", "./pipelines/flaky.ts#flaky", "--run-name", "broken", "--no-cache"]);
    if (broken.code === 0) throw new Error("the run 'broken' should have failed");
    rmSync(join(dir, "fail-train"));
    const good = cli(dir, ["run", "./pipelines/flaky.ts#flaky", "--run-name", "good", "--no-cache"]);
    if (good.code !== 0) throw new Error(good.stderr);
    server = await startUp(dir);
    brokenId = (await get("/api/runs/broken")).json.run.id;
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) removeProject(dir);
  });

  it("needs the token in a header or the cookie, and the action header", async () => {
    const anonymous = await fetch(`${server.origin}/api/runs/broken/retry`, { method: "POST", headers: { "x-stackyard-action": "1" }, body: "{}" });
    expect(anonymous.status).toBe(401);
    expect((await retry("broken", "{}", {}, `?token=${server.token}`)).status).toBe(403);
    const noHeader = await fetch(`${server.origin}/api/runs/broken/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}` },
      body: "{}",
    });
    expect(noHeader.status).toBe(403);
    expect(await noHeader.json()).toEqual({ error: "POST needs the header x-stackyard-action: 1" });
    // None of them started anything.
    expect((await get("/api/runs")).json.runs.map((r: { name: string }) => r.name)).toEqual(["good", "broken"]);
  });

  it("refuses bad input with a 400 naming the problem, and starts nothing", async () => {
    const steps = "(its steps: prepare, train, report)";
    expect(await retry("broken", "{from:")).toEqual({
      status: 400,
      json: { error: 'The request body is not JSON: send {}, {"from": "<step id>"} or {"all": true}' },
    });
    expect(await retry("broken", "[]")).toEqual({
      status: 400,
      json: { error: 'The request body must be a JSON object: {}, {"from": "<step id>"} or {"all": true}' },
    });
    expect(await retry("broken", '{"step":"train"}')).toEqual({
      status: 400,
      json: { error: "Unknown field 'step' in the request body: expected 'from' or 'all'" },
    });
    expect(await retry("broken", '{"from":3}')).toEqual({ status: 400, json: { error: "Field 'from' must be a step id (a non-empty string)" } });
    expect(await retry("broken", '{"all":"yes"}')).toEqual({ status: 400, json: { error: "Field 'all' must be true or false" } });
    expect(await retry("broken", '{"all":true,"from":"train"}')).toEqual({
      status: 400,
      json: { error: "Give 'from' (a step and what follows it) or 'all' (every step), not both" },
    });
    expect(await retry("broken", '{"from":"evaluate"}')).toEqual({
      status: 400,
      json: { error: `Run 'broken' has no step 'evaluate' to retry from ${steps}` },
    });
    expect(await retry("good", "{}")).toEqual({
      status: 400,
      json: {
        error: `Run 'good' completed: there is no failed step to retry; give 'from' to run a step and everything after it again ${steps}, or 'all' to run every step again`,
      },
    });
    expect(await retry("nope", "{}")).toEqual({ status: 404, json: { error: "No run 'nope'" } });
    expect((await retry("broken", "x".repeat(20_000))).status).toBe(413);
    expect((await get("/api/runs")).json.runs.map((r: { name: string }) => r.name)).toEqual(["good", "broken"]);
  });

  it("retries a failed run: answers with the new run, which reuses the finished steps and records what it retries", async () => {
    const started = Date.now();
    const res = await retry("broken", "{}");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ runId: brokenId, from: null, run: { name: "broken-retry", pipeline: "flaky", retryOf: brokenId } });
    expect(Date.now() - started).toBeLessThan(30_000);
    const detail = await waitForRun("broken-retry", (s) => s === "completed");
    expect(detail.retryOf).toEqual({ id: brokenId, name: "broken" });
    expect(detail.run.retryOf).toBe(brokenId);
    expect(stepsOf(detail)).toEqual({
      prepare: { status: "cached", cachedFrom: brokenId },
      train: { status: "completed", cachedFrom: null },
      report: { status: "completed", cachedFrom: null },
    });
    expect(detail.actions).toEqual({ stop: true, retry: true });
  });

  it("retries from a step: that step and the ones after it run again, the others are reused", async () => {
    const good = (await get("/api/runs/good")).json.run.id;
    const res = await retry("good", JSON.stringify({ from: "train" }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ runId: good, from: "train", run: { name: "good-retry", retryOf: good } });
    const detail = await waitForRun("good-retry", (s) => s === "completed");
    expect(stepsOf(detail)).toEqual({
      prepare: { status: "cached", cachedFrom: good },
      train: { status: "completed", cachedFrom: null },
      report: { status: "completed", cachedFrom: null },
    });
    // The page's Rerun: every step runs again, nothing reused.
    const rerun = await retry("good", JSON.stringify({ all: true }));
    expect(rerun.json).toMatchObject({ runId: good, from: null, all: true, run: { name: "good-rerun", retryOf: good } });
    const all = await waitForRun("good-rerun", (s) => s === "completed");
    expect(Object.values(stepsOf(all))).toEqual([0, 1, 2].map(() => ({ status: "completed", cachedFrom: null })));
  });

  it("refuses to retry a run still going; tails its step's log by byte offset until the step ends", async () => {
    const exited = runInBackground(dir, "slow", ["sleep_ms=3000"], "./pipelines/flaky.ts#flaky");
    const running = await waitForRun("slow", (s) => s === "running");
    expect(await retry("slow", "{}")).toEqual({ status: 400, json: { error: "Run 'slow' is still running: retry it once it has ended (or stop it first)" } });
    // Wait for train to be running: the local orchestrator writes its log when it ends, so the tail has nothing yet.
    const deadline = Date.now() + 20_000;
    let tail = (await get("/api/runs/slow/steps/train/logs?offset=0")).json;
    while (tail.status !== "running" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      tail = (await get("/api/runs/slow/steps/train/logs?offset=0")).json;
    }
    expect(tail).toMatchObject({ runId: running.run.id, stepId: "train", status: "running", offset: 0, next: 0, text: "", skipped: 0 });
    // Asked again from where it was, until the step has ended.
    let offset = 0;
    let text = "";
    while (["running", "initializing", "retrying"].includes(tail.status) && Date.now() < deadline + 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      tail = (await get(`/api/runs/slow/steps/train/logs?offset=${offset}`)).json;
      expect(tail.offset).toBe(offset);
      text += tail.text;
      offset = tail.next;
    }
    expect(tail.status).toBe("completed");
    expect(text).toBe("training on 3 rows\ntrained\n");
    expect(offset).toBe(Buffer.byteLength(text));
    // From the middle of the log, and past its end.
    expect((await get("/api/runs/slow/steps/train/logs?offset=9")).json).toMatchObject({ offset: 9, text: "on 3 rows\ntrained\n", size: offset });
    expect((await get(`/api/runs/slow/steps/train/logs?offset=${offset}`)).json).toMatchObject({ offset, next: offset, text: "" });
    expect((await get("/api/runs/slow/steps/train/logs?offset=9999")).json).toMatchObject({ reset: true, offset: 0, text });
    expect(await get("/api/runs/slow/steps/train/logs?offset=-1")).toEqual({
      status: 400,
      json: { error: "Invalid offset '-1': expected a byte offset, a whole number from 0" },
    });
    expect((await get("/api/runs/slow/steps/train/logs?offset=0&limit=3")).status).toBe(400);
    expect(await exited).toBe(0);
  });
});
