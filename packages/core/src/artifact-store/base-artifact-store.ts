import { posix } from "node:path";
import type { Readable } from "node:stream";
import { z } from "zod";
import { StackComponent } from "../component/stack-component.js";
import { ConfigError, ConflictError } from "../errors/errors.js";

/** Config every artifact store has: its root. */
export const baseArtifactStoreConfigSchema = z.object({
  /** Root URI or folder, e.g. `s3://bucket/prefix` or `/data/artifacts`. */
  path: z.string().min(1),
});

/** What `stat` reports. */
export interface ArtifactStat {
  size: number;
  isDirectory: boolean;
  modified?: Date | undefined;
}

/** A file found by {@link BaseArtifactStore.listFiles}. */
export interface ArtifactFileEntry {
  /** Its path relative to the folder listed, `/`-separated. */
  path: string;
  size: number;
  modified?: Date | undefined;
  /**
   * A tag that changes whenever the file's content does, where the store
   * has one (an S3 ETag); compare `size` and `modified` otherwise.
   */
  etag?: string | undefined;
}

/**
 * What a step process elsewhere (a docker step's container) needs, besides
 * the store's config without its secret fields, to reach the store as the
 * client does: see {@link BaseArtifactStore.stepAccess}.
 */
export interface ArtifactStoreStepAccess {
  /**
   * Environment variables holding credentials (`AWS_ACCESS_KEY_ID`, ...):
   * secrets, passed only where the step process starts, never stored,
   * printed or put into snapshots, images or definitions.
   */
  environment?: Record<string, string>;
  /** Values added to the config the step process gets (a region or endpoint a connector gave); never secrets. */
  config?: Record<string, unknown>;
}

/** Bytes to write: a buffer, a string (UTF-8), or a stream of chunks. */
export type WriteBody = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

/** Options of {@link BaseArtifactStore.writeFile}. */
export interface WriteOptions {
  /**
   * The file is one of an artifact's files: its name is new, and it counts
   * only once the artifact's record, written after it, names it (with its
   * size and sha256). A store may then write it in place, where a reader
   * could see it part-written, instead of through a temporary file and a
   * rename. A file already there is still replaced atomically.
   */
  inPlace?: boolean;
}

/**
 * Base class of artifact stores.
 *
 * Public methods take a path relative to the store's root, or a full URI
 * under the root (`s3://bucket/prefix/runs/1/model`). Every path is
 * normalised and confined to the root: `..` that would escape it, or a URI
 * outside it, is an error. Implementations work on *keys*: normalised,
 * `/`-separated paths relative to the root, never starting with `/`.
 */
export abstract class BaseArtifactStore<C extends { path: string } = { path: string }> extends StackComponent<C> {
  readonly type = "artifact_store" as const;

  /** The URI scheme this store serves, e.g. `file` or `s3`. */
  abstract readonly scheme: string;

  /** The root, as configured. */
  get path(): string {
    return this.config.path;
  }

  /** The root as a URI prefix without a trailing slash. */
  protected get rootUri(): string {
    return this.config.path.replace(/\/+$/, "");
  }

  /** The full URI of a key. */
  uri(path: string): string {
    const key = this.keyOf(path);
    return key ? `${this.rootUri}/${key}` : this.rootUri;
  }

  /** Normalises `path` to a key under the root, or throws. */
  keyOf(path: string): string {
    let relative = path;
    const root = this.rootUri;
    if (path === root) return "";
    if (path.startsWith(root + "/")) relative = path.slice(root.length + 1);
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || path.startsWith("/")) {
      throw new ConfigError(`Path '${path}' is outside artifact store '${this.name}' (root ${root})`);
    }
    const normalised = posix.normalize(relative.replaceAll("\\", "/"));
    if (normalised === "." || normalised === "./") return "";
    if (normalised.startsWith("../") || normalised === ".." || normalised.startsWith("/")) {
      throw new ConfigError(`Path '${path}' escapes artifact store '${this.name}' (root ${root})`);
    }
    return normalised.replace(/\/+$/, "");
  }

  /**
   * What a step process started by this client elsewhere (a docker step's
   * container) needs to reach this store with the credentials the client
   * uses, when the config without its secret fields is not enough: the
   * credentials from the secret fields or the connector, as environment
   * variables the store's flavor reads when it has no secret fields of its
   * own. Resolved when a run starts, so temporary credentials from a
   * connector are fresh. Stores that need no credentials leave it out.
   */
  stepAccess?(): Promise<ArtifactStoreStepAccess>;

  /** Opens a stream of the bytes at `path`. */
  async createReadStream(path: string): Promise<Readable> {
    return this.readKey(this.keyOf(path));
  }

  /** Reads a whole file into memory; use streams for large data. */
  async readFile(path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.createReadStream(path)) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }

  /**
   * Writes `body` to `path` atomically: readers see the old content or the
   * new, never a part (unless `options.inPlace` says a part cannot be mistaken
   * for the file).
   */
  async writeFile(path: string, body: WriteBody, options?: WriteOptions): Promise<void> {
    return this.writeKey(this.keyOf(path), body, options);
  }

  /** Whether a file or folder exists at `path`. */
  async exists(path: string): Promise<boolean> {
    return this.existsKey(this.keyOf(path));
  }

  /** Names (not paths) of the entries directly under `path`, sorted. */
  async list(path: string): Promise<string[]> {
    return this.listKey(this.keyOf(path));
  }

  /**
   * Every file under the folder `path`, at any depth, sorted by path (none
   * when there is no such folder). Object stores answer with one listing
   * request per page of keys (1,000 on S3) instead of a request per folder,
   * so a caller can see which of many files exist, or changed, without
   * reading them.
   */
  async listFiles(path: string): Promise<ArtifactFileEntry[]> {
    return this.listFilesKey(this.keyOf(path));
  }

  /** Size, kind and modification time of what is at `path`. */
  async stat(path: string): Promise<ArtifactStat> {
    return this.statKey(this.keyOf(path));
  }

  /** Creates the folder `path` and its parents; a no-op where folders are implicit (object stores). */
  async mkdirs(path: string): Promise<void> {
    return this.mkdirsKey(this.keyOf(path));
  }

  /** Removes one file. */
  async remove(path: string): Promise<void> {
    return this.removeKey(this.notRoot(path, "remove"));
  }

  /** Removes a folder and everything under it. The root itself is never removed. */
  async rmtree(path: string): Promise<void> {
    return this.rmtreeKey(this.notRoot(path, "remove"));
  }

  /** Copies a file; `to` may not be the root, and an existing `to` is replaced only with `overwrite`. */
  async copy(from: string, to: string, options?: { overwrite?: boolean }): Promise<void> {
    return this.copyKey(this.keyOf(from), this.notRoot(to, "replace"), options?.overwrite ?? false);
  }

  /** Moves a file or folder; neither may be the root. */
  async rename(from: string, to: string, options?: { overwrite?: boolean }): Promise<void> {
    return this.renameKey(this.notRoot(from, "move"), this.notRoot(to, "replace"), options?.overwrite ?? false);
  }

  /**
   * The key of `path`, which must not be the root: removing, moving or
   * replacing the root would take every run's artifacts and every snapshot
   * with it while the store still lists them.
   */
  protected notRoot(path: string, action: string): string {
    const key = this.keyOf(path);
    if (!key) {
      throw new ConflictError(`Cannot ${action} the root of artifact store '${this.name}' (${this.rootUri}): '${path}' is the root`, {
        hint: "Name a folder under the root, e.g. runs/<run id>.",
      });
    }
    return key;
  }

  // What a flavor implements. Every key is relative to the store's root ("" is the root), with `/` separators and no `..`.

  /** Opens the file at `key` for reading; rejects with a `NotFoundError` when there is none. */
  protected abstract readKey(key: string): Promise<Readable>;
  /**
   * Writes the file at `key` atomically (readers see the old content or the
   * new), creating parent folders. With `options.inPlace` (see
   * {@link WriteOptions}) it may write a new file in place.
   */
  protected abstract writeKey(key: string, body: WriteBody, options?: WriteOptions): Promise<void>;
  /** Whether a file or folder exists at `key`. */
  protected abstract existsKey(key: string): Promise<boolean>;
  /** Names of the entries directly under the folder `key`, sorted. */
  protected abstract listKey(key: string): Promise<string[]>;
  /**
   * Every file under the folder `key` with its path relative to it, sorted.
   * By default a walk of {@link listKey} and {@link statKey}; object stores
   * override it with a flat listing.
   */
  protected async listFilesKey(key: string): Promise<ArtifactFileEntry[]> {
    const files: ArtifactFileEntry[] = [];
    const walk = async (folder: string, relative: string): Promise<void> => {
      for (const name of await this.listKey(folder)) {
        const child = folder ? `${folder}/${name}` : name;
        const path = relative ? `${relative}/${name}` : name;
        const info = await this.statKey(child).catch(() => undefined);
        // Gone since it was listed: not there.
        if (!info) continue;
        if (info.isDirectory) await walk(child, path);
        else files.push({ path, size: info.size, modified: info.modified });
      }
    };
    if (key && !(await this.existsKey(key))) return [];
    await walk(key, "");
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  /** Size, kind and modification time of what is at `key`. */
  protected abstract statKey(key: string): Promise<ArtifactStat>;
  /** Creates the folder `key` and its parents (a no-op for stores without folders). */
  protected abstract mkdirsKey(key: string): Promise<void>;
  /** Removes the file at `key` (never the root: the base class checks). */
  protected abstract removeKey(key: string): Promise<void>;
  /** Removes the folder `key` and everything under it (never the root). */
  protected abstract rmtreeKey(key: string): Promise<void>;
  /** Copies the file `from` to `to`; an existing `to` is replaced only when `overwrite`. */
  protected abstract copyKey(from: string, to: string, overwrite: boolean): Promise<void>;
  /** Moves the file or folder `from` to `to`; an existing `to` is replaced only when `overwrite`. */
  protected abstract renameKey(from: string, to: string, overwrite: boolean): Promise<void>;
}
