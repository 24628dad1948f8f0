import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";
import { StoreOpenError } from "./store-errors.js";

export type Database = BetterSqlite3.Database;

const require = createRequire(import.meta.url);

/**
 * Opens the SQLite store at `file`, creating it when `create` is set, in WAL
 * mode with a busy timeout so that many processes (parallel steps, 20 runs at
 * once) can write to it. Applies pending migrations in one transaction.
 * A file that is not a Stackyard store is reported, never overwritten.
 */
export function openDatabase(file: string, options: { create: boolean; readonly?: boolean }): Database {
  if (!existsSync(file)) {
    if (!options.create) throw new StoreOpenError(`No Stackyard store at ${file}`, "Run `stackyard init` in your project folder first.");
    mkdirSync(dirname(file), { recursive: true });
  }
  const Driver = require("better-sqlite3") as typeof BetterSqlite3;
  let db: Database;
  try {
    db = new Driver(file, { fileMustExist: !options.create, timeout: 10_000 });
  } catch (error) {
    throw nativeModuleError(error) ?? error;
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    migrate(db, file);
  } catch (error) {
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(
      `The Stackyard store at ${file} cannot be read: ${(error as Error).message}`,
      "The file is damaged or is not a Stackyard store. Move it away and run `stackyard init` to start a new one; it was left untouched.",
    );
  }
  return db;
}

/**
 * better-sqlite3's native module built for another Node.js (after switching
 * versions with nvm, or node_modules copied between machines): say so, not
 * that the store is damaged.
 */
export function nativeModuleError(error: unknown): StoreOpenError | undefined {
  const message = (error as Error).message ?? "";
  if ((error as { code?: string }).code !== "ERR_DLOPEN_FAILED" && !/NODE_MODULE_VERSION|invalid ELF header|wrong ELF class/.test(message)) return undefined;
  const versions = /NODE_MODULE_VERSION (\d+)[\s\S]*NODE_MODULE_VERSION (\d+)/.exec(message);
  return new StoreOpenError(
    `The SQLite driver (better-sqlite3) was built for another Node.js${versions ? ` (module version ${versions[1]}; Node.js ${process.version} needs ${versions[2]})` : ""}, so the store cannot be opened`,
    "Rebuild it for this Node.js with `npm rebuild better-sqlite3` in your project (or reinstall with `npm install`); if it still fails, an npm `nodedir` setting may point at another Node.js (`npm config get nodedir`). The store was not touched.",
  );
}

function migrate(db: Database, file: string): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new StoreOpenError(
      `The Stackyard store at ${file} has schema version ${current}, newer than this stackyard supports (${MIGRATIONS.length})`,
      "Upgrade the stackyard package.",
    );
  }
  if (current === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let version = current; version < MIGRATIONS.length; version++) db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
