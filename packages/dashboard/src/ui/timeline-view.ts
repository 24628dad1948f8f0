import type { StepView } from "./api-client.js";
import { duration, h } from "./dom.js";

/**
 * Steps on a shared time axis (a Gantt chart): one row per started step, its
 * bar placed by start and length as a share of the run's span, coloured by
 * status. Unfinished steps run to now.
 */
export function timelineView(steps: readonly StepView[]): HTMLElement {
  const started = steps.filter((s) => s.started).sort((a, b) => Date.parse(a.started!) - Date.parse(b.started!));
  if (!started.length) return h("p", { class: "empty" }, "No step has started yet.");
  const end = (s: StepView) => (s.ended ? Date.parse(s.ended) : Date.now());
  const t0 = Date.parse(started[0]!.started!);
  const span = Math.max(1, ...started.map((s) => end(s) - t0));
  return h(
    "div",
    { class: "timeline" },
    ...started.map((s) => {
      const left = ((Date.parse(s.started!) - t0) / span) * 100;
      const width = Math.max(0.5, ((end(s) - Date.parse(s.started!)) / span) * 100);
      return h(
        "div",
        { class: "timeline-row", "data-step": s.stepId },
        h("span", { class: "timeline-label" }, s.stepId),
        h(
          "span",
          { class: "timeline-track" },
          h("span", {
            class: `timeline-bar status-${s.status}`,
            style: `left:${left.toFixed(2)}%;width:${width.toFixed(2)}%`,
            title: `${s.stepId}: ${s.status}, ${duration(s.started, s.ended)}`,
          }),
        ),
        h("span", { class: "timeline-duration" }, duration(s.started, s.ended)),
      );
    }),
  );
}
