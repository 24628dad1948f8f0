import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { pipeline as pipe } from "node:stream/promises";
import type { BaseArtifactStore, WriteBody } from "../artifact-store/base-artifact-store.js";
import type { ArtifactRecord } from "../store/run-store.js";
import type { ArtifactReader, ArtifactWriter } from "./materializer.js";

/** A writer that also reports the size and sha256 of everything written. */
export interface HashingArtifactWriter extends ArtifactWriter {
  /** Bytes written so far. */
  readonly size: number;
  /** Hex sha256 of all bytes written, in write order. */
  digest(): string;
}

/** A store that can hand out local paths of its files (the local artifact store). */
interface LocalPaths {
  localPath(path: string): string;
}

function hasLocalPaths(store: unknown): store is LocalPaths {
  return typeof (store as Partial<LocalPaths>).localPath === "function";
}

/** A writer for the artifact folder `path` of `store`. */
export function createArtifactWriter(store: BaseArtifactStore, path: string): HashingArtifactWriter {
  const hash = createHash("sha256");
  let size = 0;
  const count = (chunk: Uint8Array): void => {
    hash.update(chunk);
    size += chunk.byteLength;
  };
  async function* tap(source: AsyncIterable<Uint8Array | string>): AsyncIterable<Uint8Array> {
    for await (const chunk of source) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      count(bytes);
      yield bytes;
    }
  }
  return {
    uri: store.uri(path),
    get size() {
      return size;
    },
    digest: () => hash.copy().digest("hex"),
    async write(name: string, body: WriteBody): Promise<void> {
      if (typeof body === "string" || body instanceof Uint8Array) {
        const bytes = typeof body === "string" ? Buffer.from(body) : body;
        count(bytes);
        await store.writeFile(`${path}/${name}`, bytes);
      } else {
        await store.writeFile(`${path}/${name}`, tap(body as AsyncIterable<Uint8Array>));
      }
    },
  };
}

/** A reader of the artifact folder `path` (or URI) of `store`. */
export function createArtifactReader(store: BaseArtifactStore, path: string, artifact?: ArtifactRecord): ArtifactReader {
  return {
    uri: store.uri(path),
    artifact,
    read: (name) => store.createReadStream(`${path}/${name}`),
    readFile: (name) => store.readFile(`${path}/${name}`),
    async localPath(name) {
      if (hasLocalPaths(store)) return store.localPath(`${path}/${name}`);
      const folder = await mkdtemp(join(tmpdir(), "stackyard-artifact-"));
      const file = join(folder, name.replaceAll("/", "_"));
      await pipe(await store.createReadStream(`${path}/${name}`), createWriteStream(file));
      return file;
    },
  };
}
