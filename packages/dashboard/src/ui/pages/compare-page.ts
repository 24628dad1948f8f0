import { api, type CompareView, type RunView } from "../api-client.js";
import { fill, h, statusBadge } from "../dom.js";

function show(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return value < 1000 ? `${value}ms` : `${(value / 1000).toFixed(1)}s`;
}

function runHead(run: RunView): HTMLElement {
  return h("th", {}, h("a", { href: `/runs/${encodeURIComponent(run.id)}` }, run.name), " ", statusBadge(run.status), h("div", { class: "sub" }, run.pipeline));
}

function table(cls: string, a: RunView, b: RunView, first: string, rows: HTMLTableRowElement[], empty: string): HTMLElement {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("table", { class: `compare ${cls}` }, h("thead", {}, h("tr", {}, h("th", {}, first), runHead(a), runHead(b))), h("tbody", {}, ...rows));
}

/** Two runs side by side (`/compare?a=<run>&b=<run>`); rows that differ are marked. */
export async function comparePage(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const a = params.get("a");
  const b = params.get("b");
  if (!a || !b) {
    fill(root, h("h1", {}, "Compare runs"), h("p", { class: "empty" }, "Pick two runs on the runs page and press Compare."));
    return () => {};
  }
  const c: CompareView = await api.compare(a, b);
  const valueRow = (v: CompareView["parameters"][number]) =>
    h("tr", { class: v.same ? "same" : "differs", "data-key": v.key }, h("td", {}, v.key), h("td", {}, show(v.a)), h("td", {}, show(v.b)));
  const stepCell = (s: CompareView["steps"][number]["a"]) =>
    s
      ? h("td", {}, statusBadge(s.status), " ", ms(s.durationMs), s.cached ? " (cached)" : "", s.attempt > 1 ? ` · ${s.attempt} attempts` : "")
      : h("td", {}, "—");
  const sha = (o: CompareView["outputs"][number]["a"]) => (o ? h("td", { class: "mono", title: o.sha256 }, o.sha256.slice(0, 12)) : h("td", {}, "—"));
  const changed = c.outputs.filter((o) => !o.same).length;
  fill(
    root,
    h(
      "h1",
      {},
      "Compare ",
      h("a", { href: `/runs/${encodeURIComponent(c.a.id)}` }, c.a.name),
      " and ",
      h("a", { href: `/runs/${encodeURIComponent(c.b.id)}` }, c.b.name),
    ),
    h("h3", {}, "Parameters"),
    table("parameters", c.a, c.b, "Parameter", c.parameters.map(valueRow), "Neither run has parameters."),
    h("h3", {}, "Config"),
    table("config", c.a, c.b, "Setting", c.config.map(valueRow), "No config recorded."),
    h("h3", {}, "Steps"),
    table(
      "steps",
      c.a,
      c.b,
      "Step",
      c.steps.map((s) =>
        h("tr", { "data-step": s.stepId, class: s.a?.status === s.b?.status ? "same" : "differs" }, h("td", {}, s.stepId), stepCell(s.a), stepCell(s.b)),
      ),
      "No steps.",
    ),
    h("h3", {}, "Outputs ", h("span", { class: "sub" }, changed ? `${changed} of ${c.outputs.length} differ` : "all identical")),
    table(
      "outputs",
      c.a,
      c.b,
      "Output (sha256)",
      c.outputs.map((o) =>
        h("tr", { "data-output": `${o.stepId}.${o.output}`, class: o.same ? "same" : "differs" }, h("td", {}, `${o.stepId}.${o.output}`), sha(o.a), sha(o.b)),
      ),
      "No outputs.",
    ),
  );
  return () => {};
}
