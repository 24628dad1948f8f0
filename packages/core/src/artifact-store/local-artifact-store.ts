import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cp, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline as pipe } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { ComponentInit } from "../component/stack-component.js";
import { ConfigError, ConflictError, NotFoundError } from "../errors/errors.js";
import { type ArtifactStat, BaseArtifactStore, type WriteBody, type WriteOptions } from "./base-artifact-store.js";

let tempCounter = Math.floor(Math.random() * 0x7fffffff);

/** Files up to this size are read and written synchronously. */
const SMALL_FILE = 256 * 1024;

/** Config of the local artifact store: a folder (relative paths are relative to the source root). */
export interface LocalArtifactStoreConfig {
  path: string;
}

/**
 * Artifacts as files under a local folder. Writes are atomic (a temporary
 * file in the same folder, then a rename), except an artifact's new files,
 * which are written in place and count once the artifact's record names them
 * (see {@link WriteOptions.inPlace}); every path is confined to the root
 * (also through symbolic links inside it), and reads and writes stream.
 */
export class LocalArtifactStore extends BaseArtifactStore<LocalArtifactStoreConfig> {
  readonly scheme = "file";
  // Folders known to exist: saves a mkdir per write on the hot path.
  private readonly madeDirs = new Set<string>();
  // The root with symbolic links resolved, once it exists.
  private realRoot: string | undefined;

  constructor(init: ComponentInit<LocalArtifactStoreConfig>) {
    const raw = init.config.path.startsWith("file://") ? fileURLToPath(init.config.path) : init.config.path;
    const root = isAbsolute(raw) ? resolve(raw) : resolve(init.sourceRoot, raw);
    super({ ...init, config: { ...init.config, path: root } });
  }

  override keyOf(path: string): string {
    return super.keyOf(path.startsWith("file://") ? fileURLToPath(path) : sep === "\\" ? path.replaceAll("\\", "/") : path);
  }

  /** The absolute local file path of `path` (confined to the root). */
  localPath(path: string): string {
    return this.fileOf(this.keyOf(path));
  }

  private fileOf(key: string): string {
    return key ? this.confined(join(this.config.path, ...key.split("/")), key) : this.config.path;
  }

  /**
   * `file`, once its nearest existing ancestor (or itself) is known to
   * resolve inside the root: a symbolic link in the root that points
   * elsewhere must not carry a read or a write out of it.
   */
  private confined(file: string, key: string): string {
    const root = this.resolvedRoot();
    for (let current = file; current !== this.config.path; ) {
      // A path that is not there (not even as a dangling link) cannot lead out: look at its parent
      // without resolving it (realpath would read every folder of the path to find that out).
      if (!lstatSync(current, { throwIfNoEntry: false })) {
        const parent = dirname(current);
        if (parent === current) break;
        current = parent;
        continue;
      }
      let real: string;
      try {
        real = realpathSync.native(current);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
        const parent = dirname(current);
        if (parent === current) break;
        current = parent;
        continue;
      }
      if (real === root || real.startsWith(root + sep)) break;
      throw new ConfigError(`Path '${key}' leads out of artifact store '${this.name}' (root ${this.config.path}): ${current} is a link to ${real}`, {
        hint: "Artifact stores never follow links out of their root; remove the link or copy the data into the store.",
      });
    }
    return file;
  }

  private resolvedRoot(): string {
    if (this.realRoot) return this.realRoot;
    try {
      this.realRoot = realpathSync.native(this.config.path);
      return this.realRoot;
    } catch {
      return this.config.path; // not made yet: nothing under it exists either
    }
  }

  /**
   * Makes `dir` and its missing ancestors, from the nearest one known to
   * exist down: one mkdir per new folder (a recursive mkdir would try the
   * deepest first and fail).
   */
  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    const missing: string[] = [];
    let known = dir;
    for (; known.length > this.config.path.length && !this.madeDirs.has(known); known = dirname(known)) missing.push(known);
    if (!this.madeDirs.has(known)) {
      mkdirSync(known, { recursive: true });
      this.madeDirs.add(known);
    }
    for (const folder of missing.reverse()) {
      try {
        mkdirSync(folder);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      this.madeDirs.add(folder);
    }
  }

  /**
   * Writes a new file in place (see {@link WriteOptions.inPlace}): false,
   * having written nothing, when a file is there already.
   */
  private writeNew(file: string, body: string | Uint8Array): boolean {
    let fd: number;
    try {
      fd = openSync(file, "wx");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
    try {
      writeFileSync(fd, body);
    } catch (error) {
      closeSync(fd);
      rmSync(file, { force: true });
      throw error;
    }
    closeSync(fd);
    return true;
  }

  /**
   * Reads a whole file. Small files are read synchronously: a few
   * microseconds instead of four thread-pool round trips, which is most of
   * the engine's per-step cost.
   */
  override async readFile(path: string): Promise<Buffer> {
    const file = this.localPath(path);
    let size: number;
    try {
      size = statSync(file).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw this.notFound(this.keyOf(path));
      throw error;
    }
    return size <= SMALL_FILE ? readFileSync(file) : super.readFile(path);
  }

  private notFound(key: string): NotFoundError {
    return new NotFoundError(`No artifact at '${key}' in artifact store '${this.name}' (root ${this.config.path})`);
  }

  protected async readKey(key: string): Promise<Readable> {
    const file = this.fileOf(key);
    const stream = createReadStream(file);
    // Surface a missing file as NotFoundError now, not as a stream error later.
    await new Promise<void>((ok, fail) => {
      stream.once("open", () => ok());
      stream.once("error", (error: NodeJS.ErrnoException) => fail(error.code === "ENOENT" || error.code === "EISDIR" ? this.notFound(key) : error));
    });
    return stream;
  }

  protected async writeKey(key: string, body: WriteBody, options?: WriteOptions): Promise<void> {
    if (!key) throw new ConflictError(`Cannot write to the root of artifact store '${this.name}'`);
    const file = this.fileOf(key);
    await this.ensureDir(dirname(file));
    const temp = `${file}.tmp-${process.pid}-${(tempCounter++).toString(16).padStart(8, "0")}`;
    const small = (typeof body === "string" && body.length <= SMALL_FILE / 4) || (body instanceof Uint8Array && body.byteLength <= SMALL_FILE);
    if (small) {
      // Small writes synchronously (see readFile): in place when allowed and new, else a temp file and a rename.
      try {
        if (options?.inPlace && this.writeNew(file, body as string | Uint8Array)) return;
        writeFileSync(temp, body);
      } catch (error) {
        // A folder removed by another process under our cache of made folders: make it again once.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        this.madeDirs.clear();
        await this.ensureDir(dirname(file));
        if (options?.inPlace && this.writeNew(file, body as string | Uint8Array)) return;
        writeFileSync(temp, body);
      }
      try {
        renameSync(temp, file);
      } catch (error) {
        rmSync(temp, { force: true });
        throw error;
      }
      return;
    }
    try {
      if (typeof body === "string" || body instanceof Uint8Array) {
        await writeFile(temp, body);
      } else {
        await pipe(body as AsyncIterable<Uint8Array>, createWriteStream(temp));
      }
      await rename(temp, file);
    } catch (error) {
      rmSync(temp, { force: true });
      if ((error as NodeJS.ErrnoException).code === "ENOENT") this.madeDirs.clear();
      throw error;
    }
  }

  protected async existsKey(key: string): Promise<boolean> {
    return existsSync(this.fileOf(key));
  }

  protected async listKey(key: string): Promise<string[]> {
    try {
      return (await readdir(this.fileOf(key))).filter((name) => !/\.tmp-\d+-[0-9a-f]{8}$/.test(name)).sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return [];
      if (code === "ENOTDIR") throw new ConflictError(`'${key}' in artifact store '${this.name}' is a file, not a folder`);
      throw error;
    }
  }

  protected async statKey(key: string): Promise<ArtifactStat> {
    try {
      const info = await stat(this.fileOf(key));
      return { size: info.size, isDirectory: info.isDirectory(), modified: info.mtime };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw this.notFound(key);
      throw error;
    }
  }

  protected async mkdirsKey(key: string): Promise<void> {
    await this.ensureDir(this.fileOf(key));
  }

  protected async removeKey(key: string): Promise<void> {
    try {
      await unlink(this.fileOf(key));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw this.notFound(key);
      if (code === "EISDIR" || code === "EPERM") throw new ConflictError(`'${key}' in artifact store '${this.name}' is a folder: remove it with rmtree`);
      throw error;
    }
  }

  protected async rmtreeKey(key: string): Promise<void> {
    await rm(this.fileOf(key), { recursive: true, force: true });
    const prefix = this.fileOf(key);
    for (const dir of this.madeDirs) if (dir === prefix || dir.startsWith(prefix + sep)) this.madeDirs.delete(dir);
  }

  protected async copyKey(from: string, to: string, overwrite: boolean): Promise<void> {
    const source = await this.statKey(from);
    if (!overwrite && (await this.existsKey(to))) throw this.alreadyExists(to);
    if (source.isDirectory) {
      await cp(this.fileOf(from), this.fileOf(to), { recursive: true, force: overwrite });
      return;
    }
    await this.writeKey(to, createReadStream(this.fileOf(from)));
  }

  protected async renameKey(from: string, to: string, overwrite: boolean): Promise<void> {
    await this.statKey(from);
    if (!overwrite && (await this.existsKey(to))) throw this.alreadyExists(to);
    const target = this.fileOf(to);
    await this.ensureDir(dirname(target));
    await rename(this.fileOf(from), target);
  }

  private alreadyExists(key: string): ConflictError {
    return new ConflictError(`'${key}' already exists in artifact store '${this.name}'`, { hint: "Pass { overwrite: true } to replace it." });
  }
}
