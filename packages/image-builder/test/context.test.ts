import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError } from "@stackyard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contextDigest, listContext, locateContext, splitContext } from "../src/index.js";
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
