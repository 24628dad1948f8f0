import { api, type VersionDetail } from "../api-client.js";
import { fill, h, statusBadge, tagChips, when } from "../dom.js";
import { lineageView } from "../lineage-view.js";
import { metadataTable } from "../metadata-view.js";
import { visualization } from "../visualization-view.js";
import { formatSize, versionLink } from "./run-page.js";

const artifactHref = (name: string) => `/artifacts/${encodeURIComponent(name)}`;
const tagHref = (tag: string) => `/artifacts?${new URLSearchParams({ tag })}`;

/** Every artifact name: versions, the newest, its tags; filtered by name text and tag. */
export async function artifactsPage(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const query = new URLSearchParams();
  for (const key of ["name", "tag"]) if (params.get(key)) query.set(key, params.get(key)!);
  const { artifacts } = await api.artifacts(query);
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const next = new URLSearchParams();
        for (const [k, v] of new FormData(e.target as HTMLFormElement)) if (v) next.set(k, String(v));
        history.pushState(null, "", `/artifacts${next.size ? `?${next}` : ""}`);
        dispatchEvent(new PopStateEvent("popstate"));
      },
    },
    h("input", { type: "search", name: "name", placeholder: "name contains…", "aria-label": "name", value: params.get("name") ?? "" }),
    h("input", { type: "search", name: "tag", placeholder: "tag", "aria-label": "tag", value: params.get("tag") ?? "" }),
    h("button", { type: "submit" }, "Filter"),
  );
  fill(
    root,
    h("h1", {}, "Artifacts"),
    h("div", { class: "toolbar" }, form),
    artifacts.length
      ? h(
          "table",
          { class: "artifacts" },
          h("thead", {}, h("tr", {}, ...["Name", "Versions", "Newest", "Type", "Created", "Tags"].map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...artifacts.map((a) =>
              h(
                "tr",
                { "data-artifact": a.name },
                h("td", {}, h("a", { href: artifactHref(a.name) }, a.name)),
                h("td", {}, String(a.versions)),
                h("td", {}, versionLink(a.latest)),
                h("td", {}, a.latest.dataType),
                h("td", {}, when(a.latest.created)),
                h("td", {}, ...tagChips(a.latest.tags, tagHref)),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, query.size ? "No artifact matches." : "No artifacts yet. Run a pipeline with `stackyard run`."),
  );
  return () => {};
}

/** One artifact name: its versions, newest first, with tags, metadata and what made them. */
export async function artifactPage(root: HTMLElement, name: string): Promise<() => void> {
  const { versions } = await api.artifact(name);
  fill(
    root,
    h("h1", {}, name),
    h("p", { class: "sub" }, `${versions.length} version${versions.length === 1 ? "" : "s"}, newest first. `, h("a", { href: "/artifacts" }, "All artifacts")),
    h(
      "table",
      { class: "versions" },
      h("thead", {}, h("tr", {}, ...["Version", "Tags", "Metadata", "Run", "Step", "Size", "Created"].map((c) => h("th", {}, c)))),
      h(
        "tbody",
        {},
        ...versions.map((v) =>
          h(
            "tr",
            { "data-version": String(v.version) },
            h("td", {}, versionLink(v)),
            h("td", {}, ...tagChips(v.tags, tagHref)),
            h("td", {}, metadataTable(v.metadata, `metadata of version ${v.version}`)),
            h("td", {}, v.run ? h("a", { href: `/runs/${encodeURIComponent(v.run.id)}` }, v.run.name) : v.runId.slice(0, 8)),
            h("td", {}, h("a", { href: `/runs/${encodeURIComponent(v.runId)}?step=${encodeURIComponent(v.stepId)}` }, v.stepId)),
            h("td", {}, formatSize(v.size)),
            h("td", {}, when(v.created)),
          ),
        ),
      ),
    ),
  );
  return () => {};
}

function details(rows: Array<[string, Node | string | null | undefined]>): HTMLDListElement {
  return h(
    "dl",
    { class: "details" },
    ...rows.filter(([, v]) => v !== undefined && v !== null && v !== "").flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v!)]),
  );
}

/** One version: metadata, tags, size and digest, producer, consumers, lineage graph and visualizations. */
export async function versionPage(root: HTMLElement, name: string, version: string): Promise<() => void> {
  const detail: VersionDetail = await api.version(name, version);
  const { artifact: a, producer, consumers } = detail;
  const runLink = (run: { id: string; name: string } | null, fallback: string) =>
    run ? h("a", { href: `/runs/${encodeURIComponent(run.id)}` }, run.name) : fallback;
  fill(
    root,
    h("h1", {}, `${name}:${a.version}`, " ", ...tagChips(a.tags, tagHref)),
    h("p", { class: "sub" }, h("a", { href: artifactHref(name) }, `All versions of ${name}`)),
    details([
      [
        "made by",
        h(
          "span",
          {},
          "step ",
          h("a", { href: `/runs/${encodeURIComponent(a.runId)}?step=${encodeURIComponent(a.stepId)}`, class: "producer-step" }, a.stepId),
          " of run ",
          runLink(producer.run, a.runId.slice(0, 8)),
        ),
      ],
      ["output", a.output],
      ["materializer", a.materializer],
      ["type", a.dataType],
      ["size", formatSize(a.size)],
      ["sha256", h("span", { class: "mono sha256" }, a.sha256)],
      ["created", when(a.created)],
    ]),
    h("h2", {}, "Metadata"),
    metadataTable(a.metadata, "artifact metadata") ?? h("p", { class: "empty" }, "No metadata logged."),
    h("h2", {}, "Lineage"),
    h("section", { class: "dag-box lineage-box" }, lineageView(detail.lineage)),
    h("h3", {}, "Made from"),
    producer.inputs.length
      ? h("ul", { class: "producer-inputs" }, ...producer.inputs.map((i) => h("li", { "data-input": i.input }, `${i.input}: `, versionLink(i))))
      : h("p", { class: "empty" }, "The step read no other versions."),
    ...(producer.collected ?? []).map((c) => h("p", { class: "note collected-note" }, `${c.input}: ${c.items} items collected; the first few are listed.`)),
    h("h3", {}, "Read by"),
    consumers.length
      ? h(
          "table",
          { class: "consumers" },
          h("thead", {}, h("tr", {}, ...["Run", "Step", "Status", "Made"].map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...consumers.map((c) =>
              h(
                "tr",
                { "data-consumer": `${c.run.name}/${c.stepId}` },
                h("td", {}, runLink(c.run, c.run.id)),
                h("td", {}, h("a", { href: `/runs/${encodeURIComponent(c.run.id)}?step=${encodeURIComponent(c.stepId)}` }, c.stepId)),
                h("td", {}, statusBadge(c.status)),
                h("td", {}, ...c.outputs.flatMap((o, i) => [i ? ", " : "", versionLink(o)])),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, "No step has read this version yet."),
    h("h2", {}, "Visualizations"),
    a.visualizations.length
      ? h("div", { class: "visualizations" }, ...a.visualizations.map((v) => visualization(name, a.version!, v)))
      : h("p", { class: "empty" }, "This version has no visualizations."),
  );
  return () => {};
}
