import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { StoreError } from "@stackyard/core/errors";
import type BetterSqlite3 from "better-sqlite3";
import { isNotWritable, NotWritableError, storeNotWritable } from "./not-writable.js";

type Database = BetterSqlite3.Database;

/** How long SQLite itself waits for the write lock before we look again. */
const STEP_MS = 1_000;
/** How long a command waits silently before it says it is waiting. */
const NOTICE_AFTER_MS = 2_000;
/** How long a command waits for the write lock by default (STACKYARD_LOCK_TIMEOUT overrides, in seconds). */
const DEFAULT_WAIT_S = 60;

const isBusy = (error: unknown) => /^SQLITE_BUSY/.test((error as { code?: string })?.code ?? "");

/** STACKYARD_LOCK_TIMEOUT in seconds (a positive number), else the default. */
export function lockWaitMs(): number {
  const raw = process.env.STACKYARD_LOCK_TIMEOUT;
  const seconds = raw === undefined || raw === "" ? Number.NaN : Number(raw);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_WAIT_S) * 1000;
}

/**
 * The process holding the store's write lock, when the system says (Linux:
 * /proc/locks lists the POSIX lock SQLite takes on the WAL index, byte 120 of
 * the -shm file, or on the database file itself outside WAL mode).
 */
export function lockHolder(file: string): { pid: number; stackyard: boolean; command: string } | undefined {
  try {
    const inode = (path: string) => {
      try {
        return statSync(path).ino;
      } catch {
        return undefined;
      }
    };
    const shm = inode(`${file}-shm`);
    const db = inode(file);
    for (const line of readFileSync("/proc/locks", "utf8").split("\n")) {
      const m = /POSIX\s+ADVISORY\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s+(\d+)/.exec(line);
      if (!m) continue;
      const [pid, ino, start] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (pid === process.pid) continue;
      if ((ino === shm && start === 120) || (ino === db && shm === undefined)) {
        let argv: string[] = [];
        try {
          argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
        } catch {}
        // `node …/.bin/stackyard …` or `node …/stackyard/dist/bin.js …`
        const stackyard = /(^|\/)stackyard$|\/(stackyard|cli)\/dist\/bin\.js$/.test(argv[1] ?? "") || /(^|\/)stackyard$/.test(argv[0] ?? "");
        return { pid, stackyard, command: basename(argv[0] ?? "") };
      }
    }
  } catch {}
  return undefined;
}

function describeHolder(file: string): string {
  const holder = lockHolder(file);
  if (!holder) return "another process";
  return holder.stackyard
    ? `another stackyard process (pid ${holder.pid})`
    : `another process (pid ${holder.pid}${holder.command ? `: ${holder.command}` : ""})`;
}

/**
 * Makes every write on `db` wait for a store another process is writing,
 * saying so on stderr once it has waited a while, and give up after a
 * bounded wait (STACKYARD_LOCK_TIMEOUT seconds, 60 by default) with one
 * message naming the store file and, when known, the process holding it.
 * Statements outside a transaction and whole transactions are retried: a
 * write refused for the lock has changed nothing. A write refused because a
 * file or folder of the store is read-only says which one and how to fix it;
 * on a store opened `readOnly`, every write is refused before it starts.
 */
export function waitForLocks(db: Database, file: string, options: { readOnly?: boolean } = {}): Database {
  db.pragma(`busy_timeout = ${STEP_MS}`);
  let noticed = false;
  const retrying = <T>(attempt: () => T, writes = true): T => {
    if (options.readOnly && writes) throw storeNotWritable(file, new Error("it is open for reading only"));
    if (db.inTransaction) return attempt();
    const started = Date.now();
    const limit = lockWaitMs();
    for (;;) {
      try {
        return attempt();
      } catch (error) {
        if (db.inTransaction || error instanceof NotWritableError) throw error;
        if (isNotWritable(error)) throw storeNotWritable(file, error);
        if (!isBusy(error)) throw error;
        const waited = Date.now() - started;
        if (waited >= limit) {
          throw new StoreError(
            `The Stackyard store ${file} is locked by ${describeHolder(file)}, which held it for the ${Math.round(limit / 1000)} s this command waited`,
            {
              hint: "Nothing was written. Let that process finish (or stop it) and run the command again; STACKYARD_LOCK_TIMEOUT sets how many seconds to wait.",
            },
          );
        }
        if (!noticed && waited + STEP_MS >= NOTICE_AFTER_MS) {
          noticed = true;
          process.stderr.write(`Waiting for the store ${file}: it is locked by ${describeHolder(file)} (giving up after ${Math.round(limit / 1000)} s)\n`);
        }
      }
    }
  };

  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    if (statement.reader) return statement;
    const run = statement.run.bind(statement);
    statement.run = ((...args: unknown[]) => retrying(() => run(...args))) as typeof statement.run;
    return statement;
  }) as typeof db.prepare;

  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const t = transaction(fn);
    // A deferred transaction may only read: its writes are refused statement by statement.
    const wrap =
      (f: (...args: unknown[]) => unknown, writes: boolean) =>
      (...args: unknown[]) =>
        retrying(() => f(...args), writes);
    return Object.assign(wrap(t, false), {
      default: wrap(t.default, false),
      deferred: wrap(t.deferred, false),
      immediate: wrap(t.immediate, true),
      exclusive: wrap(t.exclusive, true),
    });
  }) as typeof db.transaction;

  const exec = db.exec.bind(db);
  db.exec = ((source: string) => {
    retrying(() => exec(source));
    return db;
  }) as typeof db.exec;
  return db;
}

/**
 * Refuses, naming what is not writable, when `db` cannot take a write: tries
 * one inside a transaction that is always rolled back.
 */
export function checkStoreWritable(db: Database): void {
  const rollback = new Error("rollback");
  try {
    db.transaction(() => {
      db.prepare("INSERT INTO settings (key, value) VALUES ('write_check', '') ON CONFLICT(key) DO NOTHING").run();
      throw rollback;
    }).immediate();
  } catch (error) {
    if (error !== rollback) throw error;
  }
}
