import { StackyardError } from "../errors/errors.js";
import type { VisualizationType } from "../store/run-store.js";
import type { Materializer, Visualization } from "./materializer.js";

/** A materializer for text in a format people look at: stored as one file, shown as itself. */
function visualText(name: string, type: VisualizationType, file: string, dataType: string): Materializer<string> {
  return {
    name,
    async save(value, writer) {
      if (typeof value !== "string") throw new StackyardError(`the ${name} materializer stores ${dataType} as a string, got ${typeof value}`);
      await writer.write(file, value);
      return { dataType };
    },
    async load(reader) {
      return (await reader.readFile(file)).toString("utf8");
    },
    visualize: () => [{ type, file }],
  };
}

/** An SVG image (a chart, a confusion matrix), stored as `image.svg` and shown as an image. */
export const svgMaterializer: Materializer<string> = visualText("svg", "svg", "image.svg", "svg");
/** A Markdown report, stored as `report.md` and shown rendered. */
export const markdownMaterializer: Materializer<string> = visualText("markdown", "markdown", "report.md", "markdown");
/** An HTML page, stored as `page.html` and shown in a sandboxed frame. */
export const htmlMaterializer: Materializer<string> = visualText("html", "html", "page.html", "html");
/** A CSV table, stored as `data.csv` and shown as a table. */
export const csvMaterializer: Materializer<string> = visualText("csv", "csv", "data.csv", "csv");

/** Rows shown as a table at most. */
const TABLE_ROWS = 10_000;

/**
 * A table view of JSON that is an array of flat objects (rows of a data
 * frame): CSV with a header of every key seen. Undefined for other values.
 */
export function jsonTable(value: unknown): Visualization | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const columns: string[] = [];
  for (const row of value.slice(0, TABLE_ROWS)) {
    if (typeof row !== "object" || row === null || Array.isArray(row)) return undefined;
    for (const [key, cell] of Object.entries(row)) {
      if (cell !== null && typeof cell === "object") return undefined;
      if (!columns.includes(key)) columns.push(key);
    }
  }
  const quote = (cell: unknown) => {
    const text = cell === undefined || cell === null ? "" : String(cell);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [columns.map(quote).join(",")];
  for (const row of value.slice(0, TABLE_ROWS)) lines.push(columns.map((c) => quote((row as Record<string, unknown>)[c])).join(","));
  const more = value.length > TABLE_ROWS ? ` (first ${TABLE_ROWS} of ${value.length} rows)` : ` (${value.length} rows)`;
  return { type: "csv", title: `table${more}`, content: `${lines.join("\n")}\n` };
}
