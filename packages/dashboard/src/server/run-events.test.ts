import type { ServerResponse } from "node:http";
import type { RunRecord, StepRunRecord } from "@stackyard/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DashboardSource } from "../source.js";
import { RunEvents } from "./run-events.js";

const run: RunRecord = {
  id: "r1",
  name: "first",
  pipeline: "hello",
  snapshotId: "s1",
  snapshotUri: "file:///s1",
  stack: "default",
  orchestrator: "local",
  status: "running",
  created: "2026-12-01T00:00:00.000Z",
};

/** A store of one running run with one step, and the watch callbacks the event stream registered. */
function fakeStore(watching: boolean) {
  const step: StepRunRecord = { runId: "r1", stepId: "train", stepName: "train", status: "running", attempt: 1, outputs: {} };
  const watchers = new Set<() => void>();
  const source: DashboardSource = {
    listRuns: async () => [run],
    getRun: async () => run,
    listSteps: async () => [{ ...step }],
    listArtifacts: async () => [],
    getSnapshot: async () => undefined,
    readStepLogs: async () => "",
    listStacks: async () => [],
    listComponents: async () => [],
    ...(watching
      ? {
          watchStore: (onChange: () => void) => {
            watchers.add(onChange);
            return () => watchers.delete(onChange);
          },
        }
      : {}),
  };
  return { source, step, watchers };
}

/** A response that keeps what was written and can be closed like a browser leaving. */
function fakeResponse() {
  const written: string[] = [];
  const listeners: Array<() => void> = [];
  const res = {
    writeHead: () => res,
    write: (chunk: string) => written.push(chunk),
    end: () => {},
    on: (event: string, listener: () => void) => {
      if (event === "close") listeners.push(listener);
      return res;
    },
  };
  return {
    res: res as unknown as ServerResponse,
    events: () => written.filter((w) => w.startsWith("event:")),
    close: () => {
      for (const l of listeners) l();
    },
  };
}

describe("the event stream", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reads the store as soon as the source reports a write, without waiting for the periodic read", async () => {
    const { source, step, watchers } = fakeStore(true);
    const events = new RunEvents(source, 250);
    const page = fakeResponse();
    await events.subscribe(page.res);
    expect(watchers.size).toBe(1);

    step.status = "completed";
    for (const notify of watchers) notify();
    await vi.advanceTimersByTimeAsync(20);
    expect(page.events()).toEqual([expect.stringContaining('"status":"completed"')]);
    expect(page.events()[0]).toMatch(/^event: step\n/);

    page.close();
    expect(watchers.size).toBe(0);
    events.close();
  });

  it("still reads the store periodically when the source reports writes, and polls a source that cannot", async () => {
    for (const watching of [true, false]) {
      const { source, step } = fakeStore(watching);
      const events = new RunEvents(source, 250);
      const page = fakeResponse();
      await events.subscribe(page.res);
      step.status = "completed";
      await vi.advanceTimersByTimeAsync(300);
      // Polled every 250 ms without a watch; with one, the periodic read is once a second.
      expect(page.events()).toHaveLength(watching ? 0 : 1);
      await vi.advanceTimersByTimeAsync(1000);
      expect(page.events()).toHaveLength(1);
      events.close();
    }
  });
});
