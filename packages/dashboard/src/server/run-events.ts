import type { ServerResponse } from "node:http";
import type { RunRecord, StepRunRecord } from "@stackyard/core";
import type { DashboardSource } from "../source.js";
import { type MapProgress, mapIdsOf, mapProgress, readRunSteps } from "./map-steps.js";

const ACTIVE = new Set(["initializing", "running", "retrying"]);
/** How many of the newest runs are watched for status changes. */
const WATCHED_RUNS = 100;

/**
 * What the browser receives: a run or one of its steps changed status, or a
 * map step's item counts changed (its items send no events of their own).
 */
export type RunEvent =
  | { type: "run"; run: RunRecord }
  | { type: "step"; runId: string; step: StepRunRecord }
  | { type: "map"; runId: string; stepId: string; status: string; map: MapProgress };

/** With a source that reports store writes, how often the store is read anyway (a write the watch missed still shows within this). */
const WATCHED_INTERVAL_MS = 1000;
/** How long after a reported write the store is read: the records a step writes together come in one read. */
const SETTLE_MS = 10;

/**
 * Server-sent events for run and step status changes. While a page listens,
 * the store is read (newest runs, and the steps of runs that are active or
 * just changed) and compared with the statuses seen last time: only statuses
 * are remembered, never the records themselves. A map step's items are
 * summed up: one `map` event when its counts change, so a map of 10,000
 * items sends a few events per read, not 10,000.
 *
 * The store is read when the source reports a write
 * ({@link DashboardSource.watchStore}), so a change reaches the page within
 * milliseconds, and once a second besides; a source that cannot report
 * writes is read every `intervalMs`.
 */
export class RunEvents {
  private readonly clients = new Set<ServerResponse>();
  private runStatus = new Map<string, string>();
  private stepStatus = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private soon: NodeJS.Timeout | undefined;
  private checking = false;
  /** A write was reported while the store was being read: read again when done. */
  private again = false;
  /** Map step ids by run id (a snapshot never changes). */
  private readonly mapIds = new Map<string, ReadonlySet<string> | undefined>();

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
    if (!this.timer) {
      this.unwatch = this.source.watchStore?.(() => this.changed());
      this.timer = setInterval(() => void this.check(true), this.unwatch ? WATCHED_INTERVAL_MS : this.intervalMs);
    }
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    this.stop();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.unwatch?.();
    this.timer = this.soon = this.unwatch = undefined;
  }

  /** The store was written: read it shortly (once for a burst of writes). */
  private changed(): void {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      void this.check(true);
    }, SETTLE_MS);
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
        if (!this.mapIds.has(run.id)) this.mapIds.set(run.id, mapIdsOf(await this.source.getSnapshot(run)));
        const { steps, tallies } = await readRunSteps(this.source, run.id, this.mapIds.get(run.id));
        for (const step of steps) {
          const key = `${run.id}/${step.stepId}`;
          stepStatus.set(key, step.status);
          if (emit && this.stepStatus.get(key) !== step.status) this.send({ type: "step", runId: run.id, step });
        }
        for (const [stepId, tally] of tallies) {
          const record = steps.find((s) => s.stepId === stepId);
          const map = mapProgress(record, tally);
          const key = `${run.id}/${stepId}#map`;
          const counts = `${record?.status}:${map.items}:${map.done}:${map.running}:${map.failed}:${map.stopped}`;
          stepStatus.set(key, counts);
          if (emit && this.stepStatus.get(key) !== counts) this.send({ type: "map", runId: run.id, stepId, status: record?.status ?? "pending", map });
        }
        if (emit && changed) this.send({ type: "run", run });
      }
      for (const id of this.mapIds.keys()) if (!runStatus.has(id)) this.mapIds.delete(id);
      this.runStatus = runStatus;
      this.stepStatus = stepStatus;
    } catch {
      // The store may be busy for a moment (a writer holds it): the next tick reads again.
    } finally {
      this.checking = false;
      if (this.again) {
        this.again = false;
        this.changed();
      }
    }
  }
}
