import { StackyardError } from "../errors/errors.js";
import type { Materializer } from "./materializer.js";

/** Bytes (a `Uint8Array` or `Buffer`), stored as they are in `data.bin`; loaded as a `Buffer`. */
export const bytesMaterializer: Materializer<Uint8Array> = {
  name: "bytes",
  async save(value, writer) {
    if (!(value instanceof Uint8Array)) {
      throw new StackyardError(`the bytes materializer stores a Uint8Array or Buffer, got ${value === null ? "null" : typeof value}`);
    }
    await writer.write("data.bin", value);
    return { dataType: "bytes" };
  },
  async load(reader) {
    return reader.readFile("data.bin");
  },
};
