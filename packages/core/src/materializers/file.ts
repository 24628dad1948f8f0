import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { StackyardError } from "../errors/errors.js";
import type { ArtifactWriter, Materializer } from "./materializer.js";

/** What the file and stream materializers store: a file path, a readable stream, or an async iterable of chunks. */
export type FileLike = string | URL | Readable | AsyncIterable<Uint8Array>;

async function saveStreamed(value: FileLike, writer: ArtifactWriter, materializer: string): Promise<void> {
  if (typeof value === "string" || value instanceof URL) {
    const path = typeof value === "string" ? resolve(value) : value;
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new StackyardError(`the ${materializer} materializer got the path '${String(value)}', which does not exist`);
    }
    if (!info.isFile()) throw new StackyardError(`the ${materializer} materializer stores one file, and '${String(value)}' is not a file`);
    await writer.write("data", createReadStream(path));
    return;
  }
  if (value && typeof (value as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    await writer.write("data", value as AsyncIterable<Uint8Array>);
    return;
  }
  throw new StackyardError(
    `the ${materializer} materializer stores a file path, a readable stream or an async iterable of bytes, got ${value === null ? "null" : typeof value}`,
  );
}

/**
 * Large data as a file: the step returns a path (or a stream), the bytes
 * are streamed into the store, and the consumer gets a local file path
 * (the stored file itself for the local artifact store). Nothing is held in memory.
 */
export const fileMaterializer: Materializer<FileLike> = {
  name: "file",
  async save(value, writer) {
    await saveStreamed(value, writer, "file");
    return { dataType: "file" };
  },
  async load(reader) {
    return reader.localPath("data");
  },
};

/** Like {@link fileMaterializer}, but the consumer gets a readable stream. */
export const streamMaterializer: Materializer<FileLike> = {
  name: "stream",
  async save(value, writer) {
    await saveStreamed(value, writer, "stream");
    return { dataType: "stream" };
  },
  async load(reader) {
    return reader.read("data");
  },
};
