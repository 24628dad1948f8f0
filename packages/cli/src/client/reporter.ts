import { parseStepStatusLine, type RunEvents, type RunStatus } from "@stackyard/core";

const SYMBOLS: Record<RunStatus, string> = {
  initializing: "·",
  running: "▶",
  retrying: "↻",
  completed: "✔",
  cached: "◆",
  failed: "✖",
  skipped: "○",
  stopped: "■",
};

/** `score[3]`: an item of a map step. */
const ITEM_ID = /^(.+)\[(\d+)\]$/;
/** Maps with more items than this are reported as one progress line, not a line per item. */
const ITEM_LINES_UP_TO = 20;

/** The items of one map step, counted as they finish. */
interface MapProgress {
  items: number | undefined;
  done: number;
  failed: number;
  running: Set<string>;
  /** Tenths of the items done when a progress line was last written (plain output). */
  reported: number;
}

/**
 * Shows a run's progress. On a terminal, a live block with one line per step
 * redrawn in place; otherwise (CI, pipes, files) plain lines, one per change.
 * Step output goes to stderr prefixed with the step's id either way.
 */
export class RunReporter implements RunEvents {
  private readonly statuses = new Map<string, { status: RunStatus; detail?: string | undefined; since: number }>();
  private readonly maps = new Map<string, MapProgress>();
  private readonly live: boolean;
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runName: string,
    stepIds: readonly string[],
    private readonly options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {},
  ) {
    const stream = options.stream ?? process.stderr;
    this.live = Boolean(stream.isTTY) && !process.env.CI && !options.quiet;
    for (const id of stepIds) this.statuses.set(id, { status: "initializing", since: Date.now() });
    if (this.live) this.timer = setInterval(() => this.redraw(), 250).unref();
  }

  private get stream(): NodeJS.WriteStream {
    return this.options.stream ?? process.stderr;
  }

  stepStatus(stepId: string, status: RunStatus, detail?: string): void {
    const item = ITEM_ID.exec(stepId);
    if (item && this.itemStatus(item[1]!, stepId, status, detail)) return;
    const count = status === "running" ? /^(\d+) items?$/.exec(detail ?? "") : null;
    if (count) this.maps.set(stepId, { items: Number(count[1]), done: 0, failed: 0, running: new Set(), reported: 0 });
    const previous = this.statuses.get(stepId);
    if (previous?.status === status && previous.detail === detail) return;
    this.statuses.set(stepId, { status, detail, since: previous?.status === status ? previous.since : Date.now() });
    if (this.options.quiet) return;
    if (this.live) this.redraw();
    else this.stream.write(`[${this.runName}] ${stepId}: ${status}${detail ? ` (${detail})` : ""}\n`);
  }

  /**
   * An item of a big map is counted into its map's line rather than shown on
   * its own; only its failures get a line. True when it was handled so.
   */
  private itemStatus(mapId: string, itemId: string, status: RunStatus, detail: string | undefined): boolean {
    const map = this.maps.get(mapId);
    if (!map || map.items === undefined || map.items <= ITEM_LINES_UP_TO) return false;
    if (status === "running") map.running.add(itemId);
    else if (status === "completed" || status === "cached" || status === "failed" || status === "stopped" || status === "skipped") {
      map.running.delete(itemId);
      map.done++;
      if (status === "failed") map.failed++;
    }
    const progress = `${map.done}/${map.items} items done${map.failed ? `, ${map.failed} failed` : ""}${map.running.size ? `, ${map.running.size} running` : ""}`;
    if (this.options.quiet) return true;
    if (status === "failed" || status === "retrying") {
      if (this.live) this.above(`${itemId}: ${status}${detail ? ` (${detail})` : ""}`);
      else this.stream.write(`[${this.runName}] ${itemId}: ${status}${detail ? ` (${detail})` : ""}\n`);
    }
    const entry = this.statuses.get(mapId);
    if (this.live) {
      if (entry && entry.status === "running") entry.detail = progress;
    } else {
      const tenths = Math.floor((map.done * 10) / map.items);
      if (tenths > map.reported) {
        map.reported = tenths;
        this.stream.write(`[${this.runName}] ${mapId}: ${progress}\n`);
      }
    }
    return true;
  }

  stepLog(stepId: string, text: string, _stream?: "stdout" | "stderr"): void {
    for (const line of text.split("\n")) {
      // A step process's own status line (forwarded as output by an orchestrator that does not read it) is a status, shown once.
      const status = parseStepStatusLine(line);
      if (status?.stepId === stepId) this.stepStatus(stepId, status.status, status.detail);
      else if (!this.options.quiet) this.above(`${stepId} | ${line}`);
    }
  }

  info(message: string): void {
    if (!this.options.quiet) this.above(message);
  }

  warn(message: string): void {
    this.above(`Warning: ${message}`);
  }

  /** Stops redrawing and leaves the final state on screen. */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.live) this.redraw();
  }

  private above(text: string): void {
    if (this.live) this.clear();
    this.stream.write(text + "\n");
    if (this.live) this.draw();
  }

  private clear(): void {
    if (this.drawn) this.stream.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private redraw(): void {
    this.clear();
    this.draw();
  }

  private draw(): void {
    const lines = [...this.statuses].map(([id, s]) => {
      const seconds = ((Date.now() - s.since) / 1000).toFixed(1);
      const timing = s.status === "running" || s.status === "retrying" ? ` ${seconds}s` : "";
      return `  ${SYMBOLS[s.status]} ${id.padEnd(24)} ${s.status}${timing}${s.detail ? `  ${s.detail}` : ""}`;
    });
    this.stream.write(lines.join("\n") + "\n");
    this.drawn = lines.length;
  }
}
