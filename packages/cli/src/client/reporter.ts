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

/**
 * Shows a run's progress. On a terminal, a live block with one line per step
 * redrawn in place; otherwise (CI, pipes, files) plain lines, one per change.
 * Step output goes to stderr prefixed with the step's id either way.
 */
export class RunReporter implements RunEvents {
  private readonly statuses = new Map<string, { status: RunStatus; detail?: string | undefined; since: number }>();
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
    const previous = this.statuses.get(stepId);
    if (previous?.status === status && previous.detail === detail) return;
    this.statuses.set(stepId, { status, detail, since: previous?.status === status ? previous.since : Date.now() });
    if (this.options.quiet) return;
    if (this.live) this.redraw();
    else this.stream.write(`[${this.runName}] ${stepId}: ${status}${detail ? ` (${detail})` : ""}\n`);
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
