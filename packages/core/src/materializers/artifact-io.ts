import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Readable, pipeline as streamPipeline, Transform } from "node:stream";
import { pipeline as pipe } from "node:stream/promises";
import type { BaseArtifactStore, WriteBody, WriteOptions } from "../artifact-store/base-artifact-store.js";
import { StackyardError } from "../errors/errors.js";
import type { ArtifactRecord } from "../store/run-store.js";
import type { ArtifactReader, ArtifactWriter, Materializer } from "./materializer.js";

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

/** An artifact's files are new and count only once its record names them: written in place (see {@link WriteOptions}). */
const IN_PLACE: WriteOptions = { inPlace: true };

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
        await store.writeFile(`${path}/${name}`, bytes, IN_PLACE);
      } else {
        await store.writeFile(`${path}/${name}`, tap(body as AsyncIterable<Uint8Array>), IN_PLACE);
      }
    },
  };
}

/** A reader that checks what it reads against the artifact's record. */
export interface CheckedArtifactReader extends ArtifactReader {
  /**
   * Call once the materializer's `load` has returned: when it read fewer
   * bytes than recorded, checks that the artifact's files still add up to
   * the recorded size. (Bytes read are checked as they stream; a stream
   * handed to the step checks itself when it ends.)
   */
  loaded(): Promise<void>;
}

/**
 * A reader of the artifact folder `path` (or URI) of `store`. With the
 * artifact's record, every byte read goes through a sha256 hash and a
 * count, in the order read: once the recorded size has been read the hash
 * must match, and a file longer than recorded fails as soon as it is read.
 * A materializer that wrote several files must read them in the order it
 * wrote them. A mismatch is an error naming the artifact and the run and
 * step that produced it.
 */
export function createArtifactReader(store: BaseArtifactStore, path: string, artifact?: ArtifactRecord): CheckedArtifactReader {
  const check = artifact && new ReadCheck(store, path, artifact);
  const localPath = async (name: string): Promise<string> => {
    if (hasLocalPaths(store)) {
      const file = store.localPath(`${path}/${name}`);
      // The consumer reads the stored file itself: hash it once here.
      if (check?.first(name)) for await (const chunk of createReadStream(file)) check.add(chunk as Buffer);
      return file;
    }
    const folder = await mkdtemp(join(tmpdir(), "stackyard-artifact-"));
    const file = join(folder, name.replaceAll("/", "_"));
    const source = await store.createReadStream(`${path}/${name}`);
    await pipe(check?.first(name) ? check.stream(source) : source, createWriteStream(file));
    return file;
  };
  return {
    uri: store.uri(path),
    artifact,
    async read(name) {
      const source = await store.createReadStream(`${path}/${name}`);
      return check?.first(name) ? check.stream(source) : source;
    },
    async readFile(name) {
      const bytes = await store.readFile(`${path}/${name}`);
      if (check?.first(name)) check.add(bytes);
      return bytes;
    },
    localPath,
    loaded: async () => check?.settle(),
  };
}

/** The running size and sha256 of the bytes read from one artifact, against its record. */
class ReadCheck {
  private readonly hash = createHash("sha256");
  private size = 0;
  private streaming = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly store: BaseArtifactStore,
    private readonly path: string,
    private readonly artifact: ArtifactRecord,
  ) {}

  /** True the first time file `name` is read: a file read again is not counted twice. */
  first(name: string): boolean {
    if (this.seen.has(name)) return false;
    this.seen.add(name);
    return true;
  }

  /** Counts `chunk`; throws when the artifact proves longer than recorded, or its hash differs once all of it is read. */
  add(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.byteLength;
    if (this.size > this.artifact.size) throw this.damaged(`it holds more than the ${this.artifact.size} bytes recorded`);
    if (this.size === this.artifact.size) {
      const digest = this.hash.copy().digest("hex");
      if (digest !== this.artifact.sha256) {
        // Several files hash in the order read: a materializer reading them in another order than it wrote them also lands here.
        const order =
          this.seen.size > 1 ? ` (read in the order ${[...this.seen].join(", ")}; a materializer must read its files in the order it wrote them)` : "";
        throw this.damaged(`its sha256 is ${digest}, recorded ${this.artifact.sha256}${order}`);
      }
    }
  }

  /** `source`, checked as it streams; it fails at its end when the artifact proves shorter than recorded. */
  stream(source: Readable): Readable {
    this.streaming++;
    const check = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        try {
          this.add(chunk);
          done(null, chunk);
        } catch (error) {
          done(error as Error);
        }
      },
      flush: (done) => {
        this.streaming--;
        this.settle().then(() => done(), done);
      },
    });
    return streamPipeline(source, check, () => {});
  }

  /** When fewer bytes than recorded were read and no stream is still open: the files must still add up to the recorded size. */
  async settle(): Promise<void> {
    if (this.streaming > 0 || this.size >= this.artifact.size) return;
    const total = await this.sizeOf(this.path);
    if (total !== this.artifact.size) throw this.damaged(`its files hold ${total} bytes, recorded ${this.artifact.size}`);
  }

  private async sizeOf(folder: string): Promise<number> {
    let total = 0;
    for (const name of await this.store.list(folder)) {
      const info = await this.store.stat(`${folder}/${name}`);
      total += info.isDirectory ? await this.sizeOf(`${folder}/${name}`) : info.size;
    }
    return total;
  }

  private damaged(detail: string): StackyardError {
    const { output, stepId, runId, uri } = this.artifact;
    return new StackyardError(`Artifact '${output}' of step '${stepId}' in run ${runId} (${uri}) does not match its record: ${detail}`, {
      hint: `It was changed or damaged after step '${stepId}' wrote it. Run the pipeline again with the cache disabled to produce it anew.`,
    });
  }
}

/**
 * Loads an artifact with `materializer` through a checked reader. When
 * loading fails and the artifact turns out damaged (size or sha256 not as
 * recorded), the damage is what it throws, not the parse error it led to.
 */
export async function loadChecked<T>(materializer: Materializer<T>, reader: CheckedArtifactReader): Promise<T> {
  try {
    const value = await materializer.load(reader);
    await reader.loaded();
    return value;
  } catch (failure) {
    throw await reader.loaded().then(
      () => failure,
      (damaged: unknown) => damaged,
    );
  }
}
