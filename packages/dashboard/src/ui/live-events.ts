import type { MapProgress, RunView, StepView } from "./api-client.js";

type Listener = {
  run?: (run: RunView) => void;
  step?: (runId: string, step: Omit<StepView, "artifacts">) => void;
  /** A map step's item counts (or its status) changed. */
  map?: (runId: string, stepId: string, status: string, map: MapProgress) => void;
};

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
    this.source.addEventListener("map", (e) => {
      const { runId, stepId, status, map } = JSON.parse((e as MessageEvent).data) as { runId: string; stepId: string; status: string; map: MapProgress };
      for (const l of this.listeners) l.map?.(runId, stepId, status, map);
    });
  }
}

export const liveEvents = new LiveEvents();
