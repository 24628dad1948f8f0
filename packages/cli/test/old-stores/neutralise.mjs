// Turns a project's `.stackyard/` folder, made by an earlier release, into a
// fixture that names no machine: the project's absolute path becomes
// /__PROJECT__ (the upgrade test puts its own folder there), the repository's
// becomes /__REPO__ (it only appears in a failed step's stack trace), and the
// host name becomes "workstation". The database is rewritten with VACUUM INTO,
// so no free page keeps an old string.
//
//   node neutralise.mjs PROJECT_DIR REPO_DIR OUT_DIR
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";

const [project, repo, out] = process.argv.slice(2).map((p) => resolve(p));
if (!project || !repo || !out) throw new Error("usage: node neutralise.mjs PROJECT_DIR REPO_DIR OUT_DIR");
const neutral = (text) => text.replaceAll(project, "/__PROJECT__").replaceAll(repo, "/__REPO__");

rmSync(out, { recursive: true, force: true });
cpSync(join(project, ".stackyard", "artifacts"), join(out, "artifacts"), { recursive: true });
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) walk(file);
    else writeFileSync(file, neutral(readFileSync(file, "utf8")));
  }
};
walk(join(out, "artifacts"));

const db = new Database(join(project, ".stackyard", "stackyard.db"), { readonly: true });
db.exec(`VACUUM INTO '${join(out, "stackyard.db")}'`);
db.close();
const copy = new Database(join(out, "stackyard.db"));
copy.function("neutral", (value) => (typeof value === "string" ? neutral(value) : value));
const tables = copy.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
for (const table of tables) {
  for (const { name } of copy.prepare(`PRAGMA table_info("${table}")`).all()) {
    copy.prepare(`UPDATE "${table}" SET "${name}" = neutral("${name}") WHERE typeof("${name}") = 'text'`).run();
  }
}
if (tables.includes("runs")) copy.prepare("UPDATE runs SET host = 'workstation' WHERE host IS NOT NULL").run();
copy.exec("VACUUM");
copy.close();
if (existsSync(join(out, "stackyard.db-wal"))) throw new Error("the copy left a write-ahead log behind");
