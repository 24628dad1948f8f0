import { randomBytes } from "node:crypto";
import { accessSync, closeSync, constants, existsSync, openSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { StoreError } from "@stackyard/core/errors";

/** A write refused because a file or folder of the store cannot be written. */
export class NotWritableError extends StoreError {}

const FS_CODES = new Set(["EACCES", "EPERM", "EROFS"]);

/** SQLite's "read-only" and "cannot open" errors, and the file system's permission errors. */
export function isNotWritable(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? "";
  return /^SQLITE_(READONLY|CANTOPEN|PERM)/.test(code) || FS_CODES.has(code);
}

/** Whether this process can create a file in `folder` (root ignores modes, so try it). */
function canWriteFolder(folder: string): boolean {
  const probe = join(folder, `.stackyard-write-check-${randomBytes(6).toString("hex")}`);
  try {
    closeSync(openSync(probe, "wx", 0o600));
    rmSync(probe, { force: true });
    return true;
  } catch {
    return false;
  }
}

function canWriteFile(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    closeSync(openSync(file, "r+"));
    return true;
  } catch {
    return false;
  }
}

/** "mode 444, owned by uid 1000 (not you)" */
function describeMode(path: string): string {
  const info = statSync(path);
  const uid = process.getuid?.();
  return `mode ${(info.mode & 0o777).toString(8)}${uid !== undefined && info.uid !== uid ? `, owned by uid ${info.uid}, not you (uid ${uid})` : ""}`;
}

/** The first of `paths` (files, then the folders holding them) that cannot be written, if any. */
export function firstUnwritable(files: string[], folders: string[]): { path: string; folder: boolean } | undefined {
  for (const file of files) if (existsSync(file) && statSync(file).isFile() && !canWriteFile(file)) return { path: file, folder: false };
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    if (!canWriteFolder(folder)) return { path: folder, folder: true };
  }
  return undefined;
}

function errorFor(what: string, culprit: { path: string; folder: boolean } | undefined, fallback: string): NotWritableError {
  if (!culprit) {
    return new NotWritableError(`${what} cannot be written: ${fallback}`, {
      hint: "Reads still work. Check that the file system is not mounted read-only and that you may write there. Nothing was written.",
    });
  }
  const kind = culprit.folder ? "the folder" : "the file";
  const owner = describeMode(culprit.path);
  const fix = owner.includes("not you") ? `run stackyard as its owner, or make it yours (\`chown\`)` : `make it writable with \`chmod u+w ${culprit.path}\``;
  return new NotWritableError(`${what} cannot be written: ${kind} ${culprit.path} is not writable (${owner})`, {
    hint: `Reads still work. To change anything, ${fix}. Nothing was written.`,
  });
}

/** The store at `file` refused a write: name the file or folder that is not writable and how to fix it. */
export function storeNotWritable(file: string, error: unknown): NotWritableError {
  const culprit = firstUnwritable([file, `${file}-wal`, `${file}-shm`], [dirname(file)]);
  return errorFor(`The Stackyard store ${file}`, culprit, (error as Error).message);
}

/**
 * Refuses early, before anything is written, when the artifact store's
 * folder (or its `runs` or `snapshots` folder) cannot be written.
 */
export function checkArtifactFolderWritable(root: string): void {
  let existing = root;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const subfolders = [join(root, "runs"), join(root, "snapshots")];
  const culprit = firstUnwritable([], subfolders.every(existsSync) ? subfolders : [...subfolders, existing]);
  if (culprit) throw errorFor(`The artifact store folder ${root}`, culprit, "");
}
