import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const bin = join(repoRoot, "packages/cli/dist/bin.js");
/** The built CLI entry, for tests that spawn it themselves. */
export const cliPath = bin;
const require = createRequire(import.meta.url);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `stackyard` binary as a user would. Projects live under the
 * repository (in .test-tmp/) so their files resolve `@stackyard/core` and
 * `zod` from the workspace's node_modules, as a user's project would from its own.
 * `input` is written to its standard input.
 */
export function cli(cwd: string, args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npm test builds everything)`);
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0", ...env },
    timeout: 120_000,
    ...(input === undefined ? {} : { input }),
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh project folder with the test fixtures copied in, initialised. */
export function newProject(prefix = "project"): string {
  const base = join(repoRoot, ".test-tmp");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${prefix}-`));
  cpSync(fileURLToPath(new URL("./fixtures", import.meta.url)), dir, { recursive: true });
  const init = cli(dir, ["init"]);
  if (init.code !== 0) throw new Error(`stackyard init failed: ${init.stderr}`);
  return dir;
}

export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Everything the store holds, as text: the database's rows (read through a
 * fresh CLI-independent connection) and the secrets file. Used to prove bad
 * input changes nothing.
 */
export function storeContent(dir: string): string {
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const db = new Database(join(dir, ".stackyard", "stackyard.db"), { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
    const dump = tables.map((t) => `${t}: ${JSON.stringify(db.prepare(`SELECT * FROM "${t}" ORDER BY 1`).all())}`);
    const secrets = join(dir, ".stackyard", "secrets.json");
    return dump.join("\n") + "\nsecrets: " + (existsSync(secrets) ? readFileSync(secrets, "utf8") : "");
  } finally {
    db.close();
  }
}

/**
 * Runs the CLI on a pseudo-terminal (Python's pty module) and returns its
 * exit code and everything the terminal showed. With `answer`, types it (and
 * Enter) once the hidden prompt `(input hidden): ` shows.
 */
export function onTerminal(cwd: string, args: string[], answer = ""): { code: number; screen: string } {
  const script = `
import json, os, pty, sys
argv = json.loads(sys.argv[1])
answer = sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
screen = b""
sent = not answer
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    screen += chunk
    if not sent and b"(input hidden): " in screen:
        os.write(fd, answer + b"\\r")
        sent = True
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "screen": screen.decode("utf8", "replace")}))
`;
  const result = spawnSync("python3", ["-c", script, JSON.stringify([process.execPath, cliPath, ...args]), answer], {
    cwd,
    env: { ...process.env, STACKYARD_STORE: "", FORCE_COLOR: "0" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`python3 pty failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { code: number; screen: string };
}
