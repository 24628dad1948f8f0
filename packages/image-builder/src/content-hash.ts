import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { StackyardError } from "@stackyard/core";
import { type ContextEntry, hashFile } from "./context.js";

/** Folder of the per-context file hash caches: `$XDG_CACHE_HOME/stackyard/image-builder` (or `~/.cache/...`). */
export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "stackyard", "image-builder");
}

type CacheRow = [size: number, mtimeMs: number, ctimeMs: number, ino: number, sha256: string];

/** What {@link hashContextFiles} and {@link contextDigest} read. */
export interface ContextHashInput {
  contextRoot: string;
  entries: readonly ContextEntry[];
  cacheDir?: string | undefined;
}

/** What {@link hashContextFiles} found. */
export interface ContextHashes {
  /** Content sha256 of every file entry, by path. */
  shas: Map<string, string>;
  /** How many files were read (not found unchanged in the cache). */
  filesRead: number;
  /** How many bytes those files held. */
  bytesRead: number;
}

function readCache(cacheFile: string): Record<string, CacheRow> {
  try {
    return JSON.parse(readFileSync(cacheFile, "utf8")) as Record<string, CacheRow>;
  } catch {
    return {}; // no cache yet, or unreadable: hash everything
  }
}

const unchanged = (row: CacheRow | undefined, stat: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): row is CacheRow =>
  !!row && row[0] === stat.size && row[1] === stat.mtimeMs && row[2] === stat.ctimeMs && row[3] === stat.ino;

/**
 * The content sha256 of every file entry, by path.
 *
 * Fast path: a file whose size, mtime, ctime and inode match the cache row
 * from an earlier build is not read again (as git's index does). The cache
 * is one JSON file per context root under `cacheDir`; deleting it is always
 * safe. Builds of the same context with different ignore files (several
 * projects in one repository) share it: rows of files another build listed
 * are kept while those files are unchanged. A file rewritten within the same
 * timestamp tick with the same size would be missed; filesystems with
 * nanosecond mtimes make that unlikely.
 */
export async function hashContextFiles(input: ContextHashInput): Promise<ContextHashes> {
  const cacheFile = path.join(input.cacheDir ?? defaultCacheDir(), `${createHash("sha256").update(input.contextRoot).digest("hex").slice(0, 16)}.json`);
  const cache = readCache(cacheFile);
  const next: Record<string, CacheRow> = {};
  let misses = 0;
  let bytesRead = 0;
  const files = input.entries.filter((e) => e.type === "file");
  const shas = new Map<string, string>();
  let index = 0;
  const worker = async (): Promise<void> => {
    while (index < files.length) {
      const entry = files[index++]!;
      const row = cache[entry.path];
      let sha: string;
      if (unchanged(row, entry)) sha = row[4];
      else {
        sha = await hashFile(entry.absolute).catch((error: Error) => {
          throw new StackyardError(`${entry.path} changed or vanished while the build context was hashed (${error.message}).`, {
            hint: "Run the build again.",
            cause: error,
          });
        });
        misses++;
        bytesRead += entry.size;
      }
      shas.set(entry.path, sha);
      next[entry.path] = [entry.size, entry.mtimeMs, entry.ctimeMs, entry.ino, sha];
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  if (misses > 0) {
    try {
      // Keep what other builds of this context hashed (read again: one may have written meanwhile), while unchanged.
      const others = { ...cache, ...readCache(cacheFile) };
      for (const [relPath, row] of Object.entries(others)) {
        if (relPath in next) continue;
        const stat = lstatSync(path.join(input.contextRoot, relPath), { throwIfNoEntry: false });
        if (stat?.isFile() && unchanged(row, stat)) next[relPath] = row;
      }
      mkdirSync(path.dirname(cacheFile), { recursive: true });
      writeFileSync(`${cacheFile}.${process.pid}`, JSON.stringify(next));
      renameSync(`${cacheFile}.${process.pid}`, cacheFile);
    } catch {
      // a read-only home only costs speed
    }
  }
  return { shas, filesRead: misses, bytesRead };
}

/**
 * sha256 over each entry's type, mode, path and content sha256 (from
 * `shas`, see {@link hashContextFiles}; link target for symlinks), in the
 * order given (listContext sorts by path).
 */
export function digestEntries(entries: readonly ContextEntry[], shas: ReadonlyMap<string, string>): string {
  const hash = createHash("sha256");
  for (const entry of entries) {
    const content = entry.type === "file" ? shas.get(entry.path) : entry.type === "symlink" ? entry.linkname : "";
    if (content === undefined) throw new Error(`no content hash for ${entry.path}`);
    hash.update(`${entry.type} ${entry.mode.toString(8)} ${entry.path}\0${content}\n`);
  }
  return hash.digest("hex");
}

/**
 * The digest of a build context: sha256 over each entry's type, mode, path
 * and content sha256 (link target for symlinks), in path order, with the
 * file hash cache of {@link hashContextFiles}.
 */
export async function contextDigest(input: ContextHashInput): Promise<string> {
  return digestEntries(input.entries, (await hashContextFiles(input)).shas);
}

/**
 * An image's content hash: sha256 over a format version, the parent image's
 * id (so a rebuilt parent under the same name makes a new image), the
 * Dockerfile text and the context digest.
 */
export function imageContentHash(parentImageId: string, dockerfile: string, context: string): string {
  return createHash("sha256").update(`stackyard-image/1\nparent ${parentImageId}\ncontext ${context}\n${dockerfile}`).digest("hex");
}
