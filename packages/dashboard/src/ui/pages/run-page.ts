import { type ArtifactRef, api, type RunDetail, type StepView } from "../api-client.js";
import { DagView } from "../dag-view.js";
import { duration, fill, h, statusBadge, tagChips, when } from "../dom.js";
import { liveEvents } from "../live-events.js";
import { metadataTable } from "../metadata-view.js";
import { timelineView } from "../timeline-view.js";

/** `name:version` linking to the version's page; the id when the version has no name. */
export function versionLink(ref: ArtifactRef): HTMLElement {
  if (ref.name === null || ref.version === null) return h("span", { class: "mono", title: ref.id }, ref.id.slice(0, 12));
  return h("a", { class: "version-link", href: `/artifacts/${encodeURIComponent(ref.name)}/${ref.version}` }, `${ref.name}:${ref.version}`);
}

function details(rows: Array<[string, Node | string | undefined]>): HTMLDListElement {
  return h("dl", { class: "details" }, ...rows.filter(([, v]) => v !== undefined && v !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v!)]));
}

function json(value: unknown): HTMLPreElement {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function formatSize(bytes?: number): string {
  if (bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** An output's preview (JSON, text or a hex dump of its start), fetched when drawn. */
function outputPreview(runId: string, stepId: string, output: string): HTMLElement {
  const body = h("pre", { class: "preview" }, "loading…");
  const note = h("p", { class: "note" });
  api
    .output(runId, stepId, output)
    .then((r) => {
      body.textContent = r.preview.text;
      body.setAttribute("data-kind", r.preview.kind);
      if (r.preview.truncated) note.textContent = `The first ${formatSize(r.limit)} of ${formatSize(r.artifact.size)} (truncated).`;
    })
    .catch((e: Error) => {
      body.textContent = e.message;
    });
  return h("div", { class: "output-preview", "data-output": output }, h("h4", {}, output), body, note);
}

/** The step panel: status, attempts, cache origin, timings, error, outputs with previews, and the end of its log. */
async function stepPanel(runId: string, step: StepView | undefined, stepId: string): Promise<HTMLElement> {
  if (!step) return h("section", { class: "step-panel", "data-step": stepId }, h("h2", {}, stepId), h("p", { class: "empty" }, "Not started yet."));
  const logs = h("pre", { class: "logs" }, "loading…");
  const logNote = h("p", { class: "note logs-note" });
  api
    .logs(runId, step.stepId)
    .then((r) => {
      logs.textContent = r.logs || "(no output)";
      if (r.truncated) logNote.textContent = `Truncated: the last ${formatSize(r.limit)} of ${formatSize(r.size)}.`;
      logs.scrollTop = logs.scrollHeight;
    })
    .catch((e: Error) => {
      logs.textContent = e.message;
    });
  return h(
    "section",
    { class: "step-panel", "data-step": step.stepId },
    h("h2", {}, step.stepId, " ", statusBadge(step.status)),
    details([
      ["step", step.stepName],
      ["attempts", String(step.attempt)],
      ["started", when(step.started)],
      ["duration", duration(step.started, step.ended)],
      [
        "cached from",
        step.cachedFrom
          ? h(
              "a",
              { href: `/runs/${encodeURIComponent(step.cachedFrom.runId)}?step=${encodeURIComponent(step.cachedFrom.stepId)}`, class: "cache-origin" },
              `run ${step.cachedFrom.runId.slice(0, 8)}, step ${step.cachedFrom.stepId}`,
            )
          : step.status === "completed"
            ? "not cached: this run computed it"
            : undefined,
      ],
    ]),
    step.error ? h("pre", { class: "error" }, step.error) : null,
    step.metadata && Object.keys(step.metadata).length ? h("h3", {}, "Metadata") : null,
    metadataTable(step.metadata, "step metadata"),
    h("h3", {}, "Inputs"),
    step.consumed?.length
      ? h(
          "table",
          { class: "inputs" },
          h("thead", {}, h("tr", {}, h("th", {}, "Input"), h("th", {}, "Version"))),
          h("tbody", {}, ...step.consumed.map((i) => h("tr", { "data-input": i.input }, h("td", {}, i.input), h("td", {}, versionLink(i))))),
        )
      : h("p", { class: "empty" }, "No inputs read from other steps' versions."),
    h("h3", {}, "Outputs"),
    step.artifacts.length
      ? h(
          "table",
          { class: "outputs" },
          h("thead", {}, h("tr", {}, ...["Output", "Version", "Tags", "Materializer", "Type", "Size", "SHA-256"].map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...step.artifacts.map((a) =>
              h(
                "tr",
                { "data-output": a.output },
                h("td", {}, a.output),
                h("td", {}, versionLink(a)),
                h("td", {}, ...tagChips(a.tags)),
                h("td", {}, a.materializer ?? ""),
                h("td", {}, a.dataType ?? ""),
                h("td", {}, formatSize(a.size)),
                h("td", { class: "mono", title: a.sha256 ?? "" }, a.sha256?.slice(0, 12) ?? ""),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No outputs recorded."),
    ...step.artifacts.map((a) => outputPreview(runId, step.stepId, a.output)),
    h("h3", {}, "Logs"),
    logNote,
    logs,
  );
}

/** One run: header, DAG (live), snapshot summary and the selected step's panel. */
export async function runPage(root: HTMLElement, runId: string, params: URLSearchParams): Promise<() => void> {
  let detail: RunDetail = await api.run(runId);
  const id = detail.run.id;
  let selected = params.get("step") ?? undefined;
  const steps = () => new Map(detail.steps.map((s) => [s.stepId, s]));
  const statuses = new Map(detail.steps.map((s) => [s.stepId, s.status]));
  const panel = h("div", { class: "panel-slot" });
  const timeline = h("section", { class: "timeline-slot" });
  const header = h("div", { class: "run-header" });

  const drawHeader = () => {
    const { run, snapshot } = detail;
    const active = ["initializing", "running", "retrying"].includes(run.status);
    const stop = h("button", { class: "stop", type: "button" }, "Stop run");
    stop.addEventListener("click", () => {
      stop.setAttribute("disabled", "");
      stop.textContent = "Stopping…";
      api.stop(run.id).catch((e: Error) => {
        stop.textContent = e.message;
      });
    });
    fill(
      header,
      h("h1", {}, run.name, " ", statusBadge(run.status), active ? stop : null),
      details([
        ["id", run.id],
        ["pipeline", run.pipeline],
        ["stack", run.stack],
        ["orchestrator", run.orchestrator],
        ["started", when(run.started ?? run.created)],
        ["duration", duration(run.started, run.ended)],
        ["source", snapshot?.pipeline.source],
        ["tags", run.tags?.length ? h("span", { class: "run-tags" }, ...tagChips(run.tags, (t) => `/runs?${new URLSearchParams({ tag: t })}`)) : undefined],
      ]),
      run.metadata && Object.keys(run.metadata).length ? h("h3", {}, "Run metadata") : null,
      metadataTable(run.metadata, "run metadata"),
      detail.error ? h("pre", { class: "error run-error" }, detail.error) : null,
    );
  };
  const drawPanel = async () => {
    dag.select(selected);
    fill(panel, selected ? await stepPanel(id, steps().get(selected), selected) : h("p", { class: "hint" }, "Click a step to see its outputs and logs."));
  };
  const select = (stepId: string) => {
    selected = stepId;
    history.replaceState(null, "", `/runs/${encodeURIComponent(id)}?step=${encodeURIComponent(stepId)}`);
    void drawPanel();
  };

  const dagSteps = detail.snapshot?.steps ?? detail.steps.map((s) => ({ id: s.stepId, name: s.stepName, upstream: [], outputs: [], parameters: {} }));
  const dag = new DagView(dagSteps, statuses, select);
  drawHeader();
  fill(timeline, timelineView(detail.steps));
  const snapshot = detail.snapshot;
  fill(
    root,
    header,
    h("section", { class: "dag-box" }, dag.element),
    h("h3", {}, "Timeline"),
    timeline,
    panel,
    snapshot
      ? h(
          "details",
          { class: "snapshot" },
          h("summary", {}, "Parameters and stack"),
          h("h3", {}, "Parameters"),
          json(snapshot.pipeline.parameters),
          h("h3", {}, "Stack"),
          details(Object.entries(snapshot.stack.components).map(([type, c]) => [type.replaceAll("_", " "), `${c.name} (${c.flavor})`])),
          h("p", {}, `snapshot ${snapshot.id} · cache ${snapshot.enableCache ? "on" : "off"}`),
        )
      : null,
  );
  await drawPanel();

  // A status change re-reads this one run (its artifacts and timings changed too).
  const refresh = async () => {
    detail = await api.run(id);
    drawHeader();
    fill(timeline, timelineView(detail.steps));
    for (const s of detail.steps) dag.setStatus(s.stepId, s.status);
    await drawPanel();
  };
  return liveEvents.subscribe({
    step: (changedRun, step) => {
      if (changedRun !== id) return;
      dag.setStatus(step.stepId, step.status);
      void refresh();
    },
    run: (run) => {
      if (run.id === id) void refresh();
    },
  });
}
