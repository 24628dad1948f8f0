import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError } from "@stackyard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contextDigest, listContext, locateContext, type SecretFile, splitContext } from "../src/index.js";
import { type Fixture, makeFixture } from "./fixture.js";

describe("build context", () => {
  let fixture: Fixture;
  beforeEach(() => {
    fixture = makeFixture();
  });
  afterEach(() => fixture.remove());

  it("is the folder whose node_modules resolves stackyard, with the source root and bin inside it", () => {
    expect(locateContext(fixture.sourceRoot)).toEqual({ root: fixture.root, sourceRootInContext: "app", stackyardBin: "node_modules/stackyard/bin.js" });
  });

  it("is build_context_root when set, and must contain the source root", () => {
    expect(locateContext(fixture.sourceRoot, ".")).toEqual({ root: fixture.sourceRoot, sourceRootInContext: "", stackyardBin: undefined });
    expect(() => locateContext(fixture.root, "app")).toThrow(ConfigError);
  });

  it("says what to do when no node_modules has stackyard", () => {
    expect(() => locateContext(path.parse(fixture.root).root)).toThrow(/npm install stackyard.*|No node_modules/);
  });

  it("honours .dockerignore and the built-in excludes, and keeps symlinks as links", async () => {
    const entries = await listContext(fixture.root);
    const paths = entries.map((e) => e.path);
    expect(paths).toContain("app/pipeline.ts");
    expect(paths).not.toContain("secret.env");
    expect(paths.filter((p) => p.includes("data") || p.endsWith(".log") || p.includes(".git") || p.includes(".stackyard"))).toEqual([]);
    expect(paths).not.toContain(".dockerignore");
    expect(entries.find((e) => e.path === "node_modules/@fixture/lib")).toMatchObject({ type: "symlink", linkname: "../../packages/lib" });
  });

  it("lets a ! exception bring a file back from an excluded folder", async () => {
    fixture.write("custom.dockerignore", "app\n!app/pipeline.ts\n");
    const paths = (await listContext(fixture.root, path.join(fixture.root, "custom.dockerignore"))).map((e) => e.path);
    expect(paths).toContain("app/pipeline.ts");
    expect(paths.filter((p) => p.startsWith("app/") && p !== "app/pipeline.ts")).toEqual([]);
  });

  it("walks an excluded folder only where a ! exception can reach, with wildcards and **", async () => {
    fixture.write("big/deep/a/file.txt", "x\n");
    fixture.write("custom.dockerignore", "packages\nbig\nnode_modules\n!packages/*/index.js\n!node_modules/**/package.json\n");
    const paths = (await listContext(fixture.root, path.join(fixture.root, "custom.dockerignore"))).map((e) => e.path);
    expect(paths.filter((p) => p.startsWith("packages") || p.startsWith("big") || p.startsWith("node_modules"))).toEqual([
      "node_modules/left-pad/package.json",
      "node_modules/stackyard/package.json",
      "packages/lib/index.js",
    ]);
  });

  it("digests content: a changed file changes it, a touched file does not", async () => {
    const digest = async () => contextDigest({ contextRoot: fixture.root, entries: await listContext(fixture.root), cacheDir: fixture.cacheDir });
    const first = await digest();
    expect(await digest()).toBe(first);
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(fixture.sourceRoot, "pipeline.ts"), later, later);
    expect(await digest()).toBe(first);
    fixture.write("app/pipeline.ts", "export const answer = 43;\n");
    expect(await digest()).not.toBe(first);
    fixture.write("secret.env", "TOKEN=changed\n");
    const afterIgnored = await digest();
    fixture.write("app/pipeline.ts", "export const answer = 42;\n");
    expect(await digest()).toBe(first);
    expect(afterIgnored).not.toBe(first);
  });

  it("splits node_modules (root, nested, workspace packages' own) from the rest; workspace links point into the rest", async () => {
    fixture.write("packages/lib/node_modules/only-in-lib/index.js", "module.exports = 1;\n");
    fixture.write("node_modules/left-pad/node_modules/inner/index.js", "module.exports = 2;\n");
    const { dependencies, rest } = splitContext(await listContext(fixture.root));
    const deps = dependencies.map((e) => e.path);
    expect(deps).toContain("node_modules");
    expect(deps).toContain("node_modules/left-pad/node_modules/inner/index.js");
    expect(deps).toContain("packages/lib/node_modules/only-in-lib/index.js");
    // The folders above a nested node_modules come along (modes kept); their files do not.
    expect(deps.filter((p) => !p.split("/").includes("node_modules"))).toEqual(["packages", "packages/lib"]);
    expect(rest.map((e) => e.path).filter((p) => p.split("/").includes("node_modules"))).toEqual([]);
    expect(rest.map((e) => e.path)).toEqual(expect.arrayContaining(["app/pipeline.ts", "packages/lib/index.js", "packages/lib/package.json"]));
    expect(dependencies.find((e) => e.path === "node_modules/@fixture/lib")).toMatchObject({ type: "symlink", linkname: "../../packages/lib" });
  });

  it("leaves out .test-tmp folders except the path to the source root, and tool caches in node_modules", async () => {
    fixture.write(".test-tmp/mine/sub/pipeline.ts", "export const x = 1;\n");
    fixture.write(".test-tmp/mine/notes.md", "kept\n");
    fixture.write(".test-tmp/theirs/pipeline.ts", "export const y = 1;\n");
    fixture.write(".test-tmp/loose.txt", "x\n");
    fixture.write("packages/lib/.test-tmp/other/file.txt", "x\n");
    fixture.write("node_modules/.vite/vitest/results.json", "{}");
    fixture.write("node_modules/.vite-temp/vite.config.ts.timestamp-1.mjs", "");
    fixture.write("node_modules/.cache/tool/x", "");
    const scratch = (sourceRootInContext?: string) =>
      listContext(fixture.root, undefined, { sourceRootInContext }).then((es) =>
        es.map((e) => e.path).filter((p) => p.includes(".test-tmp") || /node_modules\/\.(vite|cache)/.test(p)),
      );
    // From a project under .test-tmp: that project only (all of it, nested .test-tmp folders below the source root excepted).
    fixture.write(".test-tmp/mine/sub/.test-tmp/deeper.txt", "x\n");
    expect(await scratch(".test-tmp/mine/sub")).toEqual([
      ".test-tmp",
      ".test-tmp/mine",
      ".test-tmp/mine/notes.md",
      ".test-tmp/mine/sub",
      ".test-tmp/mine/sub/pipeline.ts",
    ]);
    expect(await scratch(".test-tmp/mine")).toEqual([
      ".test-tmp",
      ".test-tmp/mine",
      ".test-tmp/mine/notes.md",
      ".test-tmp/mine/sub",
      ".test-tmp/mine/sub/pipeline.ts",
    ]);
    // The source root is the .test-tmp folder itself: everything in it.
    expect(await scratch(".test-tmp")).toContain(".test-tmp/theirs/pipeline.ts");
    // Elsewhere (or not said): none.
    expect(await scratch("app")).toEqual([]);
    expect(await scratch()).toEqual([]);
  });
});

describe("secret-looking files", () => {
  let fixture: Fixture;
  beforeEach(() => {
    fixture = makeFixture();
    for (const file of secretKinds) fixture.write(file, "do-not-ship\n");
    fixture.write("app/config/db-password.txt", "hunter2\n");
    fixture.write("app/tokens.json", "{}");
    fixture.write("app/src/secrets.ts", "export const read = () => process.env.TOKEN;\n");
    fixture.write("node_modules/ca-bundle/cacert.pem", "-----BEGIN CERTIFICATE-----\n");
    fixture.write("node_modules/some-tool/.npmrc", "package-lock=false\n");
  });
  afterEach(() => fixture.remove());

  // One of each kind, at the root and in the source root.
  const secretKinds = [
    ".env",
    "app/.env",
    "app/.env.production",
    ".npmrc",
    "app/.npmrc",
    ".aws/credentials",
    "app/.aws/config",
    "app/certs/server.pem",
    "app/certs/server.key",
    "app/id_rsa",
    "app/keys/id_rsa.pub",
    "app/keys/id_ed25519",
    "app/secrets.json",
    "app/.ssh/known_hosts",
  ];

  async function list(dockerignore?: string) {
    if (dockerignore !== undefined) fixture.write(".dockerignore", dockerignore);
    const files: SecretFile[] = [];
    const paths = (await listContext(fixture.root, undefined, { onSecretFile: (f) => files.push(f) })).map((e) => e.path);
    return { paths, files };
  }

  it("are left out by default, and each is reported", async () => {
    const { paths, files } = await list();
    for (const file of secretKinds) expect(paths).not.toContain(file);
    expect(paths.filter((p) => /(^|\/)\.(aws|ssh)(\/|$)/.test(p))).toEqual([]);
    expect(paths).toContain("app/pipeline.ts");
    expect(files.filter((f) => f.verdict === "left-out").map((f) => f.path)).toEqual([
      ".aws/",
      ".env",
      ".npmrc",
      "app/.aws/",
      "app/.env",
      "app/.env.production",
      "app/.npmrc",
      "app/.ssh/",
      "app/certs/server.key",
      "app/certs/server.pem",
      "app/id_rsa",
      "app/keys/id_ed25519",
      "app/keys/id_rsa.pub",
      "app/secrets.json",
    ]);
  });

  it("in node_modules are the packages' own, and stay", async () => {
    const { paths, files } = await list();
    expect(paths).toEqual(expect.arrayContaining(["node_modules/ca-bundle/cacert.pem", "node_modules/some-tool/.npmrc"]));
    expect(files.filter((f) => f.path.startsWith("node_modules"))).toEqual([]);
  });

  it("go in with a warning when their name says secret and nothing leaves them out; code named so does not warn", async () => {
    const { paths, files } = await list();
    expect(paths).toEqual(expect.arrayContaining(["app/config/db-password.txt", "app/tokens.json", "app/src/secrets.ts"]));
    expect(files.filter((f) => f.verdict === "suspect").map((f) => f.path)).toEqual(["app/config/db-password.txt", "app/tokens.json"]);
  });

  it("come back when a ! line names them, and are reported as brought back", async () => {
    const { paths, files } = await list("!app/.env.production\n!*.pem\n!**/*.pem\n!.aws\n!app/.aws/config\n");
    const back = ["app/.env.production", "app/certs/server.pem", ".aws/credentials", "app/.aws/config"];
    expect(paths).toEqual(expect.arrayContaining(back));
    expect(
      files
        .filter((f) => f.verdict === "brought-back")
        .map((f) => f.path)
        .sort(),
    ).toEqual([...back].sort());
    for (const file of ["app/.env", ".env", "app/certs/server.key", "app/id_rsa"]) expect(paths).not.toContain(file);
  });

  it("do not come back through a ! line for a folder above them, a bare wildcard, or a later exclude", async () => {
    const { paths, files } = await list("*\n!*\n!app\n!app/**\n!app/id_rsa\napp/id_rsa\n");
    expect(paths).toContain("app/pipeline.ts");
    for (const file of secretKinds) expect(paths).not.toContain(file);
    expect(files.filter((f) => f.verdict === "brought-back")).toEqual([]);
  });
});

describe("built-in excludes", () => {
  it("stay excluded when the .dockerignore brings everything back with '!'", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "ctx-builtins-"));
    try {
      mkdirSync(path.join(root, ".stackyard"));
      writeFileSync(path.join(root, ".stackyard", "stackyard.db"), "store");
      writeFileSync(path.join(root, "pipeline.ts"), "export {}");
      writeFileSync(path.join(root, ".dockerignore"), "*\n!*\n!.stackyard\n!.stackyard/**\n");
      const paths = (await listContext(root)).map((e) => e.path);
      expect(paths).toContain("pipeline.ts");
      expect(paths.filter((p) => p.startsWith(".stackyard"))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
