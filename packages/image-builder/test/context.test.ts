import { utimesSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "@stackyard/core";
import { contextDigest, listContext, locateContext } from "../src/index.js";
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
});
