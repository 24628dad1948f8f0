/**
 * Map steps in the dashboard's JSON API: a run's view sends a map as one
 * record with its items' counts, its items page through their own route, an
 * item opens like any step, and the event stream sums items up per map.
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject } from "../../cli/test/cli-harness.js";
import { type RunningDashboard, runInBackground, startUp } from "./dashboard-server.js";

const ITEMS = 120;

describe("stackyard up: map steps in the JSON API", () => {
  let dir: string;
  let server: RunningDashboard;

  const get = async (path: string) => {
    const res = await fetch(`${server.origin}${path}`, { headers: { authorization: `Bearer ${server.token}` } });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };

  beforeAll(async () => {
    dir = newProject("dashboard-map-api");
    copyFileSync(new URL("./fixtures/fanout.ts", import.meta.url), join(dir, "pipelines", "fanout.ts"));
    const out = cli(dir, ["run", "./pipelines/fanout.ts#fanout", "--run-name", "wide", "-p", `n=${ITEMS}`, "-p", "failOn=[3,77]"]);
    if (out.code !== 0) throw new Error(out.stderr);
    server = await startUp(dir);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) removeProject(dir);
  });

  it("sends a map as one step with its items' counts, never the item records", async () => {
    const res = await get("/api/runs/wide");
    const body = res.json();
    expect(body.run.status).toBe("completed");
    expect(body.steps.map((s: { stepId: string }) => s.stepId).sort()).toEqual(["score", "shards", "total"]);
    const score = body.steps.find((s: { stepId: string }) => s.stepId === "score");
    expect(score).toMatchObject({ status: "completed", stepName: "score" });
    expect(score.map).toEqual({
      items: ITEMS,
      done: ITEMS - 2,
      completed: ITEMS - 2,
      cached: 0,
      running: 0,
      failed: 2,
      stopped: 0,
      pending: 0,
      tolerated: 2,
      failedIndices: [3, 77],
    });
    expect(res.text).not.toContain('"score[5]"');
    // The collector lists its first few collected inputs, and how many it collected.
    const total = body.steps.find((s: { stepId: string }) => s.stepId === "total");
    expect(total.collected).toEqual([{ input: "scores", items: ITEMS - 2 }]);
    expect(total.consumed).toHaveLength(10);
    expect(Object.keys(total.inputs)).toHaveLength(10);
    // What a map of 120 items costs the run's view: no more than a few steps' records.
    expect(res.text.length).toBeLessThan(30_000);
    // The snapshot says which step maps, how, and who collects it.
    const snap = Object.fromEntries(body.snapshot.steps.map((s: { id: string }) => [s.id, s]));
    expect(snap.score.map).toEqual({ inputs: ["shard"], mode: "zip", concurrency: 4, tolerate: { count: 2 } });
    expect(snap.total.collects).toEqual(["score"]);
    expect(snap.shards.map).toBeUndefined();
  });

  it("pages through a map's items in item order, filtered by status", async () => {
    const first = (await get("/api/runs/wide/maps/score/items")).json();
    expect(first).toMatchObject({ stepId: "score", status: "completed", total: ITEMS, limit: 50, offset: 0, hasMore: true });
    expect(first.items.map((i: { index: number }) => i.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(first.items[0]).toMatchObject({ index: 0, stepId: "score[0]", status: "completed", attempt: 1, cachedFrom: null, error: null });
    expect(first.items[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(first.map.failedIndices).toEqual([3, 77]);

    const last = (await get("/api/runs/wide/maps/score/items?limit=50&offset=100")).json();
    expect(last).toMatchObject({ total: ITEMS, offset: 100, hasMore: false });
    expect(last.items.map((i: { index: number }) => i.index)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));

    const failed = (await get("/api/runs/wide/maps/score/items?status=failed")).json();
    expect(failed).toMatchObject({ total: 2, hasMore: false });
    expect(failed.items.map((i: { index: number; error: string }) => [i.index, i.error])).toEqual([
      [3, expect.stringContaining("shard 3 is corrupt")],
      [77, expect.stringContaining("shard 77 is corrupt")],
    ]);
  });

  it("opens an item like any step: its record, its logs", async () => {
    const item = (await get(`/api/runs/wide/steps/${encodeURIComponent("score[3]")}`)).json();
    expect(item.step).toMatchObject({ stepId: "score[3]", stepName: "score", status: "failed" });
    expect(item.step.error).toContain("shard 3 is corrupt");
    const ok = (await get(`/api/runs/wide/steps/${encodeURIComponent("score[4]")}`)).json();
    expect(ok.step.artifacts.map((a: { output: string }) => a.output)).toEqual(["output"]);
    expect(ok.step.consumed.map((c: { input: string }) => c.input)).toEqual(["shard"]);
    const logs = (await get(`/api/runs/wide/steps/${encodeURIComponent("score[4]")}/logs`)).json();
    expect(logs.logs).toContain("scoring shard 4");
    const output = (await get(`/api/runs/wide/steps/${encodeURIComponent("score[4]")}/outputs/output`)).json();
    expect(output.preview.text).toBe("40");
  });

  it("compares two runs with a map step as one step each", async () => {
    cli(dir, ["run", "./pipelines/fanout.ts#fanout", "--run-name", "narrow", "-p", "n=3"]);
    const body = (await get("/api/compare?a=wide&b=narrow")).json();
    expect(body.steps.map((s: { stepId: string }) => s.stepId)).toEqual(["shards", "score", "total"]);
    expect(body.steps[1]).toMatchObject({ a: { status: "completed" }, b: { status: "completed" } });
  });

  it("charts a pipeline with a map by its steps' values, not one per item", async () => {
    const series = (await get("/api/pipelines/fanout")).json();
    expect(series.metrics).toContain("output:total.output");
    expect(series.metrics.filter((m: string) => m.includes("["))).toEqual([]);
  });

  it("shows a collector's version made from the first few items' versions, and how many", async () => {
    const body = (await get("/api/artifacts/fanout.total.output/1")).json();
    expect(body.producer.stepId).toBe("total");
    expect(body.producer.inputs.map((i: { input: string }) => i.input)).toEqual(Array.from({ length: 10 }, (_, i) => `scores[${i}]`));
    expect(body.producer.collected).toEqual([{ input: "scores", items: ITEMS - 2 }]);
    expect(body.lineage.nodes.length).toBeLessThanOrEqual(80);
  });

  it("refuses a bad items query with one message naming it", async () => {
    for (const [path, status, message] of [
      ["/api/runs/wide/maps/score/items?status=nope", 400, "Invalid status 'nope'"],
      ["/api/runs/wide/maps/score/items?limit=0", 400, "Invalid limit '0'"],
      ["/api/runs/wide/maps/score/items?limit=501", 400, "Invalid limit '501'"],
      ["/api/runs/wide/maps/score/items?page=2", 400, "Unknown query parameter 'page'"],
      ["/api/runs/wide/maps/shards/items", 404, "Step 'shards' of run 'wide' is not a map step"],
      ["/api/runs/nope/maps/score/items", 404, "No run 'nope'"],
      [`/api/runs/wide/steps/${encodeURIComponent("score[999]")}`, 404, "has no step 'score[999]'"],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(status);
      expect(res.json().error, path).toContain(message);
    }
  });

  it("streams a live map's progress as map events, not one event per item", async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.origin}/api/events`, { headers: { authorization: `Bearer ${server.token}` }, signal: controller.signal });
    const events: Array<{ type: string; stepId?: string; step?: { stepId: string }; status?: string; map?: { done: number; items: number } }> = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut = buffer.indexOf("\n\n");
          while (cut >= 0) {
            const data = buffer
              .slice(0, cut)
              .split("\n")
              .find((l) => l.startsWith("data: "));
            if (data) events.push(JSON.parse(data.slice(6)));
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf("\n\n");
          }
        }
      } catch {
        // aborted
      }
    })();
    expect(await runInBackground(dir, "live", ["n=12", "sleep_ms=150"], "./pipelines/fanout.ts#fanout")).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 800));
    controller.abort();
    await reading;
    const maps = events.filter((e) => e.type === "map" && e.stepId === "score");
    expect(events.filter((e) => e.type === "step").map((e) => e.step!.stepId)).not.toContain("score[0]");
    expect(maps.length).toBeGreaterThanOrEqual(2);
    expect(maps.length).toBeLessThan(40);
    expect(maps.some((e) => e.status === "running" && e.map!.done < 12)).toBe(true);
    expect(maps.at(-1)).toMatchObject({ status: "completed", map: { items: 12, done: 12 } });
  });
});
