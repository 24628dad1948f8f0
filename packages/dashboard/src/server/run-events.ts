import type { ServerResponse } from "node:http";
import type { RunRecord, StepRunRecord } from "@stackyard/core";
import type { DashboardSource } from "../source.js";

const ACTIVE = new Set(["initializing", "running", "retrying"]);
/** How many of the newest runs are watched for status changes. */
const WATCHED_RUNS = 100;

/** What the browser receives: a run or one of its steps changed status. */
export type RunEvent = { type: "run"; run: RunRecord } | { type: "step"; runId: string; step: StepRunRecord };

/**
 * Server-sent events for run and step status changes. While a page listens,
 * the store is read every `intervalMs` (newest runs, and the steps of runs
 * that are active or just changed) and compared with the statuses seen last
 * time: only statuses are remembered, never the records themselves.
 */
export class RunEvents {
  private readonly clients = new Set<ServerResponse>();
  private runStatus = new Map<string, string>();
  private stepStatus = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly source: DashboardSource,
    private readonly intervalMs = 250,
  ) {}

  /** Keeps `res` open as an event stream until the browser goes away. */
  async subscribe(res: ServerResponse): Promise<void> {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write("retry: 1000\n\n");
    if (this.clients.size === 0) await this.check(false);
    this.clients.add(res);
    res.on("close", () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    this.timer ??= setInterval(() => void this.check(true), this.intervalMs);
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    this.stop();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private send(event: RunEvent): void {
    const data = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of this.clients) res.write(data);
  }

  private async check(emit: boolean): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const runs = await this.source.listRuns({ limit: WATCHED_RUNS, offset: 0 });
      const runStatus = new Map(runs.map((r) => [r.id, r.status]));
      const stepStatus = new Map<string, string>();
      for (const run of runs) {
        const changed = this.runStatus.get(run.id) !== run.status;
        if (!ACTIVE.has(run.status) && !changed) {
          for (const [key, status] of this.stepStatus) if (key.startsWith(`${run.id}/`)) stepStatus.set(key, status);
          continue;
        }
        for (const step of await this.source.listSteps(run.id)) {
          const key = `${run.id}/${step.stepId}`;
          stepStatus.set(key, step.status);
          if (emit && this.stepStatus.get(key) !== step.status) this.send({ type: "step", runId: run.id, step });
        }
        if (emit && changed) this.send({ type: "run", run });
      }
      this.runStatus = runStatus;
      this.stepStatus = stepStatus;
    } catch {
      // The store may be busy for a moment (a writer holds it): the next tick reads again.
    } finally {
      this.checking = false;
    }
  }
}
