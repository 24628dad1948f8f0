/**
 * The dashboard's JSON API, served by the built `stackyard up` over a real
 * project that ran the CLI tests' fixture pipeline.
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject } from "../../cli/test/cli-harness.js";
import { type RunningDashboard, runInBackground, startUp } from "./dashboard-server.js";

const CONNECTOR_SECRET = "wJalrXUtnFEMI-sweep-connector-secret";
const COMPONENT_SECRET = "s3cr3t-sweep-component-token";

describe("stackyard up: the JSON API", () => {
  let dir: string;
  let server: RunningDashboard;
  /** Every body the tests received, swept for secrets at the end. */
  const seen: string[] = [];

  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${server.origin}${path}`, { ...init, headers: { authorization: `Bearer ${server.token}`, ...init.headers } });
    const text = await res.text();
    seen.push(text);
    return { status: res.status, text, json: () => JSON.parse(text), headers: res.headers };
  };

  beforeAll(async () => {
    dir = newProject("dashboard-api");
    const setup = [
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoOrchestratorFlavor"],
      ["orchestrator", "register", "demo_orch", "-f", "demo", "--concurrency=4", `--token=${COMPONENT_SECRET}`],
      [
        "service-connector",
        "register",
        "aws_keys",
        "-t",
        "aws",
        "--auth-method",
        "secret-key",
        "--region=eu-west-1",
        "--access_key_id=AKIAIOSFODNN7EXAMPLE",
        `--secret_access_key=${CONNECTOR_SECRET}`,
      ],
      ["stack", "register", "demo_stack", "-o", "demo_orch", "-a", "default"],
      ["run", "./pipelines/hello.ts#hello", "--run-name", "first", "-p", "count=4"],
      ["run", "./pipelines/hello.ts#hello", "--run-name", "second", "-p", "count=5"],
    ];
    for (const args of setup) {
      const out = cli(dir, args);
      if (out.code !== 0) throw new Error(`stackyard ${args.join(" ")}: ${out.stderr}`);
    }
    cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "broken", "-p", "fail=true", "--no-cache"]);
    server = await startUp(dir);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) removeProject(dir);
  });

  it("prints a loopback URL with a token, and keeps its pid and URL in .stackyard/", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48}$/);
    const state = JSON.parse(readFileSync(join(dir, ".stackyard", "dashboard.json"), "utf8"));
    expect(state).toMatchObject({ pid: server.child.pid, url: server.url });
  });

  it("answers 401 without the token, on every route and page", async () => {
    for (const path of ["/api/runs", "/api/stacks", "/api/events", "/runs", "/ui/app.js"]) {
      const res = await fetch(`${server.origin}${path}`);
      expect(res.status, path).toBe(401);
    }
    const wrong = await fetch(`${server.origin}/api/runs?token=${"0".repeat(48)}`);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: expect.stringContaining("access token") });
  });

  it("sets an HttpOnly cookie on the first visit, which then carries the token", async () => {
    const first = await fetch(server.url, { redirect: "manual" });
    expect(first.status).toBe(302);
    const cookie = first.headers.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const res = await fetch(`${server.origin}/api/runs`, { headers: { cookie: cookie.split(";")[0]! } });
    expect(res.status).toBe(200);
  });

  it("refuses a request naming another host (DNS rebinding)", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${server.origin}/api/runs`);
      request(
        { host: url.hostname, port: url.port, path: url.pathname, headers: { host: "attacker.example", authorization: `Bearer ${server.token}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      )
        .on("error", reject)
        .end();
    });
    expect(status).toBe(403);
  });

  it("lists runs newest first, pages them and filters by pipeline, status and stack", async () => {
    const all = (await get("/api/runs")).json();
    expect(all.runs.map((r: { name: string }) => r.name)).toEqual(["broken", "second", "first"]);
    expect(all.runs[0]).not.toHaveProperty("pid");
    const page = (await get("/api/runs?limit=2&offset=1")).json();
    expect(page).toMatchObject({ limit: 2, offset: 1, hasMore: false });
    expect(page.runs.map((r: { name: string }) => r.name)).toEqual(["second", "first"]);
    expect((await get("/api/runs?limit=1")).json().hasMore).toBe(true);
    expect((await get("/api/runs?status=failed")).json().runs.map((r: { name: string }) => r.name)).toEqual(["broken"]);
    expect((await get("/api/runs?pipeline=hello&stack=default")).json().runs).toHaveLength(3);
    expect((await get("/api/runs?pipeline=nope")).json().runs).toEqual([]);
    expect((await get("/api/runs?stack=demo_stack")).json().runs).toEqual([]);
  });

  it("offers the runs list's filter values: the store's pipelines and stacks, every status", async () => {
    const res = await get("/api/filters");
    expect(res.json()).toEqual({
      pipelines: ["hello"],
      statuses: ["initializing", "running", "completed", "cached", "failed", "skipped", "retrying", "stopped"],
      stacks: ["default", "demo_stack"],
      tags: [],
    });
    expect((await get("/api/filters?pipeline=x")).status).toBe(400);
  });

  it("lists pipelines and gives one pipeline's runs over time with durations and numeric values", async () => {
    const { pipelines } = (await get("/api/pipelines")).json();
    expect(pipelines).toEqual([{ name: "hello", runs: 3, more: false, latest: expect.objectContaining({ name: "broken", status: "failed" }) }]);
    const series = (await get("/api/pipelines/hello")).json();
    expect(series.pipeline).toBe("hello");
    expect(series.runs.map((r: { name: string }) => r.name)).toEqual(["first", "second", "broken"]);
    expect(series.metrics).toEqual(["output:sum_numbers.total", "param:count", "param:sleep_ms"]);
    const [first, second, broken] = series.runs;
    expect(first.values).toEqual({ "output:sum_numbers.total": 10, "param:count": 4, "param:sleep_ms": 0 });
    expect(second.values).toMatchObject({ "output:sum_numbers.total": 15, "param:count": 5 });
    expect(broken.values["output:sum_numbers.total"]).toBe(15);
    expect(first.durationMs).toBeGreaterThan(0);
    expect((await get("/api/pipelines/hello?limit=1")).json().runs.map((r: { name: string }) => r.name)).toEqual(["broken"]);
    expect((await get("/api/pipelines/nope")).json()).toEqual({ error: "No runs of pipeline 'nope'" });
    expect((await get("/api/pipelines/hello?limit=0")).status).toBe(400);
    expect((await get("/api/pipelines/hello?metric=x")).status).toBe(400);
    expect((await get("/api/pipelines?x=1")).status).toBe(400);
  });

  it("answers bad query parameters with 400 and one JSON error, never a stack", async () => {
    const bad = ["limit=0", "limit=abc", "limit=100000", "offset=-1", "status=bogus", "colour=red", "limit=1&limit=2", "offset=1e3"];
    for (const query of bad) {
      const res = await get(`/api/runs?${query}`);
      expect(res.status, query).toBe(400);
      const body = res.json();
      expect(Object.keys(body), query).toEqual(["error"]);
      expect(body.error).not.toMatch(/\n\s+at /);
    }
    expect((await get("/api/runs?status=bogus")).json().error).toBe(
      "Invalid status 'bogus': a run's status is one of initializing, running, completed, cached, failed, skipped, retrying, stopped",
    );
    expect((await get("/api/stacks?x=1")).status).toBe(400);
    expect((await get("/api/nope")).status).toBe(404);
    expect((await get("/api/runs/%E0%A4%A")).status).toBe(400);
    expect((await get("/api/runs/no-such-run")).json()).toEqual({ error: "No run 'no-such-run'" });
    expect((await get("/api/runs", { method: "PUT" })).status).toBe(405);
    expect((await get("/api/runs", { method: "POST", headers: { "x-stackyard-action": "1" } })).status).toBe(404);
  });

  it("describes a run: steps, artifacts per step, snapshot summary and error", async () => {
    const { run, steps, snapshot, error } = (await get("/api/runs/first")).json();
    expect(run).toMatchObject({ name: "first", pipeline: "hello", status: "completed", stack: "default" });
    expect(error).toBeNull();
    expect(steps.map((s: { stepId: string; status: string }) => [s.stepId, s.status]).sort()).toEqual([
      ["make_numbers", "completed"],
      ["maybe_fail", "completed"],
      ["sum_numbers", "completed"],
    ]);
    const sum = steps.find((s: { stepId: string }) => s.stepId === "sum_numbers");
    expect(sum.artifacts).toEqual([
      expect.objectContaining({ output: "total", materializer: "json", size: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }),
    ]);
    expect(snapshot.pipeline).toMatchObject({ name: "hello", parameters: { count: 4 } });
    expect(snapshot.steps.find((s: { id: string }) => s.id === "sum_numbers").upstream).toEqual(["make_numbers"]);
    expect(snapshot.stack.components.orchestrator).toEqual({ name: "default", flavor: "local" });
    const broken = (await get(`/api/runs/broken`)).json();
    expect(broken.run.status).toBe("failed");
    expect(broken.error).toContain("refusing total 15");
  });

  it("serves a step's logs, saying whether they were cut to their last 64 KiB", async () => {
    const res = (await get("/api/runs/first/steps/sum_numbers/logs")).json();
    expect(res).toMatchObject({ stepId: "sum_numbers", status: "completed", truncated: false, limit: 65536 });
    expect(res.logs).toContain("total is 10");
    expect(res.size).toBe(Buffer.byteLength(res.logs));
    expect((await get("/api/runs/first/steps/nope/logs")).status).toBe(404);
  });

  it("previews a step's output through the run's artifact store, and nothing else", async () => {
    const total = (await get("/api/runs/first/steps/sum_numbers/outputs/total")).json();
    expect(total).toMatchObject({
      stepId: "sum_numbers",
      output: "total",
      artifact: { materializer: "json", size: 2, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      preview: { file: "data.json", kind: "json", text: "10", truncated: false },
    });
    const numbers = (await get("/api/runs/second/steps/make_numbers/outputs/numbers")).json();
    expect(JSON.parse(numbers.preview.text)).toEqual([1, 2, 3, 4, 5]);
    expect(numbers.preview.kind).toBe("json");
    // Output names are looked up in the step's record, never used as paths.
    for (const path of [
      "/api/runs/first/steps/sum_numbers/outputs/nope",
      "/api/runs/first/steps/sum_numbers/outputs/..%2F..%2Fsnapshot.json",
      "/api/runs/first/steps/sum_numbers/outputs/%2Fetc%2Fpasswd",
      "/api/runs/first/steps/nope/outputs/total",
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(Object.keys(res.json())).toEqual(["error"]);
    }
    expect((await get("/api/runs/first/steps/sum_numbers/outputs/total?file=x")).status).toBe(400);
    expect(JSON.stringify(total)).not.toContain(dir);
  });

  it("compares two runs: parameters, config, step statuses and durations, outputs' sha256", async () => {
    const res = await get("/api/compare?a=first&b=broken");
    expect(res.status).toBe(200);
    const c = res.json();
    expect([c.a.name, c.b.name]).toEqual(["first", "broken"]);
    expect(c.a).not.toHaveProperty("pid");
    expect(c.parameters).toContainEqual({ key: "count", a: 4, b: 5, same: false });
    expect(c.parameters).toContainEqual({ key: "fail", a: false, b: true, same: false });
    expect(c.config).toContainEqual({ key: "stack", a: "default", b: "default", same: true });
    expect(c.config).toContainEqual({ key: "enable_cache", a: true, b: false, same: false });
    expect(c.config).toContainEqual({ key: "make_numbers.count", a: 4, b: 5, same: false });
    const step = (id: string) => c.steps.find((s: { stepId: string }) => s.stepId === id);
    expect(c.steps.map((s: { stepId: string }) => s.stepId)).toEqual(["make_numbers", "sum_numbers", "maybe_fail"]);
    expect(step("maybe_fail")).toMatchObject({ a: { status: "completed", attempt: 1 }, b: { status: "failed" } });
    expect(step("sum_numbers").a.durationMs).toBeGreaterThanOrEqual(0);
    const out = (key: string) => c.outputs.find((o: { stepId: string; output: string }) => `${o.stepId}.${o.output}` === key);
    expect(out("sum_numbers.total")).toMatchObject({ same: false, a: { size: 2 }, b: { size: 2 } });
    expect(out("sum_numbers.total").a.sha256).not.toBe(out("sum_numbers.total").b.sha256);
    expect(out("maybe_fail.ok")).toMatchObject({ b: null, same: false });
    // A run against itself: everything the same.
    const self = (await get("/api/compare?a=first&b=first")).json();
    expect(self.outputs.every((o: { same: boolean }) => o.same)).toBe(true);
    expect([...self.parameters, ...self.config].every((v: { same: boolean }) => v.same)).toBe(true);
    for (const [query, message] of [
      ["a=first", "Query parameter 'b' must name one run"],
      ["a=first&b=first&b=second", "Query parameter 'b' must name one run"],
      ["a=first&b=second&c=1", "Unknown query parameter 'c'"],
    ]) {
      const bad = await get(`/api/compare?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.json().error).toContain(message);
    }
    expect((await get("/api/compare?a=first&b=nope")).json()).toEqual({ error: "No run 'nope'" });
  });

  it("lists stacks and components with secrets masked as the CLI masks them", async () => {
    const { stacks } = (await get("/api/stacks")).json();
    expect(stacks).toContainEqual({
      name: "default",
      active: true,
      components: { orchestrator: { name: "default", flavor: "local" }, artifact_store: { name: "default", flavor: "local" } },
    });
    expect(stacks.find((s: { name: string }) => s.name === "demo_stack").components.orchestrator).toEqual({ name: "demo_orch", flavor: "demo" });
    const { components } = (await get("/api/components")).json();
    const demo = components.find((c: { name: string }) => c.name === "demo_orch");
    const described = JSON.parse(cli(dir, ["orchestrator", "describe", "demo_orch", "--json"]).stdout);
    expect(demo.config).toEqual(described.config);
    expect(demo.config.token).toBe("********");
    expect(demo.stacks).toEqual(["demo_stack"]);
    const connector = components.find((c: { name: string }) => c.name === "aws_keys");
    expect(connector.type).toBe("service_connector");
    expect(connector.config.secret_access_key).toBe("********");
  });

  it("lists the flavors the project can use, as `flavor list` does, each with its components", async () => {
    const { flavors } = (await get("/api/flavors")).json();
    const listed = JSON.parse(cli(dir, ["flavor", "list", "--json"]).stdout) as Array<{ type: string; name: string; origin: string; source: string }>;
    expect(flavors.map((f: { type: string; name: string }) => `${f.type}/${f.name}`)).toEqual(listed.map((f) => `${f.type}/${f.name}`));
    expect(flavors).toContainEqual(
      expect.objectContaining({
        type: "orchestrator",
        name: "demo",
        origin: "registered",
        source: "./flavors/demo-flavor.ts#DemoOrchestratorFlavor",
        components: ["demo_orch"],
      }),
    );
    expect(flavors).toContainEqual(
      expect.objectContaining({ type: "orchestrator", name: "local", origin: "built-in", remote: false, components: ["default"] }),
    );
  });

  it("streams run and step status changes as server-sent events", async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.origin}/api/events`, { headers: { authorization: `Bearer ${server.token}` }, signal: controller.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    let text = "";
    const until = async (pattern: RegExp) => {
      const deadline = Date.now() + 30_000;
      while (!pattern.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      return pattern.test(text);
    };
    await until(/retry: 1000/);
    const exited = runInBackground(dir, "live", ["sleep_ms=1500"]);
    expect(await until(/"stepId":"sleep","stepName":"sleep","status":"running"/)).toBe(true);
    expect(await until(/"stepId":"sleep","stepName":"sleep","status":"completed"/)).toBe(true);
    expect(await until(/event: run\ndata: \{"type":"run","run":\{[^\n]*"name":"live"[^\n]*"status":"completed"/)).toBe(true);
    await exited;
    controller.abort();
    seen.push(text);
  });

  it("stops a running run on a POST that carries the token in a header and the CSRF header, and only then", async () => {
    const exited = runInBackground(dir, "long", ["sleep_ms=60000"]);
    const status = async () => (await get("/api/runs/long")).json().run?.status as string | undefined;
    const waitFor = async (wanted: string) => {
      const deadline = Date.now() + 30_000;
      while ((await status()) !== wanted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      return status();
    };
    expect(await waitFor("running")).toBe("running");
    const stop = (headers: Record<string, string>, query = "") => fetch(`${server.origin}/api/runs/long/stop${query}`, { method: "POST", headers });
    expect((await stop({ authorization: `Bearer ${server.token}` })).status).toBe(403);
    expect((await stop({ "x-stackyard-action": "1" }, `?token=${server.token}`)).status).toBe(403);
    expect((await stop({ "x-stackyard-action": "1" })).status).toBe(401);
    expect(await status()).toBe("running");
    const ok = await stop({ authorization: `Bearer ${server.token}`, "x-stackyard-action": "1" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ stopping: true });
    expect(await waitFor("stopped")).toBe("stopped");
    await exited;
    const again = await stop({ authorization: `Bearer ${server.token}`, "x-stackyard-action": "1" });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: "Run 'long' is already stopped" });
  });

  it("never sends a secret value: not in the API, the pages, the UI bundle or the event stream", async () => {
    const run = (await get("/api/runs/first")).json();
    const extra = [
      "/api/runs?limit=500",
      "/api/compare?a=first&b=second",
      "/compare?a=first&b=second",
      "/api/stacks",
      "/api/components",
      "/api/filters",
      "/api/artifacts",
      "/api/artifacts/hello.sum_numbers.total",
      "/api/artifacts/hello.sum_numbers.total/1",
      "/runs",
      "/stacks",
      "/artifacts",
      "/artifacts/hello.sum_numbers.total/1",
      `/runs/${run.run.id}`,
      "/ui/app.js",
      "/ui/app.css",
    ];
    for (const step of run.steps) {
      extra.push(`/api/runs/${run.run.id}/steps/${step.stepId}/logs`);
      for (const output of Object.keys(step.outputs)) extra.push(`/api/runs/${run.run.id}/steps/${step.stepId}/outputs/${output}`);
    }
    for (const path of extra) expect((await get(path)).status, path).toBe(200);
    expect(seen.length).toBeGreaterThan(20);
    for (const body of seen) {
      expect(body).not.toContain(CONNECTOR_SECRET);
      expect(body).not.toContain(COMPONENT_SECRET);
    }
  });
});

describe("stackyard up: tags, metadata and artifacts in the API", () => {
  let dir: string;
  let server: RunningDashboard;
  const get = async (path: string) => {
    const res = await fetch(`${server.origin}${path}`, { headers: { authorization: `Bearer ${server.token}` } });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, text: body.toString("utf8"), json: () => JSON.parse(body.toString("utf8")) };
  };

  beforeAll(async () => {
    dir = newProject("dashboard-artifacts");
    copyFileSync(new URL("./fixtures/catalog.ts", import.meta.url), join(dir, "pipelines", "catalog.ts"));
    for (const args of [
      ["run", "./pipelines/hello.ts#hello", "--run-name", "plain"],
      ["run", "./pipelines/catalog.ts#catalog", "--run-name", "cat1", "-p", "n=2", "--tag", "nightly"],
      ["run", "./pipelines/catalog.ts#catalog", "--run-name", "cat2", "-p", "n=4", "--tag", "nightly", "--tag", "best"],
      ["artifact", "tag", "catalog_rows:2", "production"],
    ]) {
      const out = cli(dir, args);
      if (out.code !== 0) throw new Error(`stackyard ${args.join(" ")}: ${out.stderr}`);
    }
    server = await startUp(dir);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) removeProject(dir);
  });

  it("filters runs by tag and offers the store's run tags", async () => {
    const names = async (q: string) => (await get(`/api/runs?${q}`)).json().runs.map((r: { name: string }) => r.name);
    expect(await names("tag=nightly")).toEqual(["cat2", "cat1"]);
    expect(await names("tag=best")).toEqual(["cat2"]);
    expect(await names("tag=nope")).toEqual([]);
    expect((await get("/api/runs?tag=a&tag=b")).status).toBe(400);
    expect((await get("/api/filters")).json().tags).toEqual(["best", "nightly"]);
    const cat2 = (await get("/api/runs?tag=best")).json().runs[0];
    expect(cat2.tags).toEqual(["nightly", "best"]);
  });

  it("gives a run's tags and metadata, each step's metadata, its outputs' versions and the versions it read", async () => {
    const { run, steps } = (await get("/api/runs/cat2")).json();
    expect(run.metadata).toEqual({ accuracy: 0.54, dataset: { $type: "uri", value: "s3://bucket/rows.csv" } });
    const prepare = steps.find((s: { stepId: string }) => s.stepId === "prepare");
    expect(prepare.metadata).toEqual({ prep_time: { $type: "duration", seconds: 75 }, kind: { $type: "dtype", value: "int64" } });
    expect(prepare.artifacts).toEqual([expect.objectContaining({ output: "rows", name: "catalog_rows", version: 2, tags: ["production"] })]);
    const report = steps.find((s: { stepId: string }) => s.stepId === "report");
    expect(report.consumed).toEqual([{ input: "rows", id: prepare.artifacts[0].id, name: "catalog_rows", version: 2 }]);
    expect(report.artifacts.map((a: { name: string; version: number }) => `${a.name}:${a.version}`).sort()).toEqual([
      "catalog_chart:2",
      "catalog_notes:2",
      "catalog_page:2",
      "catalog_table:2",
    ]);
  });

  it("lists artifact names, filtered by name text and tag, and one name's versions newest first", async () => {
    const { artifacts } = (await get("/api/artifacts")).json();
    expect(artifacts.map((a: { name: string }) => a.name)).toContain("catalog_rows");
    expect(artifacts.find((a: { name: string }) => a.name === "catalog_rows")).toMatchObject({ versions: 2, latest: { version: 2, tags: ["production"] } });
    expect((await get("/api/artifacts?name=table")).json().artifacts.map((a: { name: string }) => a.name)).toEqual(["catalog_table"]);
    expect((await get("/api/artifacts?tag=production")).json().artifacts.map((a: { name: string }) => a.name)).toEqual(["catalog_rows"]);
    expect((await get("/api/artifacts?colour=red")).status).toBe(400);
    const { versions } = (await get("/api/artifacts/catalog_rows")).json();
    expect(versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions[0]).toMatchObject({
      run: { name: "cat2" },
      stepId: "prepare",
      metadata: { source: { $type: "uri", value: "https://example.com/rows.csv" } },
    });
    expect((await get("/api/artifacts/nope")).json()).toEqual({ error: "No artifact 'nope'" });
  });

  it("describes a version: producer, consumers and a lineage graph up and down", async () => {
    const v = (await get("/api/artifacts/catalog_rows/2")).json();
    expect(v.artifact).toMatchObject({ name: "catalog_rows", version: 2, size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(v.producer).toMatchObject({ run: { name: "cat2" }, stepId: "prepare", inputs: [] });
    expect(v.consumers).toEqual([expect.objectContaining({ run: expect.objectContaining({ name: "cat2" }), stepId: "report", status: "completed" })]);
    expect(v.consumers[0].outputs).toHaveLength(4);
    const labels = v.lineage.nodes.map((n: { label: string }) => n.label).sort();
    expect(labels).toEqual(["catalog_chart:2", "catalog_notes:2", "catalog_page:2", "catalog_rows:2", "catalog_table:2", "prepare", "report"]);
    expect(v.lineage.nodes.find((n: { focus?: boolean }) => n.focus).label).toBe("catalog_rows:2");
    expect(v.lineage.edges).toHaveLength(6);
    // Upstream of a visual output: its step and the version that step read.
    const chart = (await get("/api/artifacts/catalog_chart/1")).json();
    expect(chart.producer.inputs).toEqual([expect.objectContaining({ input: "rows", name: "catalog_rows", version: 1 })]);
    expect(chart.lineage.nodes.map((n: { label: string }) => n.label).sort()).toEqual(["catalog_chart:1", "catalog_rows:1", "prepare", "report"]);
    for (const [path, status] of [
      ["/api/artifacts/catalog_rows/9", 404],
      ["/api/artifacts/catalog_rows/x", 400],
      ["/api/artifacts/catalog_rows/0", 400],
      ["/api/artifacts/catalog_rows/2?x=1", 400],
    ] as const)
      expect((await get(path)).status, path).toBe(status);
  });

  it("serves a version's visualizations from its artifact store, sandboxed: images and HTML as files, the rest as JSON", async () => {
    const svg = await get("/api/artifacts/catalog_chart/2/visualizations/0/raw");
    expect(svg.status).toBe(200);
    expect(svg.headers.get("content-type")).toBe("image/svg+xml");
    expect(svg.headers.get("content-security-policy")).toMatch(/^sandbox;/);
    expect(svg.headers.get("x-content-type-options")).toBe("nosniff");
    expect(svg.text).toContain("<rect");
    const html = await get("/api/artifacts/catalog_page/2/visualizations/0/raw");
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html.headers.get("content-security-policy")).toMatch(/^sandbox;/);
    const table = (await get("/api/artifacts/catalog_table/2/visualizations/0")).json();
    expect(table).toMatchObject({ type: "csv", header: ["id", "label"], truncated: false });
    expect(table.rows).toEqual([
      ["1", "row 1, quoted"],
      ["2", "row 2, quoted"],
      ["3", "row 3, quoted"],
      ["4", "row 4, quoted"],
    ]);
    const notes = (await get("/api/artifacts/catalog_notes/2/visualizations/0")).json();
    expect(notes).toMatchObject({ type: "markdown", available: true });
    expect(notes.text).toContain("# Report");
    // The JSON rows' table view.
    const rows = (await get("/api/artifacts/catalog_rows/2/visualizations/0")).json();
    expect(rows.type).toBe("csv");
    expect(rows.rows).toHaveLength(4);
    // Only recorded visualizations, by index; markdown is not served as a file.
    for (const path of [
      "/api/artifacts/catalog_chart/2/visualizations/1/raw",
      "/api/artifacts/catalog_chart/2/visualizations/..%2F..%2Fstackyard.db/raw",
      "/api/artifacts/catalog_notes/2/visualizations/0/raw",
      "/api/artifacts/catalog_chart/2/visualizations/0/other",
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(Object.keys(res.json())).toEqual(["error"]);
    }
    expect(JSON.stringify(table)).not.toContain(dir);
  });

  it("charts a chosen run metadata key across a pipeline's runs", async () => {
    const series = (await get("/api/pipelines/catalog")).json();
    expect(series.metrics[0]).toBe("meta:accuracy");
    expect(series.runs.map((r: { values: Record<string, number> }) => r.values["meta:accuracy"])).toEqual([0.52, 0.54]);
  });
});

describe("stackyard up and down: usage", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("dashboard-usage");
  });
  afterAll(() => {
    cli(dir, ["down"]);
    removeProject(dir);
  });

  it("rejects a bad --port or --host with one message and exit code 2", () => {
    for (const [args, message] of [
      [["--port", "abc"], "Invalid --port 'abc': expected a whole number from 0 to 65535"],
      [["--port", "70000"], "Invalid --port '70000'"],
      [["--host", "a b"], "Invalid --host 'a b'"],
    ] as const) {
      const out = cli(dir, ["up", "--no-open", ...args]);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toContain(message);
      expect(out.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
      expect(out.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it("runs in the background with --detach, refuses a second one, and stops with down", async () => {
    const up = cli(dir, ["up", "--detach"]);
    expect(up.code, up.stderr).toBe(0);
    const url = up.stdout.trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const state = JSON.parse(readFileSync(join(dir, ".stackyard", "dashboard.json"), "utf8"));
    expect(state.url).toBe(url);
    expect((await fetch(url.replace("/?", "/api/runs?"))).status).toBe(200);
    const again = cli(dir, ["up", "--no-open"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("A dashboard is already running for this project");
    const down = cli(dir, ["down"]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain(`Stopped the dashboard`);
    expect(down.stderr).not.toContain("token");
    expect(existsSync(join(dir, ".stackyard", "dashboard.json"))).toBe(false);
    await expect(fetch(url)).rejects.toThrow();
    expect(cli(dir, ["down"]).stderr).toContain("No dashboard is running");
  });

  it("warns when bound to an address other machines can reach", async () => {
    const server = await startUp(dir, ["--host", "0.0.0.0"]);
    let exit: Awaited<ReturnType<RunningDashboard["stop"]>>;
    try {
      expect(server.stderr()).toContain("Warning: the dashboard listens on 0.0.0.0");
      expect(existsSync(join(dir, ".stackyard", "dashboard.json"))).toBe(true);
    } finally {
      // Sent the moment the URL is printed: up handles the signal from before it listens.
      exit = await server.stop();
    }
    // Stopped by a signal, it closes, exits 0 and forgets its URL and token.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dir, ".stackyard", "dashboard.json"))).toBe(false);
  });

  it("exits 0 on SIGTERM sent as soon as it prints its URL, and on a second SIGTERM during shutdown", async () => {
    for (let i = 0; i < 3; i++) {
      const server = await startUp(dir);
      server.child.kill("SIGTERM");
      server.child.kill("SIGTERM");
      expect(await server.stop()).toEqual({ code: 0, signal: null });
      expect(existsSync(join(dir, ".stackyard", "dashboard.json"))).toBe(false);
    }
  });
});
