import type { SnapshotStepSummary } from "../../source.js";
import { type ArtifactRef, api, type ItemView, type MapProgress, type RunDetail, type StepView } from "../api-client.js";
import { DagView, progressText } from "../dag-view.js";
import { duration, fill, h, statusBadge, tagChips, when } from "../dom.js";
import { jsonTree } from "../json-tree.js";
import { liveEvents } from "../live-events.js";
import { metadataTable } from "../metadata-view.js";
import { TIMELINE_ITEMS, timelineView } from "../timeline-view.js";
import { visualization } from "../visualization-view.js";

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

/**
 * An output's preview, fetched when drawn: a JSON object or array as a tree
 * (its text under "Raw JSON"), other JSON, text, or a hex dump of its start.
 */
function outputPreview(runId: string, stepId: string, output: string): HTMLElement {
  const body = h("pre", { class: "preview" }, "loading…");
  const note = h("p", { class: "note" });
  const box = h("div", { class: "output-preview", "data-output": output }, h("h4", {}, output), body, note);
  api
    .output(runId, stepId, output)
    .then((r) => {
      body.textContent = r.preview.text;
      body.setAttribute("data-kind", r.preview.kind);
      if (r.preview.truncated) note.textContent = `The first ${formatSize(r.limit)} of ${formatSize(r.artifact.size)} (truncated).`;
      const value = r.preview.kind === "json" ? (JSON.parse(r.preview.text) as unknown) : undefined;
      if (value !== null && typeof value === "object") {
        const raw = h("details", { class: "raw-json" }, h("summary", {}, "Raw JSON"));
        body.replaceWith(jsonTree(value), raw);
        raw.append(body);
      }
    })
    .catch((e: Error) => {
      body.textContent = e.message;
    });
  return box;
}

const ACTIVE = ["initializing", "running", "retrying"];
/** How often the live tail asks for new log bytes (ms). */
const TAIL_MS = 1000;

/**
 * The live tail of a running step's log: asks for the bytes after the ones
 * it has, every second, appends them, and stops when the step has ended (or
 * the panel is gone). It keeps to the bottom unless the reader scrolled up.
 */
function tailLogs(runId: string, stepId: string, logs: HTMLPreElement, note: HTMLElement): void {
  let offset = 0;
  let first = true;
  /** Whether the box shows log text yet (or a placeholder). */
  let shown = false;
  logs.setAttribute("data-live", "true");
  note.textContent = "Live: new output appears while the step runs.";
  const tick = async (): Promise<void> => {
    if (!first && !logs.isConnected) return;
    first = false;
    const chunk = await api.logsFrom(runId, stepId, offset).catch((e: Error) => e);
    if (chunk instanceof Error) {
      note.textContent = chunk.message;
      return;
    }
    const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 8;
    if (chunk.reset || (!shown && (chunk.text || chunk.skipped))) {
      logs.textContent = "";
      logs.removeAttribute("data-waiting");
      shown = true;
    }
    if (chunk.skipped) logs.append(`[… ${formatSize(chunk.skipped)} left out …]\n`);
    if (chunk.text) logs.append(chunk.text);
    if (atBottom) logs.scrollTop = logs.scrollHeight;
    offset = chunk.next;
    if (ACTIVE.includes(chunk.status)) {
      if (!shown) {
        logs.textContent = "waiting for output…";
        logs.setAttribute("data-waiting", "");
        note.textContent = "Live: no output yet. A running step writes its log out every second (every ten to an object store such as S3).";
      } else note.textContent = "Live: new output appears while the step runs.";
      setTimeout(() => void tick(), TAIL_MS);
    } else {
      logs.setAttribute("data-live", "ended");
      logs.removeAttribute("data-waiting");
      note.textContent = "";
      if (!shown) logs.textContent = "(no output)";
    }
  };
  void tick();
}

/** The step panel: status, attempts, cache origin, timings, error, outputs with previews, and the end of its log (live while it runs). */
async function stepPanel(runId: string, step: StepView | undefined, stepId: string, back?: HTMLElement): Promise<HTMLElement> {
  if (!step) return h("section", { class: "step-panel", "data-step": stepId }, h("h2", {}, stepId), h("p", { class: "empty" }, "Not started yet."));
  const logs = h("pre", { class: "logs" }, "loading…");
  const logNote = h("p", { class: "note logs-note" });
  if (ACTIVE.includes(step.status)) tailLogs(runId, step.stepId, logs, logNote);
  else
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
    back ?? null,
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
    ...(step.collected ?? [])
      .filter((c) => c.items > step.consumed.filter((i) => i.input.startsWith(`${c.input}[`)).length)
      .map((c) =>
        h(
          "p",
          { class: "note collected-note" },
          `${c.input}: ${c.items} items collected; the first ${step.consumed.filter((i) => i.input.startsWith(`${c.input}[`)).length} are listed.`,
        ),
      ),
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
    ...step.artifacts.map((a) =>
      // An output with visualizations (an SVG chart, a CSV table) is shown as them; the others as a preview of their value.
      a.visualizations?.length && a.name !== null && a.version !== null
        ? h(
            "div",
            { class: "output-preview", "data-output": a.output },
            h("h4", {}, a.output),
            ...a.visualizations.map((v) => visualization(a.name!, a.version!, v)),
          )
        : outputPreview(runId, step.stepId, a.output),
    ),
    h("h3", {}, "Logs"),
    logNote,
    logs,
  );
}

const ITEM_STATUSES = ["completed", "cached", "running", "failed", "stopped"];
const ITEM_PAGE = 50;

function tolerateText(spec: SnapshotStepSummary["map"]): string | undefined {
  if (!spec) return undefined;
  if (!spec.tolerate) return "none: one failed item fails the map";
  return "count" in spec.tolerate ? `up to ${spec.tolerate.count} failed items` : `up to ${spec.tolerate.percent}% of the items failing`;
}

/**
 * A map step's panel: its counts, failed items and policy, and a page of its
 * items (filtered by status), each opening its own step panel.
 */
async function mapPanel(
  runId: string,
  stepId: string,
  spec: SnapshotStepSummary["map"],
  query: { status: string; offset: number },
  onQuery: () => void,
  onSelect: (stepId: string) => void,
): Promise<HTMLElement> {
  const params = new URLSearchParams({ limit: String(ITEM_PAGE), offset: String(query.offset) });
  if (query.status) params.set("status", query.status);
  const page = await api.items(runId, stepId, params);
  const map = page.map;
  const itemLink = (index: number, label: string = String(index)) => {
    const a = h(
      "a",
      { href: `/runs/${encodeURIComponent(runId)}?step=${encodeURIComponent(`${stepId}[${index}]`)}`, class: "item-link", "data-index": index },
      label,
    );
    a.addEventListener("click", (e) => {
      e.preventDefault();
      onSelect(`${stepId}[${index}]`);
    });
    return a;
  };
  const filter = h(
    "select",
    { name: "item-status", "aria-label": "item status" },
    h("option", { value: "" }, "any status"),
    ...ITEM_STATUSES.map((st) => h("option", { value: st, selected: st === query.status ? "" : undefined }, st)),
  );
  filter.addEventListener("change", () => {
    query.status = filter.value;
    query.offset = 0;
    onQuery();
  });
  const pager = (label: string, offset: number, enabled: boolean) => {
    const b = h("button", { type: "button", class: `pager ${label === "Previous" ? "prev" : "next"}`, disabled: enabled ? undefined : "" }, label);
    b.addEventListener("click", () => {
      query.offset = offset;
      onQuery();
    });
    return b;
  };
  const row = (item: ItemView) => {
    const tr = h(
      "tr",
      { "data-index": item.index, "data-status": item.status, class: "item-row" },
      h("td", {}, itemLink(item.index)),
      h("td", {}, statusBadge(item.status)),
      h("td", {}, item.started ? duration(item.started, item.ended ?? undefined) : ""),
      h("td", {}, String(item.attempt)),
      h(
        "td",
        {},
        item.cachedFrom
          ? h(
              "a",
              { href: `/runs/${encodeURIComponent(item.cachedFrom.runId)}?step=${encodeURIComponent(item.cachedFrom.stepId)}`, class: "cache-origin" },
              `run ${item.cachedFrom.runId.slice(0, 8)}`,
            )
          : "",
      ),
      h("td", { class: "item-error" }, item.error ?? ""),
    );
    tr.addEventListener("click", (e) => {
      if ((e.target as Element).closest("a")) return;
      onSelect(item.stepId);
    });
    return tr;
  };
  const more = map.failed > map.failedIndices.length ? ` and ${map.failed - map.failedIndices.length} more` : "";
  return h(
    "section",
    { class: "step-panel map-panel", "data-step": stepId },
    h("h2", {}, stepId, " ", statusBadge(page.status), " ", h("span", { class: "sub" }, `map over ${spec?.inputs.join(", ") ?? "its inputs"}`)),
    h("p", { class: "map-progress" }, progressText(map)),
    h(
      "div",
      { class: "map-counts" },
      ...(
        [
          ["items", map.items],
          ["completed", map.completed],
          ["cached", map.cached],
          ["running", map.running],
          ["failed", map.failed],
          ["stopped", map.stopped],
          ["not started", map.pending],
        ] as const
      ).map(([k, v]) => h("div", { class: v ? "count" : "count zero", "data-count": k }, h("strong", {}, String(v)), h("span", {}, k))),
    ),
    details([
      ["mode", spec ? (spec.mode === "product" ? "product: every combination" : "zip: the i-th element of each list") : undefined],
      ["concurrency", spec?.concurrency === undefined ? undefined : `${spec.concurrency} items at once`],
      ["tolerates", tolerateText(spec)],
      ["tolerated", map.tolerated === null ? undefined : String(map.tolerated)],
      [
        "failed items",
        map.failedIndices.length ? h("span", { class: "failed-items" }, ...map.failedIndices.flatMap((i, n) => [n ? ", " : "", itemLink(i)]), more) : undefined,
      ],
    ]),
    h("h3", {}, "Items"),
    h(
      "div",
      { class: "filters" },
      filter,
      h("span", { class: "sub item-range" }, page.total ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "no items"),
      pager("Previous", Math.max(0, query.offset - ITEM_PAGE), query.offset > 0),
      pager("Next", query.offset + ITEM_PAGE, page.hasMore),
    ),
    page.items.length
      ? h(
          "table",
          { class: "items" },
          h("thead", {}, h("tr", {}, ...["Item", "Status", "Duration", "Attempts", "Cached from", "Error"].map((c) => h("th", {}, c)))),
          h("tbody", {}, ...page.items.map(row)),
        )
      : h("p", { class: "empty" }, query.status ? `No ${query.status} items.` : "No item has started yet."),
  );
}

/** One run: header, DAG (live), snapshot summary and the selected step's panel. */
export async function runPage(root: HTMLElement, runId: string, params: URLSearchParams): Promise<() => void> {
  let detail: RunDetail = await api.run(runId);
  const id = detail.run.id;
  let selected = params.get("step") ?? undefined;
  const steps = () => new Map(detail.steps.map((s) => [s.stepId, s]));
  const statuses = new Map(detail.steps.map((s) => [s.stepId, s.status]));
  const specs = new Map((detail.snapshot?.steps ?? []).filter((s) => s.map).map((s) => [s.id, s.map]));
  const maps = () => {
    const out = new Map<string, MapProgress | undefined>([...specs.keys()].map((k) => [k, undefined]));
    for (const s of detail.steps) if (s.map) out.set(s.stepId, s.map);
    return out;
  };
  /** The items list's filter and page, kept while the same map stays selected. */
  const itemQuery = { status: "", offset: 0 };
  /** Maps expanded in the timeline, with their first items (null while loading). */
  const expanded = new Map<string, ItemView[] | null>();
  const panel = h("div", { class: "panel-slot" });
  const timeline = h("section", { class: "timeline-slot" });
  const header = h("div", { class: "run-header" });

  const actionNote = h("p", { class: "action-error", role: "alert" });
  /** Starts a retry (from a step, or of what failed); then opens the new run, which goes on live. */
  const startRetry = (button: HTMLButtonElement, what: { from?: string; all?: boolean }) => {
    for (const b of root.querySelectorAll<HTMLButtonElement>("button.run-action")) b.disabled = true;
    button.textContent = "Starting…";
    actionNote.textContent = "";
    api.retry(id, what).then(
      (r) => {
        history.pushState(null, "", `/runs/${encodeURIComponent(r.run.name)}`);
        dispatchEvent(new PopStateEvent("popstate"));
      },
      (e: Error) => {
        actionNote.textContent = e.message;
        drawHeader();
        void drawPanel();
      },
    );
  };
  const actionButton = (label: string, cls: string, title: string, what: { from?: string; all?: boolean }) => {
    const b = h("button", { class: `run-action ${cls}`, type: "button", title }, label);
    b.addEventListener("click", () => startRetry(b, what));
    return b;
  };

  const drawHeader = () => {
    const { run, snapshot } = detail;
    const active = ACTIVE.includes(run.status);
    const canRetry = detail.actions.retry && !active;
    const failed = ["failed", "stopped", "skipped"].includes(run.status);
    const retry =
      canRetry && failed ? actionButton("Retry", "retry", "Run the failed, skipped and stopped steps again, reusing the steps this run finished", {}) : null;
    const rerun = canRetry && snapshot ? actionButton("Rerun", "rerun", "Run every step again, reusing nothing: same snapshot and stack", { all: true }) : null;
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
      h(
        "h1",
        {},
        run.name,
        " ",
        statusBadge(run.status),
        active && detail.actions.stop ? stop : null,
        retry || rerun ? h("span", { class: "run-actions" }, retry, rerun) : null,
      ),
      actionNote,
      details([
        ["id", run.id],
        [
          "retry of",
          detail.retryOf
            ? h(
                "a",
                { href: `/runs/${encodeURIComponent(detail.retryOf.id)}`, class: "retry-of" },
                detail.retryOf.name ?? `${detail.retryOf.id.slice(0, 8)} (deleted)`,
              )
            : undefined,
        ],
        ["deployment", run.deployment ? `${run.deployment}${run.deploymentVersion !== undefined ? ` (version ${run.deploymentVersion})` : ""}` : undefined],
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
  const itemOf = (stepId: string) => {
    const m = /^(.+)\[(\d+)\]$/.exec(stepId);
    return m && maps().has(m[1]!) ? { mapId: m[1]!, index: Number(m[2]) } : undefined;
  };
  const panelFor = async (stepId: string): Promise<HTMLElement> => {
    if (maps().has(stepId)) return mapPanel(id, stepId, specs.get(stepId), itemQuery, () => void drawPanel(), select);
    const item = itemOf(stepId);
    if (!item) return stepPanel(id, steps().get(stepId), stepId);
    const back = h("a", { href: `/runs/${encodeURIComponent(id)}?step=${encodeURIComponent(item.mapId)}`, class: "back-to-map" }, `← map ${item.mapId}`);
    back.addEventListener("click", (e) => {
      e.preventDefault();
      select(item.mapId);
    });
    const step = await api.step(id, stepId).then(
      (r) => r.step,
      () => undefined,
    );
    return stepPanel(id, step, stepId, back);
  };
  /** "Retry from here" on a step of an ended run: that step and everything after it run again; a map's item retries its map. */
  const retryFromButton = (stepId: string) => {
    if (!detail.actions.retry || ACTIVE.includes(detail.run.status)) return null;
    const from = itemOf(stepId)?.mapId ?? stepId;
    if (!detail.snapshot?.steps.some((s) => s.id === from)) return null;
    return h(
      "div",
      { class: "step-actions" },
      actionButton(`Retry from ${from}`, "retry-from", `Run '${from}' and every step after it again; reuse the others this run finished`, { from }),
    );
  };
  const drawPanel = async () => {
    const item = selected ? itemOf(selected) : undefined;
    dag.select(item ? item.mapId : selected);
    const body = selected ? await panelFor(selected) : h("p", { class: "hint" }, "Click a step to see its outputs and logs.");
    const button = selected ? retryFromButton(selected) : null;
    if (button) body.querySelector("h2")?.after(button);
    fill(panel, body);
  };
  const select = (stepId: string) => {
    const item = itemOf(stepId);
    const mapNow = item ? item.mapId : stepId;
    const mapBefore = selected ? (itemOf(selected)?.mapId ?? selected) : undefined;
    if (mapNow !== mapBefore) Object.assign(itemQuery, { status: "", offset: 0 });
    selected = stepId;
    history.replaceState(null, "", `/runs/${encodeURIComponent(id)}?step=${encodeURIComponent(stepId)}`);
    void drawPanel();
  };
  const drawTimeline = () => fill(timeline, timelineView(detail.steps, expanded, toggleMap));
  const loadExpanded = async () => {
    await Promise.all(
      [...expanded.keys()].map(async (mapId) => {
        const page = await api.items(id, mapId, new URLSearchParams({ limit: String(TIMELINE_ITEMS) }));
        if (expanded.has(mapId)) expanded.set(mapId, page.items);
      }),
    );
  };
  const toggleMap = (mapId: string) => {
    if (expanded.has(mapId)) expanded.delete(mapId);
    else {
      expanded.set(mapId, null);
      void loadExpanded().then(drawTimeline);
    }
    drawTimeline();
  };

  const dagSteps = detail.snapshot?.steps ?? detail.steps.map((s) => ({ id: s.stepId, name: s.stepName, upstream: [], outputs: [], parameters: {} }));
  const dag = new DagView(dagSteps, statuses, select, maps());
  drawHeader();
  drawTimeline();
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

  // A status change re-reads this one run (its artifacts and timings changed
  // too); changes arriving meanwhile are read once more after it, not once each.
  let refreshing: Promise<void> | undefined;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        detail = await api.run(id);
        if (expanded.size) await loadExpanded();
        drawHeader();
        drawTimeline();
        for (const s of detail.steps) {
          if (s.map) dag.setMap(s.stepId, s.status, s.map);
          else dag.setStatus(s.stepId, s.status);
        }
        await drawPanel();
      } while (again);
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  return liveEvents.subscribe({
    step: (changedRun, step) => {
      if (changedRun !== id) return;
      dag.setStatus(step.stepId, step.status);
      void refresh();
    },
    map: (changedRun, stepId, status, map) => {
      if (changedRun !== id) return;
      dag.setMap(stepId, status, map);
      void refresh();
    },
    run: (run) => {
      if (run.id === id) void refresh();
    },
  });
}
