import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api, type PipelineSeries } from "../api-client.js";
import { fill, h, statusBadge, when } from "../dom.js";

/** Every pipeline: how many runs, the newest one. */
export async function pipelinesPage(root: HTMLElement): Promise<() => void> {
  const { pipelines } = await api.pipelines();
  fill(
    root,
    h("h1", {}, "Pipelines"),
    pipelines.length
      ? h(
          "table",
          { class: "pipelines" },
          h("thead", {}, h("tr", {}, ...["Pipeline", "Runs", "Latest run", "Status", "Started"].map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...pipelines.map((p) =>
              h(
                "tr",
                { "data-pipeline": p.name },
                h("td", {}, h("a", { href: `/pipelines/${encodeURIComponent(p.name)}` }, p.name)),
                h("td", {}, `${p.runs}${p.more ? "+" : ""}`),
                h("td", {}, p.latest ? h("a", { href: `/runs/${encodeURIComponent(p.latest.id)}` }, p.latest.name) : ""),
                h("td", {}, p.latest ? statusBadge(p.latest.status) : ""),
                h("td", {}, when(p.latest?.started ?? p.latest?.created)),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No runs yet. Run a pipeline with `stackyard run`."),
  );
  return () => {};
}

function metricLabel(key: string): string {
  if (key === "duration") return "run duration (s)";
  if (key.startsWith("param:")) return `parameter ${key.slice(6)}`;
  if (key.startsWith("meta:")) return `metadata ${key.slice(5)}`;
  return `output ${key.slice(7)}`;
}

/** One pipeline's runs over time: a uPlot chart of run duration or a chosen numeric value, and the runs. */
export async function pipelinePage(root: HTMLElement, name: string, params: URLSearchParams): Promise<() => void> {
  const series: PipelineSeries = await api.pipeline(name);
  const metrics = ["duration", ...series.metrics];
  let metric = params.get("metric") ?? "duration";
  if (!metrics.includes(metric)) metric = "duration";
  const chartBox = h("div", { class: "chart", "data-metric": metric });
  const menu = h(
    "select",
    { name: "metric", "aria-label": "value to plot" },
    ...metrics.map((m) => h("option", { value: m, selected: m === metric }, metricLabel(m))),
  );
  let chart: uPlot | undefined;

  const draw = () => {
    chart?.destroy();
    const points = series.runs.map((r) => ({
      x: Date.parse(r.created) / 1000,
      y: metric === "duration" ? (r.durationMs === null ? null : r.durationMs / 1000) : (r.values[metric] ?? null),
    }));
    const data: uPlot.AlignedData = [points.map((p) => p.x), points.map((p) => p.y)];
    const width = Math.max(320, Math.min(root.clientWidth || 960, 1100));
    chart = new uPlot(
      {
        width,
        height: 280,
        scales: { x: { time: true } },
        legend: { show: true },
        axes: [{}, { label: metricLabel(metric) }],
        series: [{}, { label: metricLabel(metric), stroke: "#3b5bdb", width: 2, points: { show: true, size: 7, fill: "#3b5bdb" }, spanGaps: true }],
      },
      data,
      chartBox,
    );
    chartBox.setAttribute("data-metric", metric);
    chartBox.setAttribute("data-points", String(points.filter((p) => p.y !== null).length));
  };
  menu.addEventListener("change", () => {
    metric = menu.value;
    history.replaceState(null, "", `/pipelines/${encodeURIComponent(name)}${metric === "duration" ? "" : `?${new URLSearchParams({ metric })}`}`);
    draw();
  });

  const newestFirst = [...series.runs].reverse();
  fill(
    root,
    h("h1", {}, name),
    h(
      "p",
      { class: "sub" },
      `${series.runs.length} newest runs, oldest on the left. `,
      h("a", { href: `/runs?${new URLSearchParams({ pipeline: name })}` }, "All runs"),
    ),
    h("div", { class: "toolbar" }, h("label", {}, "Plot ", menu)),
    chartBox,
    h(
      "table",
      { class: "runs" },
      h("thead", {}, h("tr", {}, ...["Run", "Status", "Started", "Duration", ...series.metrics.map(metricLabel)].map((c) => h("th", {}, c)))),
      h(
        "tbody",
        {},
        ...newestFirst.map((r) =>
          h(
            "tr",
            { "data-run": r.id },
            h("td", {}, h("a", { href: `/runs/${encodeURIComponent(r.id)}` }, r.name)),
            h("td", {}, statusBadge(r.status)),
            h("td", {}, when(r.created)),
            h("td", {}, r.durationMs === null ? "" : r.durationMs < 1000 ? `${r.durationMs}ms` : `${(r.durationMs / 1000).toFixed(1)}s`),
            ...series.metrics.map((m) => h("td", {}, r.values[m] === undefined ? "" : String(Number(r.values[m]!.toPrecision(6))))),
          ),
        ),
      ),
    ),
  );
  draw();
  return () => chart?.destroy();
}
