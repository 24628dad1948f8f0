import { Graph, layout } from "@dagrejs/dagre";
import type { SnapshotStepSummary } from "../source.js";
import type { MapProgress } from "./api-client.js";
import { svg } from "./dom.js";

const NODE_WIDTH = 180;
const NODE_HEIGHT = 48;
/** A map step's node: a third line for its item counts and a progress bar. */
const MAP_HEIGHT = 70;
/** How far each card behind a map's node sticks out. */
const STACK = 4;
/**
 * From this many steps on, dagre ranks nodes with its tight-tree ranker
 * instead of network simplex: network simplex gives slightly shorter edges
 * but grows much faster than the graph (18 s for 1,000 steps against 0.9 s).
 */
const LARGE_DAG = 150;

/** "37/100 done, 2 failed" (and what runs or was stopped); "no items yet" before the map's lists are read. */
export function progressText(map: MapProgress | undefined): string {
  if (!map || (map.items === 0 && map.done === 0)) return map?.items === 0 && map.pending === 0 ? "0 items" : "no items yet";
  const parts = [`${map.done}/${map.items} done`];
  if (map.running) parts.push(`${map.running} running`);
  if (map.failed) parts.push(`${map.failed} failed`);
  if (map.stopped) parts.push(`${map.stopped} stopped`);
  return parts.join(", ");
}

/**
 * The run's DAG as SVG, laid out by dagre (left to right). Each node carries
 * its step's status as a class, so a status change is one attribute update.
 * A map step is one node drawn as a stack of cards, with its items' counts
 * and a progress bar; its items never become nodes. Edges into a collector
 * are labelled "collect".
 */
export class DagView {
  readonly element: SVGElement;
  private readonly nodes = new Map<string, SVGElement>();

  constructor(
    steps: readonly SnapshotStepSummary[],
    statuses: ReadonlyMap<string, string>,
    onSelect: (stepId: string) => void,
    maps: ReadonlyMap<string, MapProgress | undefined> = new Map(),
  ) {
    const isMap = (step: SnapshotStepSummary) => step.map !== undefined || maps.has(step.id);
    const graph = new Graph();
    graph.setGraph({
      rankdir: "LR",
      nodesep: 24,
      ranksep: 56,
      marginx: 16,
      marginy: 16,
      ranker: steps.length >= LARGE_DAG ? "tight-tree" : "network-simplex",
    });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const step of steps)
      graph.setNode(step.id, { width: NODE_WIDTH + (isMap(step) ? 2 * STACK : 0), height: isMap(step) ? MAP_HEIGHT + 2 * STACK : NODE_HEIGHT });
    for (const step of steps) for (const up of step.upstream) if (graph.hasNode(up)) graph.setEdge(up, step.id);
    layout(graph);

    const { width = 0, height = 0 } = graph.graph();
    this.element = svg("svg", { class: "dag", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "pipeline DAG" });
    const defs = svg(
      "defs",
      {},
      svg(
        "marker",
        { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }),
      ),
    );
    this.element.append(defs);
    const collects = new Map(steps.map((s) => [s.id, new Set(s.collects ?? [])]));
    for (const edge of graph.edges()) {
      const points: Array<{ x: number; y: number }> = graph.edge(edge).points ?? [];
      const d = points.map((p, i) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" ");
      const collect = collects.get(edge.w)?.has(edge.v) ?? false;
      this.element.append(svg("path", { d, class: collect ? "edge collect" : "edge", "marker-end": "url(#arrow)", "data-edge": `${edge.v}->${edge.w}` }));
      const mid = points[Math.floor(points.length / 2)];
      if (collect && mid) this.element.append(svg("text", { x: mid.x, y: mid.y - 5, class: "edge-label", "text-anchor": "middle" }, "collect"));
    }
    for (const step of steps) {
      const { x, y } = graph.node(step.id);
      const status = statuses.get(step.id) ?? "pending";
      const map = isMap(step);
      const h = map ? MAP_HEIGHT : NODE_HEIGHT;
      const node = svg(
        "g",
        {
          class: `node status-${status}${map ? " map" : ""}`,
          "data-step": step.id,
          "data-status": status,
          transform: `translate(${x - NODE_WIDTH / 2 - (map ? STACK : 0)},${y - h / 2 - (map ? STACK : 0)})`,
          tabindex: 0,
          role: "button",
        },
        // The cards behind a map's node come first: SVG paints in order.
        ...(map
          ? [
              svg("rect", { x: 2 * STACK, y: 2 * STACK, width: NODE_WIDTH, height: h, rx: 8, class: "card-back" }),
              svg("rect", { x: STACK, y: STACK, width: NODE_WIDTH, height: h, rx: 8, class: "card-back" }),
            ]
          : []),
        svg("rect", { width: NODE_WIDTH, height: h, rx: 8, class: "card" }),
        svg("text", { x: 12, y: 20, class: "node-name" }, step.id),
        svg("text", { x: 12, y: 38, class: "node-status" }, status),
        ...(map
          ? [
              svg("text", { x: NODE_WIDTH - 10, y: 38, class: "node-kind", "text-anchor": "end" }, "map"),
              svg("text", { x: 12, y: 55, class: "node-progress" }, progressText(maps.get(step.id))),
              svg("rect", { x: 12, y: 61, width: NODE_WIDTH - 24, height: 4, rx: 2, class: "progress-track" }),
              svg("rect", { x: 12, y: 61, width: 0, height: 4, rx: 2, class: "progress-done" }),
              svg("rect", { x: 12, y: 61, width: 0, height: 4, rx: 2, class: "progress-failed" }),
            ]
          : []),
      );
      node.addEventListener("click", () => onSelect(step.id));
      node.addEventListener("keydown", (e) => {
        if ((e as KeyboardEvent).key === "Enter") onSelect(step.id);
      });
      this.nodes.set(step.id, node);
      this.element.append(node);
      if (map) this.setMap(step.id, status, maps.get(step.id));
    }
  }

  /** Recolours one node. */
  setStatus(stepId: string, status: string): void {
    const node = this.nodes.get(stepId);
    if (!node) return;
    node.setAttribute("class", `node status-${status}${node.classList.contains("map") ? " map" : ""}`);
    node.setAttribute("data-status", status);
    node.querySelector(".node-status")!.textContent = status;
  }

  /** Recolours a map's node and redraws its counts and progress bar. */
  setMap(stepId: string, status: string, map: MapProgress | undefined): void {
    const node = this.nodes.get(stepId);
    if (!node) return;
    this.setStatus(stepId, status);
    node.querySelector(".node-progress")!.textContent = progressText(map);
    const full = NODE_WIDTH - 24;
    const share = (n: number) => (map?.items ? (n / map.items) * full : 0);
    node.querySelector(".progress-done")!.setAttribute("width", share(map?.done ?? 0).toFixed(1));
    node.querySelector(".progress-failed")!.setAttribute("x", (12 + share(map?.done ?? 0)).toFixed(1));
    node.querySelector(".progress-failed")!.setAttribute("width", share(map?.failed ?? 0).toFixed(1));
    if (map) {
      node.setAttribute("data-done", String(map.done));
      node.setAttribute("data-items", String(map.items));
      node.setAttribute("data-failed", String(map.failed));
    }
  }

  select(stepId: string | undefined): void {
    for (const [id, node] of this.nodes) node.classList.toggle("selected", id === stepId);
  }
}
