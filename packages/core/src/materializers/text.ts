import { StackyardError } from "../errors/errors.js";
import type { Materializer } from "./materializer.js";

/** A string, stored as UTF-8 in `data.txt`. */
export const textMaterializer: Materializer<string> = {
  name: "text",
  async save(value, writer) {
    if (typeof value !== "string") throw new StackyardError(`the text materializer stores strings, got ${typeof value}`);
    await writer.write("data.txt", value);
    return { dataType: "string" };
  },
  async load(reader) {
    return (await reader.readFile("data.txt")).toString("utf8");
  },
};
