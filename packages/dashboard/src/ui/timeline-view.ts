import type { ItemView, StepView } from "./api-client.js";
import { duration, h } from "./dom.js";

/** Items of an expanded map the timeline shows at most (the map's panel pages through all). */
export const TIMELINE_ITEMS = 100;

interface Span {
  stepId: string;
  status: string;
  started: string;
  ended?: string | undefined;
}

/**
 * Steps on a shared time axis (a Gantt chart): one row per started step, its
 * bar placed by start and length as a share of the run's span, coloured by
 * status. Unfinished steps run to now. A map step is one row spanning its
 * items; `expanded` holds the items of the maps opened below their row
 * (clicking the map's label calls `onToggle`).
 */
export function timelineView(
  steps: readonly StepView[],
  expanded: ReadonlyMap<string, readonly ItemView[] | null> = new Map(),
  onToggle: (stepId: string) => void = () => {},
): HTMLElement {
  const started = steps.filter((s) => s.started).sort((a, b) => Date.parse(a.started!) - Date.parse(b.started!));
  if (!started.length) return h("p", { class: "empty" }, "No step has started yet.");
  const items = [...expanded.values()].flatMap((list) => list ?? []).filter((i) => i.started);
  const end = (s: { ended?: string | null | undefined }) => (s.ended ? Date.parse(s.ended) : Date.now());
  const t0 = Math.min(...started.map((s) => Date.parse(s.started!)), ...items.map((i) => Date.parse(i.started!)));
  const span = Math.max(1, ...started.map((s) => end(s) - t0), ...items.map((i) => end(i) - t0));
  const bar = (s: Span, label: Node | string, attrs: Record<string, unknown>) => {
    const left = ((Date.parse(s.started) - t0) / span) * 100;
    const width = Math.max(0.5, ((end(s) - Date.parse(s.started)) / span) * 100);
    return h(
      "div",
      { ...attrs, "data-step": s.stepId },
      label,
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
  };
  return h(
    "div",
    { class: "timeline" },
    ...started.flatMap((s) => {
      if (!s.map) return [bar({ ...s, started: s.started! }, h("span", { class: "timeline-label" }, s.stepId), { class: "timeline-row" })];
      const open = expanded.has(s.stepId);
      const toggle = h(
        "button",
        { type: "button", class: "timeline-label timeline-toggle", "aria-expanded": String(open), title: open ? "Hide the items" : "Show the items" },
        `${open ? "▾" : "▸"} ${s.stepId} `,
        h("span", { class: "sub" }, `×${s.map.items}`),
      );
      toggle.addEventListener("click", () => onToggle(s.stepId));
      const rows = [bar({ ...s, started: s.started! }, toggle, { class: "timeline-row timeline-map" })];
      const list = expanded.get(s.stepId);
      if (open && list === null) rows.push(h("div", { class: "timeline-note" }, "loading items…"));
      for (const item of list ?? [])
        if (item.started)
          rows.push(
            bar({ ...item, started: item.started, ended: item.ended ?? undefined }, h("span", { class: "timeline-label" }, item.stepId), {
              class: "timeline-row timeline-item",
            }),
          );
      if (list && s.map.items > list.length)
        rows.push(h("div", { class: "timeline-note" }, `The first ${list.length} of ${s.map.items} items; the map's panel lists them all.`));
      return rows;
    }),
  );
}
