import { Graph, layout } from "@dagrejs/dagre";
import type { SnapshotStepSummary } from "../source.js";
import { svg } from "./dom.js";

const NODE_WIDTH = 180;
const NODE_HEIGHT = 48;

/**
 * The run's DAG as SVG, laid out by dagre (left to right). Each node carries
 * its step's status as a class, so a status change is one attribute update.
 */
export class DagView {
  readonly element: SVGElement;
  private readonly nodes = new Map<string, SVGElement>();

  constructor(steps: readonly SnapshotStepSummary[], statuses: ReadonlyMap<string, string>, onSelect: (stepId: string) => void) {
    const graph = new Graph();
    graph.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 56, marginx: 16, marginy: 16 });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const step of steps) graph.setNode(step.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
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
    for (const edge of graph.edges()) {
      const points = graph.edge(edge).points ?? [];
      const d = points.map((p: { x: number; y: number }, i: number) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" ");
      this.element.append(svg("path", { d, class: "edge", "marker-end": "url(#arrow)", "data-edge": `${edge.v}->${edge.w}` }));
    }
    for (const step of steps) {
      const { x, y } = graph.node(step.id);
      const status = statuses.get(step.id) ?? "pending";
      const node = svg(
        "g",
        {
          class: `node status-${status}`,
          "data-step": step.id,
          "data-status": status,
          transform: `translate(${x - NODE_WIDTH / 2},${y - NODE_HEIGHT / 2})`,
          tabindex: 0,
          role: "button",
        },
        svg("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 8 }),
        svg("text", { x: 12, y: 20, class: "node-name" }, step.id),
        svg("text", { x: 12, y: 38, class: "node-status" }, status),
      );
      node.addEventListener("click", () => onSelect(step.id));
      node.addEventListener("keydown", (e) => {
        if ((e as KeyboardEvent).key === "Enter") onSelect(step.id);
      });
      this.nodes.set(step.id, node);
      this.element.append(node);
    }
  }

  /** Recolours one node. */
  setStatus(stepId: string, status: string): void {
    const node = this.nodes.get(stepId);
    if (!node) return;
    node.setAttribute("class", `node status-${status}`);
    node.setAttribute("data-status", status);
    node.querySelector(".node-status")!.textContent = status;
  }

  select(stepId: string | undefined): void {
    for (const [id, node] of this.nodes) node.classList.toggle("selected", id === stepId);
  }
}
