import type { RunRecord } from "@stackyard/core";
import { describe, expect, it } from "vitest";
import type { DashboardSource } from "../source.js";
import { ApiRoutes } from "./api-routes.js";
import type { HttpError } from "./http-error.js";

const run: RunRecord = {
  id: "r1",
  name: "first",
  pipeline: "hello",
  snapshotId: "s1",
  snapshotUri: "file:///s1",
  stack: "default",
  orchestrator: "default",
  status: "running",
  pid: 4242,
  host: "build-box",
  created: "2026-12-01T00:00:00.000Z",
};

function source(stopped: string[] = []): DashboardSource {
  return {
    listRuns: async (q) => [run].slice(q.offset, q.offset + q.limit),
    getRun: async (id) => (id === "r1" || id === "first" ? run : undefined),
    listSteps: async () => [],
    listArtifacts: async () => [],
    getSnapshot: async () => undefined,
    readStepLogs: async () => "",
    listStacks: async () => [],
    listComponents: async () => [],
    stopRun: async (r) => {
      stopped.push(r.id);
    },
  };
}

const status = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 200;
  } catch (error) {
    return (error as HttpError).status;
  }
};

describe("the API routes", () => {
  it("keep the driving process's pid and host out of every run", async () => {
    const routes = new ApiRoutes(source());
    const list = (await routes.handle("/api/runs", new URLSearchParams())) as Record<string, unknown>;
    expect(list).toMatchObject({ limit: 50, offset: 0, hasMore: false });
    expect((list.runs as object[])[0]).not.toHaveProperty("pid");
    expect((list.runs as object[])[0]).not.toHaveProperty("host");
    expect(JSON.stringify(await routes.handle("/api/runs/first", new URLSearchParams()))).not.toContain("build-box");
  });

  it("answer unknown routes with 404 and parameters on routes that take none with 400", async () => {
    const routes = new ApiRoutes(source());
    expect(await status(routes.handle("/api/nope", new URLSearchParams()))).toBe(404);
    expect(await status(routes.handle("/api/runs/zzz", new URLSearchParams()))).toBe(404);
    expect(await status(routes.handle("/api/components", new URLSearchParams("a=1")))).toBe(400);
    expect(await status(routes.handle("/api/runs/r1/steps/x/logs", new URLSearchParams()))).toBe(404);
  });

  it("offer filter values from the newest runs when the source has no faster way", async () => {
    expect(await new ApiRoutes(source()).handle("/api/filters", new URLSearchParams())).toMatchObject({ pipelines: ["hello"], stacks: ["default"] });
  });

  it("stop an active run through the source, and refuse when the source cannot stop runs", async () => {
    const stopped: string[] = [];
    expect(await new ApiRoutes(source(stopped)).handlePost("/api/runs/first/stop", new URLSearchParams())).toEqual({ runId: "r1", stopping: true });
    expect(stopped).toEqual(["r1"]);
    const { stopRun: _, ...readOnly } = source();
    expect(await status(new ApiRoutes(readOnly).handlePost("/api/runs/first/stop", new URLSearchParams()))).toBe(405);
    expect(await status(new ApiRoutes(source()).handlePost("/api/runs/first/rerun", new URLSearchParams()))).toBe(404);
  });
});
