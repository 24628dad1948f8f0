import { createHash } from "node:crypto";
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import dockerignore from "@balena/dockerignore";
import { ConfigError } from "@stackyard/core";
import { pack as tarPack } from "tar-stream";
import { looksLikeSecret, type SecretFile, SecretFilter } from "./secret-files.js";

/**
 * Always left out of the build context, whatever the .dockerignore says:
 * version control, tool caches (nx, vite/vitest's and other tools' caches
 * under node_modules), the test engines' folder, project stores and logs.
 * Secret-looking files are left out too, unless named by a `!` line (see
 * {@link secretExcludes}).
 */
export const builtInExcludes: readonly string[] = [
  "**/.git",
  "**/.nx",
  ".test-engines",
  "**/.stackyard",
  "**/*.log",
  "**/node_modules/.cache",
  "**/node_modules/.vite",
  "**/node_modules/.vite-temp",
];

/**
 * Scratch folders of test projects (`<repo>/.test-tmp/<project>`). Every one
 * is left out except the path leading to the source root: of a `.test-tmp`
 * folder above the source root only the child holding the source root goes in.
 */
export const scratchFolderName = ".test-tmp";

/** The folder name whose contents go into the dependency image (see {@link splitContext}). */
export const dependencyFolderName = "node_modules";

/** One file, folder or symlink that goes into the image. */
export interface ContextEntry {
  /** Posix path relative to the context root. */
  path: string;
  absolute: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Link target, kept as it is (relative links inside the context stay valid). */
  linkname?: string;
}

/** The build context root and where the project sits in it. */
export interface ContextLocation {
  root: string;
  /** The source root relative to `root`, posix (`""` when equal). */
  sourceRootInContext: string;
  /** The `stackyard` bin script relative to `root`, posix, when the context holds the package. */
  stackyardBin: string | undefined;
}

// A CommonJS module whose typings declare `export default`: under NodeNext the default import is module.exports.
const ignore = (dockerignore as unknown as { default: typeof dockerignore.default }).default;

const toPosix = (p: string): string => p.split(path.sep).join("/");

/**
 * Finds the build context: `buildContextRoot` (relative to the source root)
 * when given, else the nearest folder at or above the source root whose
 * node_modules holds the `stackyard` package.
 */
export function locateContext(sourceRoot: string, buildContextRoot?: string): ContextLocation {
  const source = path.resolve(sourceRoot);
  let root: string | undefined = buildContextRoot ? path.resolve(source, buildContextRoot) : undefined;
  if (root) {
    const rel = path.relative(root, source);
    if (rel.startsWith("..") || path.isAbsolute(rel)) {
      throw new ConfigError(`settings.docker.build_context_root '${buildContextRoot}' (${root}) does not contain the source root ${source}.`, {
        hint: "Point build_context_root at the source root or a folder above it.",
      });
    }
  }
  let stackyardBin: string | undefined;
  for (let dir = source; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "node_modules", "stackyard", "package.json");
    if (existsSync(manifest)) {
      root ??= dir;
      if (!path.relative(root, dir).startsWith("..")) {
        const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { bin?: string | Record<string, string> };
        const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.stackyard;
        if (bin) stackyardBin = toPosix(path.relative(root, path.join(dir, "node_modules", "stackyard", bin)));
      }
      break;
    }
    if (dir === path.dirname(dir) || (root && dir === root)) break;
  }
  if (!root) {
    throw new ConfigError(`No node_modules with the 'stackyard' package at or above the source root ${source}, so there is no build context to send.`, {
      hint: "Run `npm install stackyard` in the project, or set settings.docker.build_context_root.",
    });
  }
  return { root, sourceRootInContext: toPosix(path.relative(root, source)), stackyardBin };
}

/** Options of {@link listContext}. */
export interface ListContextOptions {
  /**
   * The source root relative to `root`, posix (`""` when equal): the one
   * `.test-tmp` path kept. Without it every `.test-tmp` folder is left out.
   */
  sourceRootInContext?: string | undefined;
  /** Told about each secret-looking file: left out, brought back by a `!` line, or going in under a name that says secret. */
  onSecretFile?: ((file: SecretFile) => void) | undefined;
}

/**
 * Lists what goes into the image, sorted by path: everything under `root`
 * except the built-in excludes, `.test-tmp` folders off the path to the
 * source root (see {@link scratchFolderName}), what the .dockerignore file
 * excludes (`dockerignoreFile`, else `<root>/.dockerignore`) and, outside
 * node_modules, secret-looking files it does not bring back by name (see
 * {@link secretExcludes}). The root .dockerignore itself is left out: the
 * builder gets its own.
 */
export async function listContext(root: string, dockerignoreFile?: string, options: ListContextOptions = {}): Promise<ContextEntry[]> {
  const sourceRoot = options.sourceRootInContext;
  const file = dockerignoreFile ?? path.join(root, ".dockerignore");
  const patterns: string[] = [];
  if (existsSync(file)) {
    patterns.push(
      ...(await readFile(file, "utf8"))
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#")),
    );
  }
  const secrets = new SecretFilter(patterns);
  const onSecretFile = options.onSecretFile ?? (() => {});
  // Built-in excludes go last, where a user's "!" line cannot bring them back:
  // hashing the live store (.stackyard) would open and close its SQLite file,
  // and closing a descriptor drops the process's locks on it.
  patterns.push(...builtInExcludes, ".dockerignore");
  const ig = ignore().add(patterns);
  // Only with a "!" exception can something inside an excluded folder come back,
  // and only in a folder that exception's pattern could reach.
  const mayReinclude = exceptionReach(patterns.filter((p) => p.startsWith("!")).map((p) => p.slice(1)));
  // Synchronous calls on purpose: a stat-only walk of a 20k-entry tree takes
  // 0.25 s this way and 1.5-2 s as 20k round trips through libuv's pool.
  const entries: ContextEntry[] = [];
  // `only`: the one child to look at (inside a .test-tmp folder above the source root).
  const walk = (dir: string, rel: string, only?: string): void => {
    for (const name of readdirSync(dir).sort()) {
      if (only !== undefined && name !== only) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      const absolute = path.join(dir, name);
      const stat = lstatSync(absolute, { throwIfNoEntry: false });
      if (!stat) continue; // removed while we looked
      const ignored = ig.ignores(relPath);
      const secret = ignored ? undefined : secretVerdict(secrets, relPath, stat.isFile());
      const excluded = ignored || secret === "left-out";
      const base = { path: relPath, absolute, mode: stat.mode & 0o7777, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino };
      if (stat.isDirectory()) {
        let next: string | undefined;
        if (name === scratchFolderName && sourceRoot !== relPath) {
          // Only the path leading to the source root: other test projects change all the time.
          if (sourceRoot === undefined || !sourceRoot.startsWith(`${relPath}/`)) continue;
          next = sourceRoot.slice(relPath.length + 1).split("/")[0];
        }
        if (excluded && !mayReinclude(relPath)) {
          if (secret === "left-out") onSecretFile({ path: `${relPath}/`, verdict: secret });
          continue;
        }
        if (!excluded) entries.push({ ...base, type: "directory", size: 0 });
        walk(absolute, relPath, next);
        continue;
      }
      if (secret) onSecretFile({ path: relPath, verdict: secret });
      if (excluded) {
      } else if (stat.isSymbolicLink()) {
        entries.push({ ...base, type: "symlink", linkname: readlinkSync(absolute) });
      } else if (stat.isFile()) {
        entries.push({ ...base, type: "file" });
      } // sockets and fifos cannot go into an image
    }
  };
  walk(root, "");
  return entries;
}

/**
 * What becomes of a path that no .dockerignore line or built-in exclude
 * leaves out: undefined for an ordinary one (and anything in node_modules),
 * else its {@link SecretFile} verdict.
 */
function secretVerdict(secrets: SecretFilter, relPath: string, isFile: boolean): SecretFile["verdict"] | undefined {
  if (isDependencyPath(relPath)) return undefined;
  const root = secrets.secretRoot(relPath);
  if (root !== undefined) return secrets.broughtBack(relPath, root) ? "brought-back" : "left-out";
  return isFile && looksLikeSecret(relPath) ? "suspect" : undefined;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** A regular expression for one path segment of a .dockerignore pattern (`*`, `?`, `[...]`, `\\x`). */
function segmentPattern(segment: string): RegExp | undefined {
  let source = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "\\" && i + 1 < segment.length) source += escapeRegExp(segment[++i]!);
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) return undefined;
      const body = segment.slice(i + 1, end);
      source += `[${body.startsWith("!") || body.startsWith("^") ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else source += escapeRegExp(c);
  }
  try {
    return new RegExp(`^${source}$`);
  } catch {
    return undefined;
  }
}

/**
 * For the `!` exceptions of an ignore file: whether something under an
 * excluded folder could be brought back by one of them, so the folder has
 * to be walked. A folder no exception's leading segments can match (a big
 * `.test-engines` or `node_modules/nx` next to `!.test-tmp/project`) is
 * skipped whole. Conservative: `**`, or a pattern it cannot read, walks.
 */
function exceptionReach(exceptions: readonly string[]): (dir: string) => boolean {
  const parsed = exceptions.map((pattern) => {
    const clean = path.posix.normalize(pattern.trim().replace(/^\/+/, "")).replace(/\/+$/, "");
    return clean.split("/").map((segment) => (segment === "**" ? "any" : segmentPattern(segment)));
  });
  return (dir) => {
    const parts = dir.split("/");
    return parsed.some((segments) => {
      for (let i = 0; i < parts.length; i++) {
        const segment = segments[i];
        if (segment === undefined || segment === "any") return true; // reaches an ancestor (or anything)
        if (!segment.test(parts[i]!)) return false;
      }
      return true;
    });
  };
}

/** Whether a context path lies in a `node_modules` folder (or is one). */
export function isDependencyPath(relPath: string): boolean {
  return relPath.split("/").includes(dependencyFolderName);
}

/** The two parts of a build context, each sorted by path. */
export interface SplitContext {
  /**
   * Every `node_modules` folder and what it holds (the root one, workspace
   * packages' own, nested ones), plus the folders above a nested one (so
   * their modes are kept). Goes into the dependency image.
   */
  dependencies: ContextEntry[];
  /** Everything else: sources, workspace packages, their builds. Goes into the pipeline image. */
  rest: ContextEntry[];
}

/**
 * Splits a listed context into dependencies and the rest. Workspace links
 * (`node_modules/@scope/pkg -> ../../packages/pkg`) are in the dependencies
 * and point into the rest: both parts land under /app with the same layout,
 * so the links resolve in the final image.
 */
export function splitContext(entries: readonly ContextEntry[]): SplitContext {
  // Folders above a nested node_modules (`packages`, `packages/cli` for packages/cli/node_modules).
  const ancestors = new Set<string>();
  for (const entry of entries) {
    if (entry.type !== "directory" || !entry.path.endsWith(`/${dependencyFolderName}`)) continue;
    const parts = entry.path.split("/");
    const first = parts.indexOf(dependencyFolderName);
    for (let i = 1; i <= first; i++) ancestors.add(parts.slice(0, i).join("/"));
  }
  const dependencies: ContextEntry[] = [];
  const rest: ContextEntry[] = [];
  for (const entry of entries) {
    if (isDependencyPath(entry.path)) dependencies.push(entry);
    else {
      rest.push(entry);
      if (entry.type === "directory" && ancestors.has(entry.path)) dependencies.push(entry);
    }
  }
  return { dependencies, rest };
}

const smallFileBytes = 1 << 20;
const readAheadFiles = 32;

/** What a build's error says when a file changed while the context was sent: building again may succeed. */
export const contextChangedMessage = "changed or vanished while the build context was sent";

/** Extra files the builder gets besides the context (the generated Dockerfile and .dockerignore). */
export type ExtraFiles = Record<string, string>;

/**
 * A tar stream of the context, read file by file as the engine consumes it,
 * so the context is never held in memory. Owners are root; modes and links
 * are kept.
 */
export function packContext(entries: readonly ContextEntry[], extra: ExtraFiles): Readable {
  const pack = tarPack();
  const out = new PassThrough();
  let current: string | undefined;
  // Say which file broke the stream (tar-stream only says "Size mismatch").
  pack.on("error", (error: Error) =>
    out.destroy(current ? new Error(`${current} ${contextChangedMessage} (${error.message}); run the build again`, { cause: error }) : error),
  );
  pack.pipe(out);
  const add = (header: Parameters<typeof pack.entry>[0], body: string | Buffer = ""): Promise<void> =>
    new Promise((resolve, reject) => pack.entry(header, body, (error) => (error ? reject(error) : resolve())));
  // Small files are read whole, a few ahead of the one being written (one
  // async read per file instead of open/stat/stream/close); large ones are
  // streamed. Awaiting each entry's callback keeps tar-stream's backpressure,
  // so memory holds at most the read-ahead window.
  const reads = new Map<number, Promise<Buffer>>();
  const readAhead = (from: number): void => {
    for (let i = from; i < Math.min(entries.length, from + readAheadFiles); i++) {
      const entry = entries[i]!;
      if (entry.type !== "file" || entry.size > smallFileBytes || reads.has(i)) continue;
      const read = readFile(entry.absolute);
      read.catch(() => {}); // awaited (and reported) when its turn comes
      reads.set(i, read);
    }
  };
  void (async () => {
    for (const [name, text] of Object.entries(extra)) await add({ name, mode: 0o644, uid: 0, gid: 0 }, text);
    for (const [i, entry] of entries.entries()) {
      current = entry.path;
      readAhead(i);
      const header = { name: entry.path, mode: entry.mode, mtime: new Date(entry.mtimeMs), uid: 0, gid: 0 };
      if (entry.type === "directory") await add({ ...header, type: "directory" });
      else if (entry.type === "symlink") await add({ ...header, type: "symlink", linkname: entry.linkname! });
      else if (reads.has(i)) {
        const body = await reads.get(i)!;
        reads.delete(i);
        await add({ ...header, type: "file" }, body);
      } else await addLargeFile(entry, header);
    }
    current = undefined;
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));

  // Exactly the size of the open file is sent, so a file that grows meanwhile
  // (a log) does not break the tar stream.
  async function addLargeFile(entry: ContextEntry, header: Parameters<typeof pack.entry>[0]): Promise<void> {
    const handle = await open(entry.absolute, "r");
    try {
      const { size } = await handle.stat();
      if (size === 0) return await add({ ...header, type: "file" });
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry({ ...header, type: "file", size }, (error) => (error ? reject(error) : resolve()));
        sink.on("error", reject);
        handle
          .createReadStream({ start: 0, end: size - 1, autoClose: false })
          .on("error", reject)
          .pipe(sink as unknown as NodeJS.WritableStream);
      });
    } finally {
      await handle.close();
    }
  }
  return out;
}

/** sha256 of a file's content, streamed. */
export function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("error", reject)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")));
  });
}
