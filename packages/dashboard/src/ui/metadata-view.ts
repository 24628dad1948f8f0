import { h } from "./dom.js";

/** Seconds as "12.5s", "3m 4s", "1h 2m". */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m < 60 ? `${m}m${s ? ` ${s}s` : ""}` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** Only web addresses become links; any other scheme (s3://, javascript:) stays text. */
function safeHref(value: string): string | undefined {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** One metadata value: typed values as a link, a path, a duration or a dtype; other JSON as text. */
export function metadataValue(value: unknown): HTMLElement {
  if (value && typeof value === "object" && !Array.isArray(value) && typeof (value as { $type?: unknown }).$type === "string") {
    const typed = value as { $type: string; value?: unknown; seconds?: unknown };
    if (typed.$type === "uri" && typeof typed.value === "string") {
      const href = safeHref(typed.value);
      return href
        ? h("a", { class: "meta-uri", href, target: "_blank", rel: "noopener noreferrer" }, typed.value)
        : h("code", { class: "meta-uri" }, typed.value);
    }
    if (typed.$type === "path" && typeof typed.value === "string") return h("code", { class: "meta-path" }, typed.value);
    if (typed.$type === "duration" && typeof typed.seconds === "number") return h("span", { class: "meta-duration" }, formatSeconds(typed.seconds));
    if (typed.$type === "dtype" && typeof typed.value === "string") return h("code", { class: "meta-dtype" }, typed.value);
  }
  if (typeof value === "string") return h("span", {}, value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return h("span", { class: "mono" }, String(value));
  return h("pre", { class: "json meta-json" }, JSON.stringify(value, null, 2));
}

/** Metadata as a key/value table; null when there is none. */
export function metadataTable(record: Record<string, unknown> | undefined, label = "metadata"): HTMLElement | null {
  const entries = Object.entries(record ?? {});
  if (!entries.length) return null;
  return h(
    "table",
    { class: "metadata", "aria-label": label },
    h("tbody", {}, ...entries.map(([key, value]) => h("tr", { "data-key": key }, h("th", {}, key), h("td", {}, metadataValue(value))))),
  );
}
