import { api, type VisualizationView } from "./api-client.js";
import { fill, h } from "./dom.js";
import { jsonTree } from "./json-tree.js";

/** One visualization, drawn by type: images and HTML from the sandboxed file route, the rest from its JSON. */
export function visualization(name: string, version: number, view: { index: number; type: string; title: string | null }): HTMLElement {
  const raw = `/api/artifacts/${encodeURIComponent(name)}/${version}/visualizations/${view.index}/raw`;
  const body = h("div", { class: "visualization-body" });
  const box = h(
    "section",
    { class: "visualization", "data-type": view.type, "data-index": String(view.index) },
    h("h3", {}, view.title ?? `${view.type} view`),
    body,
  );
  if (view.type === "svg" || view.type === "png") {
    fill(body, h("img", { src: raw, alt: view.title ?? `${view.type} visualization of ${name}:${version}` }));
    return box;
  }
  if (view.type === "html") {
    // An empty sandbox: no scripts, no forms, its own origin; the file route also answers with CSP sandbox.
    fill(body, h("iframe", { src: raw, sandbox: "", referrerpolicy: "no-referrer", title: view.title ?? "HTML visualization" }));
    return box;
  }
  fill(body, h("p", { class: "note" }, "loading…"));
  api
    .visualization(name, version, view.index)
    .then((v: VisualizationView) => {
      if (!v.available) return fill(body, h("p", { class: "note" }, v.text ?? "unavailable"));
      if (v.type === "csv") {
        return fill(
          body,
          h(
            "table",
            { class: "csv" },
            h("thead", {}, h("tr", {}, ...(v.header ?? []).map((c) => h("th", {}, c)))),
            h("tbody", {}, ...(v.rows ?? []).map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
          ),
          v.truncated ? h("p", { class: "note" }, `The first ${v.limit} rows.`) : null,
        );
      }
      if (v.type === "markdown") return fill(body, renderMarkdown(v.text ?? ""), v.truncated ? h("p", { class: "note" }, "Truncated.") : null);
      const tree = v.type === "json" && !v.truncated ? parsedTree(v.text ?? "") : null;
      fill(
        body,
        tree ?? h("pre", { class: v.type === "json" ? "json" : "preview" }, v.text ?? ""),
        v.truncated ? h("p", { class: "note" }, "Truncated.") : null,
      );
    })
    .catch((e: Error) => fill(body, h("p", { class: "error" }, e.message)));
  return box;
}

/** A JSON visualization's text as a tree when it parses to an object or array; null otherwise (it shows as text). */
function parsedTree(text: string): HTMLElement | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === "object" ? jsonTree(value) : null;
  } catch {
    return null;
  }
}

/** A tiny Markdown renderer building DOM nodes from text: headings, lists, code blocks, paragraphs, `code` and **bold**. No HTML passes through. */
export function renderMarkdown(text: string): HTMLElement {
  const box = h("div", { class: "markdown" });
  const inline = (line: string): Array<Node | string> =>
    line.split(/(`[^`]+`|\*\*[^*]+\*\*)/).map((part) => {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 2) return h("code", {}, part.slice(1, -1));
      if (part.startsWith("**") && part.endsWith("**") && part.length > 4) return h("strong", {}, part.slice(2, -2));
      return part;
    });
  const lines = text.replaceAll("\r\n", "\n").split("\n");
  let list: HTMLElement | null = null;
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length) box.append(h("p", {}, ...inline(paragraph.join(" "))));
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("```")) {
      flush();
      list = null;
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith("```"); i++) code.push(lines[i]!);
      box.append(h("pre", {}, code.join("\n")));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*(?:[-*]|\d+\.)\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      list = null;
      box.append(h(`h${Math.min(6, heading[1]!.length + 2)}` as "h3", {}, ...inline(heading[2]!)));
    } else if (item) {
      flush();
      if (!list) box.append((list = h("ul", {})));
      list.append(h("li", {}, ...inline(item[1]!)));
    } else if (!line.trim()) {
      flush();
      list = null;
    } else {
      list = null;
      paragraph.push(line.trim());
    }
  }
  flush();
  return box;
}
