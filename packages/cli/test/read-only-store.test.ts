import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, cliPath, newProject, removeProject, storeContent } from "./cli-harness.js";

/**
 * File modes do not stop root, and these tests may run as root (in CI
 * containers). Then the project is handed to an unprivileged user and the CLI
 * runs as that user through `setpriv`, so the modes below are what a user
 * meets. Without a way to drop privileges as root the tests fail, never skip.
 */
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid);
}

/** Runs the CLI as the project's (unprivileged) owner. */
function cliAsUser(cwd: string, args: string[]): CliResult {
  const env = { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0", HOME: cwd };
  const [command, prefix] = asRoot
    ? [setpriv ?? "setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, cliPath]]
    : [process.execPath, [cliPath]];
  const result = spawnSync(command, [...prefix, ...args], { cwd, env, encoding: "utf8", timeout: 120_000 });
  if (result.error) throw result.error;
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under .stackyard/ but the database's own, with its size. */
function files(dir: string): string {
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? walk(join(folder, e.name))
        : e.name.startsWith("stackyard.db")
          ? []
          : [`${join(folder, e.name)} ${statSync(join(folder, e.name)).size}`],
    );
  return walk(join(dir, ".stackyard")).sort().join("\n");
}

describe("a store that cannot be written", () => {
  let dir: string;
  const stackyard = () => join(dir, ".stackyard");
  const database = () => join(stackyard(), "stackyard.db");
  const runsFolder = () => join(stackyard(), "artifacts", "runs");

  beforeAll(() => {
    if (asRoot && !setpriv) throw new Error("Running as root, these tests need setpriv (util-linux) to run the CLI as an unprivileged user");
    dir = newProject("read-only");
    if (asRoot) chownTree(dir, NOBODY);
    for (const args of [
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoOrchestratorFlavor"],
      ["run", "./pipelines/hello.ts#hello"],
    ]) {
      const out = cliAsUser(dir, args);
      if (out.code !== 0) throw new Error(out.stderr);
    }
  });
  afterAll(() => removeProject(dir));

  const cases: Array<[string, () => string, number, RegExp]> = [
    ["a read-only database file", database, 0o400, /the file .*\.stackyard\/stackyard\.db is not writable \(mode 400\)/],
    ["a read-only .stackyard folder", stackyard, 0o500, /the folder .*\.stackyard is not writable \(mode 500\)/],
  ];

  for (const [what, target, mode, message] of cases) {
    it(`${what}: lists still work, a write says what is not writable and how to fix it, exit 2, nothing written`, () => {
      const before = `${storeContent(dir)}\n${files(dir)}`;
      const saved = statSync(target()).mode & 0o777;
      chmodSync(target(), mode);
      try {
        for (const read of [
          ["stack", "list"],
          ["runs", "list"],
          ["orchestrator", "list"],
        ]) {
          const out = cliAsUser(dir, read);
          expect(out.code, `${read.join(" ")}: ${out.stderr}`).toBe(0);
        }
        expect(cliAsUser(dir, ["runs", "list"]).stdout).toMatch(/hello-.*completed/);
        for (const write of [
          ["orchestrator", "register", "o2", "-f", "demo", "--token=t0ken"],
          ["stack", "register", "s2", "-o", "default", "-a", "default"],
          ["run", "./pipelines/hello.ts#hello"],
        ]) {
          const out = cliAsUser(dir, write);
          expect(out.code, `${write.join(" ")}: ${out.stderr}`).toBe(2);
          expect(out.stderr).toMatch(/The Stackyard store .*stackyard\.db cannot be written/);
          expect(out.stderr).toMatch(message);
          expect(out.stderr).toMatch(new RegExp(`chmod u\\+w ${target().replace(/[.]/g, "\\.")}`));
          expect(out.stderr).not.toMatch(/Unexpected error|at .*\.js:\d+|t0ken/);
        }
      } finally {
        chmodSync(target(), saved);
      }
      expect(`${storeContent(dir)}\n${files(dir)}`).toBe(before);
    });
  }

  it("an artifact folder that cannot be written: runs list works, run refuses before writing anything", () => {
    const before = `${storeContent(dir)}\n${files(dir)}`;
    const saved = statSync(runsFolder()).mode & 0o777;
    chmodSync(runsFolder(), 0o500);
    try {
      expect(cliAsUser(dir, ["runs", "list"]).code).toBe(0);
      const out = cliAsUser(dir, ["run", "./pipelines/hello.ts#hello"]);
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toMatch(
        /The artifact store folder .*\.stackyard\/artifacts cannot be written: the folder .*\.stackyard\/artifacts\/runs is not writable \(mode 500\)/,
      );
      expect(out.stderr).toMatch(/chmod u\+w .*\.stackyard\/artifacts\/runs`/);
      expect(out.stderr).not.toMatch(/Unexpected error|at .*\.js:\d+/);
    } finally {
      chmodSync(runsFolder(), saved);
    }
    expect(`${storeContent(dir)}\n${files(dir)}`).toBe(before);
    // Writable again: runs go on.
    expect(cliAsUser(dir, ["run", "./pipelines/hello.ts#hello"]).code).toBe(0);
  });
});
