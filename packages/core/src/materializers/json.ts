import { StackyardError } from "../errors/errors.js";
import { findNonJson } from "../pipeline/json-value.js";
import type { Materializer } from "./materializer.js";
import { jsonTable } from "./visual.js";

/** The default materializer: any JSON value, stored as `data.json`. */
export const jsonMaterializer: Materializer<unknown> = {
  name: "json",
  async save(value, writer) {
    const bad = findNonJson(value, "");
    if (bad) {
      throw new StackyardError(`the value is not JSON${bad.path ? ` at '${bad.path}'` : ""}: ${bad.reason}`, {
        hint: "Declare another materializer for this output (text, bytes, file, stream or a custom one).",
      });
    }
    await writer.write("data.json", JSON.stringify(value));
    return { dataType: value === null ? "null" : Array.isArray(value) ? "array" : typeof value };
  },
  async load(reader) {
    return JSON.parse((await reader.readFile("data.json")).toString("utf8")) as unknown;
  },
  // Rows of flat objects get a table view; other JSON is shown as JSON by its readers.
  visualize(value) {
    const table = jsonTable(value);
    return table ? [table] : [];
  },
};
