/**
 * Every published package is clean for publint and for are-the-types-wrong
 * (`--profile esm-only`), checked on the tarball npm would publish, and
 * bundles no third-party module into its build. Needs `npm run build`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attwProblems, bundledModules, publintProblems } from "../src/release/lint-package.js";
import { type PackedPackage, packPackages } from "../src/release/pack.js";
import { workspacePackages } from "../src/release/workspace.js";

const packages = workspacePackages().filter((p) => !p.manifest.private);
let destination: string;
let packed: Map<string, PackedPackage>;

beforeAll(() => {
  destination = mkdtempSync(join(tmpdir(), "stackyard-lint-"));
  packed = new Map(packPackages(packages, destination).map((p) => [p.name, p]));
});

afterAll(() => {
  if (destination) rmSync(destination, { recursive: true, force: true });
});

describe.each(packages.map((p) => [p.manifest.name, p] as const))("%s", (name, pkg) => {
  it("has a lint script that runs tsc, publint and attw --profile esm-only", () => {
    expect(pkg.manifest.scripts?.lint).toBe("tsc -p tsconfig.json && publint && attw --pack . --profile esm-only");
  });

  it("is clean for publint", async () => {
    expect(await publintProblems(packed.get(name)!.tarball)).toEqual([]);
  });

  it("is clean for are-the-types-wrong (esm-only)", async () => {
    expect(await attwProblems(packed.get(name)!.tarball)).toEqual([]);
  });

  it("bundles no third-party module (dependencies stay dependencies)", () => {
    const dist = join(pkg.dir, "dist");
    const files = readdirSync(dist)
      .filter((f) => f.endsWith(".js"))
      .map((f) => ({ path: f, content: readFileSync(join(dist, f), "utf8") }));
    expect(bundledModules(files)).toEqual([]);
  });
});

describe("the checks themselves", () => {
  it("report a package whose types are missing and whose build bundles a dependency", async () => {
    const dir = join(destination, "broken");
    mkdirSync(join(dir, "dist"), { recursive: true });
    const manifest = {
      name: "broken-package",
      version: "1.0.0",
      type: "module",
      files: ["dist"],
      exports: { ".": { types: "./dist/index.d.ts", import: "./dist/index.js" } },
    };
    writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
    writeFileSync(join(dir, "dist/index.js"), "// ../../node_modules/zod/v4/core/core.js\nexport const x = 1;\n");
    const pack = spawnSync("npm", ["pack", "--json", "--pack-destination", destination], { cwd: dir, encoding: "utf8" });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(destination, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);
    expect((await publintProblems(tarball)).join("\n")).toMatch(/error: .*types.*does not exist/);
    expect(await attwProblems(tarball)).not.toEqual([]);
    expect(bundledModules([{ path: "index.js", content: readFileSync(join(dir, "dist/index.js"), "utf8") }])).toEqual(["zod"]);
  });
});
