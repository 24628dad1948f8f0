import { api, type RunView } from "../api-client.js";
import { duration, fill, h, statusBadge, tagChips, when } from "../dom.js";
import { liveEvents } from "../live-events.js";

const FILTERS = ["pipeline", "status", "stack", "tag"] as const;

/** Runs ticked for comparison, kept across live row updates. */
const picked: string[] = [];

function runRow(run: RunView, onPick: () => void): HTMLTableRowElement {
  const box = h("input", { type: "checkbox", class: "pick", "aria-label": `compare ${run.name}`, checked: picked.includes(run.id) });
  box.addEventListener("change", () => {
    const at = picked.indexOf(run.id);
    if (box.checked && at === -1) picked.push(run.id);
    if (!box.checked && at !== -1) picked.splice(at, 1);
    onPick();
  });
  return h(
    "tr",
    { "data-run": run.id },
    h("td", {}, box),
    h("td", {}, h("a", { href: `/runs/${encodeURIComponent(run.id)}` }, run.name)),
    h("td", {}, run.pipeline),
    h("td", { class: "run-status" }, statusBadge(run.status)),
    h("td", {}, run.stack),
    h("td", { class: "run-tags" }, ...tagChips(run.tags, (t) => `/runs?${new URLSearchParams({ tag: t })}`)),
    h("td", {}, when(run.started ?? run.created)),
    h("td", { class: "run-duration" }, duration(run.started, run.ended)),
  );
}

type FilterOptions = { pipelines: string[]; statuses: string[]; stacks: string[]; tags: string[] };

/** Filters as menus of the values the store holds; choosing one reloads the list. */
function filterForm(params: URLSearchParams, options: FilterOptions): HTMLFormElement {
  const menu = (name: (typeof FILTERS)[number], values: string[], any: string) => {
    const current = params.get(name) ?? "";
    const all = current && !values.includes(current) ? [...values, current] : values;
    return h("select", { name, "aria-label": name }, h("option", { value: "" }, any), ...all.map((v) => h("option", { value: v, selected: v === current }, v)));
  };
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next = new URLSearchParams();
        for (const [k, v] of new FormData(e.target as HTMLFormElement)) if (v) next.set(k, String(v));
        history.pushState(null, "", `/runs${next.size ? `?${next}` : ""}`);
        dispatchEvent(new PopStateEvent("popstate"));
      },
    },
    menu("pipeline", options.pipelines, "any pipeline"),
    menu("status", options.statuses, "any status"),
    menu("stack", options.stacks, "any stack"),
    menu("tag", options.tags, "any tag"),
  );
  form.addEventListener("change", () => form.requestSubmit());
  return form;
}

function pageLink(params: URLSearchParams, offset: number, label: string): HTMLAnchorElement {
  const next = new URLSearchParams(params);
  if (offset > 0) next.set("offset", String(offset));
  else next.delete("offset");
  return h("a", { href: `/runs${next.size ? `?${next}` : ""}`, class: "pager" }, label);
}

/** Runs, newest first, filtered and paged by the URL's query; statuses follow the event stream. */
export async function runsPage(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const query = new URLSearchParams();
  for (const key of [...FILTERS, "limit", "offset"]) {
    const value = params.get(key);
    if (value) query.set(key, value);
  }
  const [page, options] = await Promise.all([api.runs(query), api.filters()]);
  picked.splice(0);
  const compare = h("a", { class: "button compare-link disabled", href: "/compare" }, "Compare");
  const onPick = () => {
    // The last two ticked: the earlier pick on the left.
    const pair = picked.slice(-2);
    compare.classList.toggle("disabled", pair.length !== 2);
    compare.textContent = pair.length === 2 ? "Compare the two selected" : "Compare (select two)";
    compare.setAttribute("href", pair.length === 2 ? `/compare?${new URLSearchParams({ a: pair[0]!, b: pair[1]! })}` : "/compare");
  };
  onPick();
  const row = (run: RunView) => runRow(run, onPick);
  const body = h("tbody", {}, ...page.runs.map(row));
  const pager = h(
    "div",
    { class: "pagers" },
    page.offset > 0 ? pageLink(params, Math.max(0, page.offset - page.limit), "← newer") : null,
    page.hasMore ? pageLink(params, page.offset + page.limit, "older →") : null,
  );
  fill(
    root,
    h("h1", {}, "Runs"),
    h("div", { class: "toolbar" }, filterForm(params, options), compare),
    page.runs.length
      ? h(
          "table",
          { class: "runs" },
          h("thead", {}, h("tr", {}, ...["", "Run", "Pipeline", "Status", "Stack", "Tags", "Started", "Duration"].map((c) => h("th", {}, c)))),
          body,
        )
      : h("p", { class: "empty" }, "No runs match. Run a pipeline with `stackyard run`."),
    pager,
  );
  return liveEvents.subscribe({
    run: (run) => {
      const existing = body.querySelector(`tr[data-run="${CSS.escape(run.id)}"]`);
      if (existing) existing.replaceWith(row(run));
      else if (page.offset === 0 && FILTERS.every((f) => !params.get(f) || (f === "tag" ? run.tags?.includes(params.get(f)!) : params.get(f) === run[f])))
        body.prepend(row(run));
    },
  });
}
