// The API reference in docs/api is generated from the TSDoc of @stackyard/core's
// public entry point (`npm run docs:api`). This test generates it again: it
// fails when a public export lacks documentation (TypeDoc's validation is an
// error) or when the committed reference is stale.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const committed = join(repo, "docs/api");
const out = mkdtempSync(join(tmpdir(), "stackyard-api-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe("the API reference", () => {
  it("documents every public export of @stackyard/core and matches docs/api", () => {
    const typedoc = join(repo, "node_modules/typedoc/bin/typedoc");
    const result = spawnSync(process.execPath, [typedoc, "--out", out], { cwd: repo, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(result.status, `typedoc failed (an export without TSDoc?):\n${result.stdout}${result.stderr}`).toBe(0);
    const generated = files(out)
      .map((f) => relative(out, f))
      .sort();
    expect(generated).toContain("README.md");
    expect(generated, "docs/api is stale: run `npm run docs:api` and commit it").toEqual(
      files(committed)
        .map((f) => relative(committed, f))
        .sort(),
    );
    for (const file of generated) {
      expect(readFileSync(join(out, file), "utf8"), `docs/api/${file} is stale: run \`npm run docs:api\``).toBe(readFileSync(join(committed, file), "utf8"));
    }
  }, 180_000);
});
