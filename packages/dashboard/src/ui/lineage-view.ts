import { Graph, layout } from "@dagrejs/dagre";
import type { LineageView } from "./api-client.js";
import { svg } from "./dom.js";

const NODE_WIDTH = 270;
const NODE_HEIGHT = 44;

/**
 * A version's lineage as SVG, laid out by dagre like the run DAG but top to
 * bottom (default artifact names are long, and a lineage runs deep): artifact versions (rounded) and the step runs that made or read them
 * (square), each a link to its page.
 */
export function lineageView(lineage: LineageView): SVGElement {
  const graph = new Graph();
  graph.setGraph({ rankdir: "TB", nodesep: 20, ranksep: 28, marginx: 16, marginy: 16 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of lineage.nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of lineage.edges) if (graph.hasNode(edge.from) && graph.hasNode(edge.to)) graph.setEdge(edge.from, edge.to);
  layout(graph);
  const { width = 0, height = 0 } = graph.graph();
  const root = svg("svg", { class: "dag lineage", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "lineage graph" });
  root.append(
    svg(
      "defs",
      {},
      svg(
        "marker",
        { id: "lineage-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" },
        svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }),
      ),
    ),
  );
  for (const edge of graph.edges()) {
    const points = graph.edge(edge).points ?? [];
    const d = points.map((p: { x: number; y: number }, i: number) => `${i ? "L" : "M"}${p.x},${p.y}`).join(" ");
    root.append(svg("path", { d, class: "edge", "marker-end": "url(#lineage-arrow)", "data-edge": `${edge.v}->${edge.w}` }));
  }
  const clip = (text: string) => (text.length > 32 ? `…${text.slice(-31)}` : text);
  for (const node of lineage.nodes) {
    const { x, y } = graph.node(node.id);
    const status = node.kind === "step" ? ` status-${node.status ?? "pending"}` : "";
    const group = svg(
      "a",
      { href: node.href, class: `lineage-node ${node.kind}${node.focus ? " focus" : ""}${status}`, "data-node": node.id, "data-label": node.label },
      svg(
        "g",
        { transform: `translate(${x - NODE_WIDTH / 2},${y - NODE_HEIGHT / 2})` },
        svg("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: node.kind === "artifact" ? 18 : 4 }),
        svg("text", { x: 12, y: 18, class: "node-name" }, clip(node.label)),
        svg("text", { x: 12, y: 35, class: "node-status" }, clip(node.sub)),
      ),
    );
    group.append(svg("title", {}, `${node.kind === "step" ? "step" : "version"} ${node.label}`));
    root.append(group);
  }
  return root;
}
