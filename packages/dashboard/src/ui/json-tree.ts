import { h } from "./dom.js";

/** Entries of an object or items of an array drawn per level; the rest are counted. */
export const TREE_ENTRIES = 100;
/** Levels open when the tree is drawn; deeper ones open on a click. */
const OPEN_LEVELS = 2;

function scalar(value: unknown): HTMLElement {
  if (value === null) return h("span", { class: "json-null" }, "null");
  if (typeof value === "string") return h("span", { class: "json-string" }, JSON.stringify(value));
  return h("span", { class: `json-${typeof value}` }, String(value));
}

function node(key: string | null, value: unknown, depth: number): HTMLElement {
  const label = key === null ? null : h("span", { class: "json-key" }, `${key}: `);
  if (value === null || typeof value !== "object") return h("div", { class: "json-row" }, label, scalar(value));
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as object);
  const count = Array.isArray(value)
    ? `[${entries.length} ${entries.length === 1 ? "item" : "items"}]`
    : `{${entries.length} ${entries.length === 1 ? "key" : "keys"}}`;
  const shown = entries.slice(0, TREE_ENTRIES).map(([k, v]) => node(k, v, depth + 1));
  const more = entries.length > TREE_ENTRIES ? h("div", { class: "json-row json-more" }, `… ${entries.length - TREE_ENTRIES} more`) : null;
  return h(
    "details",
    { class: "json-node", open: depth < OPEN_LEVELS ? "" : false, "data-size": entries.length },
    h("summary", {}, label, h("span", { class: "json-count" }, count)),
    ...shown,
    more,
  );
}

/**
 * A JSON value as a tree: objects and arrays fold (two levels open), each
 * level draws its first {@link TREE_ENTRIES} entries and counts the rest,
 * scalars are coloured by type. Built from DOM text nodes: no markup in a
 * value is ever interpreted.
 */
export function jsonTree(value: unknown): HTMLElement {
  return h("div", { class: "json-tree" }, node(null, value, 0));
}
