import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliPath, newProject, removeProject, storeContent } from "./cli-harness.js";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The store refuses what is not its own and never loses a secret. */
describe("store safety", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("store-safety");
    const out = cli(dir, ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoOrchestratorFlavor"]);
    if (out.code !== 0) throw new Error(out.stderr);
  });
  afterAll(() => removeProject(dir));

  const secretsFile = () => join(dir, ".stackyard", "secrets.json");

  it("keeps every secret when 50 registrations run at once", async () => {
    const names = Array.from({ length: 50 }, (_, i) => `parallel_${i}`);
    const results = await Promise.allSettled(
      names.map((name) =>
        run(process.execPath, [cliPath, "orchestrator", "register", name, "-f", "demo", `--token=secret-of-${name}`], {
          cwd: dir,
          env: { ...process.env, STACKYARD_STORE: "", FORCE_COLOR: "0" },
        }),
      ),
    );
    expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const Database = require("better-sqlite3") as typeof import("better-sqlite3");
    const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
    const rows = db.prepare("SELECT id, name FROM components WHERE name LIKE 'parallel_%'").all() as Array<{ id: string; name: string }>;
    db.close();
    const secrets = JSON.parse(readFileSync(secretsFile(), "utf8")) as Record<string, { token?: string }>;
    expect(rows).toHaveLength(50);
    for (const row of rows) expect(secrets[row.id]?.token, row.name).toBe(`secret-of-${row.name}`);
  }, 180_000);

  it("makes the store private: folder 0700, database and secrets 0600", () => {
    expect(statSync(join(dir, ".stackyard")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, ".stackyard", "stackyard.db")).mode & 0o777).toBe(0o600);
    expect(statSync(secretsFile()).mode & 0o777).toBe(0o600);
  });

  it("refuses a secrets file others can read, and says how to fix it", () => {
    const before = storeContent(dir);
    chmodSync(secretsFile(), 0o644);
    try {
      const out = cli(dir, ["orchestrator", "register", "after_chmod", "-f", "demo", "--token=t"]);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toMatch(/secrets file .* can be read or changed by other users \(mode 644\)/);
      expect(out.stderr).toMatch(/chmod 600/);
    } finally {
      chmodSync(secretsFile(), 0o600);
    }
    expect(storeContent(dir)).toBe(before);
  });

  it.each([
    ["null", "null"],
    ["a string", '"x"'],
    ["an array", "[1,2]"],
    ["broken JSON holding a secret", '{"abc": {"secret_access_key": "SKzzSECRETzz'],
  ])("refuses a secrets file holding %s without echoing it", (_what, content) => {
    const saved = readFileSync(secretsFile());
    writeFileSync(secretsFile(), content, { mode: 0o600 });
    try {
      const out = cli(dir, ["orchestrator", "register", "after_damage", "-f", "demo", "--token=t"]);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toMatch(/The secrets file .* cannot be read/);
      expect(out.stderr).not.toMatch(/SKzz|Unexpected error/);
      expect(readFileSync(secretsFile(), "utf8")).toBe(content);
    } finally {
      writeFileSync(secretsFile(), saved, { mode: 0o600 });
    }
  });
});

describe("a file that is not a Stackyard store is left as it was", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("foreign-store");
  });
  afterAll(() => removeProject(dir));

  const listWith = (store: string) => cli(dir, ["stack", "list"], { STACKYARD_STORE: store });

  it("another program's SQLite database: exit 2, byte for byte unchanged", () => {
    const file = join(dir, "foreign.db");
    const Database = require("better-sqlite3") as typeof import("better-sqlite3");
    const db = new Database(file);
    db.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5);");
    db.close();
    const before = readFileSync(file);
    const out = listWith(file);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/foreign\.db is an SQLite database of another program, not a Stackyard store \(its tables: invoices\)/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("an empty file: exit 2, still empty", () => {
    const file = join(dir, "empty.db");
    writeFileSync(file, "");
    const out = listWith(file);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/empty\.db is an empty file/);
    expect(statSync(file).size).toBe(0);
  });

  it("a text file: exit 2, unchanged", () => {
    const file = join(dir, "notes.db");
    writeFileSync(file, "these are my notes, not a database\n".repeat(200));
    const before = readFileSync(file);
    const out = listWith(file);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/notes\.db cannot be read: the file is not an SQLite database/);
    expect(out.stderr).not.toMatch(/Unexpected error/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("a damaged store: exit 2 with how to recover, no stack trace", () => {
    const file = join(dir, "damaged.db");
    copyFileSync(join(dir, ".stackyard", "stackyard.db"), file);
    // Page 2 onwards hold the tables: overwrite them with garbage, keep the header page.
    const pageSize = readFileSync(file).readUInt16BE(16);
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(pageSize * 4, 0xa5), 0, pageSize * 4, pageSize);
    closeSync(fd);
    const out = listWith(file);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/damaged|not a Stackyard store/);
    expect(out.stderr).not.toMatch(/Unexpected error|at .*\.js:\d+/);
  });
});

describe("a store another process is writing", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("locked-store");
  });
  afterAll(() => removeProject(dir));

  /** A separate process holding the store's write lock until it is killed; resolves once it holds it. */
  async function holdWriteLock(file: string): Promise<ChildProcess> {
    const script = `const D = require(${JSON.stringify(require.resolve("better-sqlite3"))}); const db = new D(${JSON.stringify(file)}); db.exec("BEGIN IMMEDIATE"); console.log("locked"); setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once("data", () => resolve());
      holder.once("exit", (code) => reject(new Error(`the lock holder exited with ${code}`)));
    });
    return holder;
  }

  it("reads go on; a write says it waits, then gives up with exit 2 naming the store and the holder, nothing written", async () => {
    const file = join(dir, ".stackyard", "stackyard.db");
    const holder = await holdWriteLock(file);
    try {
      const before = storeContent(dir);
      const list = cli(dir, ["stack", "list"], { STACKYARD_LOCK_TIMEOUT: "3" });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain("default");

      const out = await run(process.execPath, [cliPath, "orchestrator", "register", "while_locked", "-f", "local"], {
        cwd: dir,
        env: { ...process.env, STACKYARD_STORE: "", FORCE_COLOR: "0", STACKYARD_LOCK_TIMEOUT: "3" },
      }).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
      expect(out.code, out.stderr).toBe(2);
      const lines = out.stderr.trim().split("\n");
      expect(lines[0]).toBe(`Waiting for the store ${file}: it is locked by another process (pid ${holder.pid}: node) (giving up after 3 s)`);
      expect(out.stderr).toContain(`Error: The Stackyard store ${file} is locked by another process (pid ${holder.pid}: node)`);
      expect(out.stderr).toMatch(/STACKYARD_LOCK_TIMEOUT/);
      expect(out.stderr).not.toMatch(/Unexpected error|database is locked/);
      expect(storeContent(dir)).toBe(before);
    } finally {
      holder.kill("SIGKILL");
    }
    const after = cli(dir, ["orchestrator", "register", "after_lock", "-f", "local"]);
    expect(after.code, after.stderr).toBe(0);
  }, 60_000);
});
