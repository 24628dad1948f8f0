import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { StoreError } from "@stackyard/core/errors";
import type BetterSqlite3 from "better-sqlite3";
import { waitForLocks } from "./lock-wait.js";
import { MIGRATIONS } from "./migrations.js";
import { firstUnwritable, isNotWritable, storeNotWritable } from "./not-writable.js";

export type Database = BetterSqlite3.Database;

const require = createRequire(import.meta.url);

/**
 * Opens the SQLite store at `file`, creating it when `create` is set, in WAL
 * mode with a busy timeout so that many processes (parallel steps, 20 runs at
 * once) can write to it. Applies pending migrations in one transaction.
 * A file that is not a Stackyard store (another program's database, an empty
 * file outside `init`, a damaged file) is reported and left byte for byte as
 * it was: nothing is written before the file is known to be ours.
 * A new store's folder is made 0700 and its database 0600.
 * Writes wait for another process's write lock, saying so, for a bounded
 * time (see {@link waitForLocks}).
 */
export function openDatabase(file: string, options: { create: boolean; readonly?: boolean }): Database {
  for (let attempt = 1; ; attempt++) {
    try {
      return openDatabaseOnce(file, options);
    } catch (error) {
      if (!isPassingState(error) || attempt >= 50) throw error;
      // Another process is recovering the write-ahead log or setting up its index: wait for it, as SQLite says to.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(20 * attempt, 200));
    }
  }
}

/**
 * SQLite's codes for a state another connection is passing through (it is
 * recovering the write-ahead log, or making its index), not for a store
 * this process cannot write: opening again shortly after succeeds.
 */
function isPassingState(error: unknown): boolean {
  return /^SQLITE_(READONLY_RECOVERY|READONLY_CANTINIT|BUSY_RECOVERY)$/.test((error as { code?: string })?.code ?? "");
}

function openDatabaseOnce(file: string, options: { create: boolean; readonly?: boolean }): Database {
  if (existsSync(file) && !statSync(file).isFile()) {
    throw new StoreError(`The Stackyard store ${file} is ${statSync(file).isDirectory() ? "a folder" : "not a regular file"}, not a database file`, {
      hint: process.env.STACKYARD_STORE
        ? "STACKYARD_STORE must name the store's database file (for example my-project/.stackyard/stackyard.db), or be unset to use the project's own."
        : "Move it away and run `stackyard init` to make a new store.",
    });
  }
  if (!existsSync(file)) {
    if (!options.create) throw new StoreError(`No Stackyard store at ${file}`, { hint: "Run `stackyard init` in your project folder first." });
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, "wx", 0o600));
  } else if (!options.create && statSync(file).isFile() && statSync(file).size === 0) {
    throw new StoreError(`The Stackyard store at ${file} is an empty file`, {
      hint: "Run `stackyard init` in the project folder to initialise it, or point STACKYARD_STORE at the project's store. It was left untouched.",
    });
  }
  const Driver = require("better-sqlite3") as typeof BetterSqlite3;
  if (!options.create) {
    // A store this process cannot write is opened for reading only, so that
    // every write is refused before it starts, naming what is not writable.
    const unwritable = firstUnwritable([file, `${file}-wal`, `${file}-shm`], [dirname(file)]);
    if (unwritable) return waitForLocks(openReadOnly(Driver, file, undefined), file, { readOnly: true });
  }
  let db: Database;
  try {
    db = new Driver(file, { fileMustExist: true, timeout: 10_000 });
  } catch (error) {
    throw nativeModuleError(error) ?? storeFileError(error, file) ?? error;
  }
  try {
    refuseForeign(db, file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db, file);
  } catch (error) {
    db.close();
    if (error instanceof StoreError || isPassingState(error)) throw error;
    if (isNotWritable(error) && !options.create) return waitForLocks(openReadOnly(Driver, file, error), file, { readOnly: true });
    throw (
      storeFileError(error, file) ??
      new StoreError(`The Stackyard store at ${file} cannot be read: ${(error as Error).message}`, {
        hint: "The file is damaged or is not a Stackyard store. Move it away and run `stackyard init` to start a new one; it was left untouched.",
      })
    );
  }
  return waitForLocks(db, file);
}

/**
 * A store whose file or folder this process cannot write (a read-only
 * database file, a read-only `.stackyard/`), opened for reading only: reads
 * keep working and any write is refused naming what is not writable. SQLite
 * cannot read a WAL database in a folder where it may not create the WAL
 * index; when the last writer left no WAL behind, the database file alone
 * is the whole store, so it is read into memory.
 */
function openReadOnly(Driver: typeof BetterSqlite3, file: string, cause: unknown): Database {
  let db: Database | undefined;
  try {
    db = new Driver(file, { fileMustExist: true, readonly: true, timeout: 10_000 });
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (error) {
    db?.close();
    db = undefined;
    const wal = `${file}-wal`;
    if (!isNotWritable(error) || (existsSync(wal) && statSync(wal).size > 0)) throw storeNotWritable(file, cause);
    const image = readFileSync(file);
    // Bytes 18 and 19 say "WAL"; an image in memory is read as a rollback-journal database.
    image[18] = 1;
    image[19] = 1;
    db = new Driver(image, { readonly: true });
  }
  try {
    refuseForeign(db, file);
    if ((db.pragma("user_version", { simple: true }) as number) !== MIGRATIONS.length) throw storeNotWritable(file, cause);
    db.pragma("foreign_keys = ON");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** The tables every Stackyard schema version has. */
const OUR_TABLES = ["settings", "flavors", "components", "stacks"];

/**
 * Refuses a database that holds tables but not Stackyard's: another program's
 * file, given by mistake through STACKYARD_STORE. Only reads.
 */
function refuseForeign(db: Database, file: string): void {
  const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name));
  if (tables.size === 0 && (db.pragma("user_version", { simple: true }) as number) === 0) return;
  if (OUR_TABLES.every((t) => tables.has(t))) return;
  throw new StoreError(
    `${file} is an SQLite database of another program, not a Stackyard store (its tables: ${[...tables].slice(0, 5).join(", ") || "none"})`,
    { hint: "Point STACKYARD_STORE at a Stackyard store, or unset it to use the project's own. The file was left untouched." },
  );
}

/**
 * SQLite's "not a database" and "malformed" errors, from opening or from any
 * later read or write: the store is damaged, and the message says what to do.
 */
export function storeFileError(error: unknown, file?: string): StoreError | undefined {
  const code = (error as { code?: string }).code ?? "";
  if (!/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return undefined;
  const where = file ? ` at ${file}` : "";
  return new StoreError(
    code.startsWith("SQLITE_NOTADB")
      ? `The Stackyard store${where} cannot be read: the file is not an SQLite database`
      : `The Stackyard store${where} cannot be read: it is damaged (${(error as Error).message})`,
    {
      hint: "Nothing was written. Keep a copy of the file, then either restore it from a backup or recover what SQLite can read (`sqlite3 stackyard.db .recover | sqlite3 recovered.db`) and point STACKYARD_STORE at the result.",
    },
  );
}

/**
 * better-sqlite3's native module built for another Node.js (after switching
 * versions with nvm, or node_modules copied between machines): say so, not
 * that the store is damaged.
 */
export function nativeModuleError(error: unknown): StoreError | undefined {
  const message = (error as Error).message ?? "";
  if ((error as { code?: string }).code !== "ERR_DLOPEN_FAILED" && !/NODE_MODULE_VERSION|invalid ELF header|wrong ELF class/.test(message)) return undefined;
  const versions = /NODE_MODULE_VERSION (\d+)[\s\S]*NODE_MODULE_VERSION (\d+)/.exec(message);
  return new StoreError(
    `The SQLite driver (better-sqlite3) was built for another Node.js${versions ? ` (module version ${versions[1]}; Node.js ${process.version} needs ${versions[2]})` : ""}, so the store cannot be opened`,
    {
      hint: "Rebuild it for this Node.js with `npm rebuild better-sqlite3` in your project (or reinstall with `npm install`); if it still fails, an npm `nodedir` setting may point at another Node.js (`npm config get nodedir`). The store was not touched.",
    },
  );
}

function migrate(db: Database, file: string): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new StoreError(`The Stackyard store at ${file} has schema version ${current}, newer than this stackyard supports (${MIGRATIONS.length})`, {
      hint: "Upgrade the stackyard package.",
    });
  }
  if (current === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let version = current; version < MIGRATIONS.length; version++) db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
