import type { RunView, StepView } from "./api-client.js";

type Listener = { run?: (run: RunView) => void; step?: (runId: string, step: Omit<StepView, "artifacts">) => void };

/** One event stream per page load, shared by whatever page is shown. */
class LiveEvents {
  private source: EventSource | undefined;
  private readonly listeners = new Set<Listener>();

  /** Listens until the returned function is called (the page is left). */
  subscribe(listener: Listener): () => void {
    this.open();
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private open(): void {
    if (this.source) return;
    this.source = new EventSource("/api/events");
    this.source.addEventListener("run", (e) => {
      const { run } = JSON.parse((e as MessageEvent).data) as { run: RunView };
      for (const l of this.listeners) l.run?.(run);
    });
    this.source.addEventListener("step", (e) => {
      const { runId, step } = JSON.parse((e as MessageEvent).data) as { runId: string; step: StepView };
      for (const l of this.listeners) l.step?.(runId, step);
    });
  }
}

export const liveEvents = new LiveEvents();
