type Child = Node | string | number | null | undefined | false;

/** Creates an element with attributes (`on*` functions become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    else el.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

/** Replaces an element's children, leaving out the absent ones (`cond ? node : null`). */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren(
    ...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))),
  );
}

const SVG = "http://www.w3.org/2000/svg";

/** Creates an SVG element with attributes. */
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Array<Node | string>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

/** A status badge; its class picks the colour (style.css). */
export function statusBadge(status: string): HTMLSpanElement {
  return h("span", { class: `status status-${status}`, "data-status": status }, status);
}

/** "1.2s" / "340ms" between two ISO times (until now when unfinished). */
export function duration(start?: string, end?: string): string {
  if (!start) return "";
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function when(iso?: string): string {
  return iso ? new Date(iso).toLocaleString() : "";
}

/** Tags as small chips, each linking to what carries it when `href` is given. */
export function tagChips(tags: readonly string[] | undefined, href?: (tag: string) => string): HTMLElement[] {
  return (tags ?? []).map((tag) =>
    href ? h("a", { class: "tag", href: href(tag), "data-tag": tag }, tag) : h("span", { class: "tag", "data-tag": tag }, tag),
  );
}
