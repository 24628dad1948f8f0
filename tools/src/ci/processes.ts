/** Child processes of the CI scripts, and where the SQLite driver's addon lives. */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Runs a command, its output into `logFile` (or to this terminal when there
 * is none); resolves with the exit code, 1 when it could not start.
 */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; logFile?: string } = {}): Promise<number> {
  return new Promise((resolve) => {
    const { logFile } = options;
    const child = spawn(command, args, { cwd: options.cwd ?? root, env: options.env ?? process.env, stdio: logFile ? ["ignore", "pipe", "pipe"] : "inherit" });
    if (!logFile) {
      child.on("error", () => resolve(1));
      child.on("close", (code) => resolve(code ?? 1));
      return;
    }
    const log = createWriteStream(logFile);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.on("error", (error) => log.write(`\n${error.message}\n`));
    child.on("close", (code) => log.end(() => resolve(code ?? 1)));
  });
}

/** The workspace's better-sqlite3 package. */
export const sqlitePackage = join(root, "node_modules", "better-sqlite3");
/** `linux-x64` and the like, as in the driver's binding folder names. */
export const platformTag = `${process.platform}-${process.arch}`;

/** The installed better-sqlite3 version. */
export function sqliteVersion(): string {
  return (JSON.parse(readFileSync(join(sqlitePackage, "package.json"), "utf8")) as { version: string }).version;
}

/** `lib/binding/node-v<ABI>-<platform>`: where the `bindings` package looks after `build/Release/`. */
export function bindingDir(abi: string): string {
  return join(sqlitePackage, "lib", "binding", `node-v${abi}-${platformTag}`);
}

/** This Node's compiled addon: in `build/Release/` as npm built it, or moved to its ABI folder; undefined when there is none. */
export function thisNodeAddon(): string | undefined {
  return [join(sqlitePackage, "build", "Release", "better_sqlite3.node"), join(bindingDir(process.versions.modules), "better_sqlite3.node")].find((file) =>
    existsSync(file),
  );
}
