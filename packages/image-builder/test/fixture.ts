import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** A small npm project as a user would have it: node_modules with `stackyard`, a workspace link, a source root below. */
export interface Fixture {
  /** The folder holding node_modules: the build context root. */
  root: string;
  /** The source root (holds `.stackyard/`), `<root>/app`. */
  sourceRoot: string;
  /** A cache folder for the file hashes, private to this fixture. */
  cacheDir: string;
  write(relative: string, content: string): void;
  remove(): void;
}

export function makeFixture(): Fixture {
  const root = mkdtempSync(path.join(os.tmpdir(), "stackyard-image-fixture-"));
  const write = (relative: string, content: string): void => {
    const file = path.join(root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  write("package.json", JSON.stringify({ name: "fixture", private: true, workspaces: ["packages/*"] }));
  // Unique files, so a first build in this run is really a first build (of the dependency image too).
  write("run-id.txt", randomUUID());
  write("node_modules/.fixture-run-id.txt", randomUUID());
  write("node_modules/stackyard/package.json", JSON.stringify({ name: "stackyard", version: "0.0.0-fixture", bin: { stackyard: "bin.js" } }));
  write(
    "node_modules/stackyard/bin.js",
    `#!/usr/bin/env node\nconsole.log(JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), sourceRoot: process.env.STACKYARD_SOURCE_ROOT, greeting: process.env.GREETING }));\n`,
  );
  mkdirSync(path.join(root, "node_modules/.bin"), { recursive: true });
  symlinkSync("../stackyard/bin.js", path.join(root, "node_modules/.bin/stackyard"));
  write("node_modules/left-pad/package.json", JSON.stringify({ name: "left-pad", version: "1.3.0", main: "index.js" }));
  write("node_modules/left-pad/index.js", `module.exports = (s, n, c = " ") => String(s).padStart(n, c);\n`);
  // npm workspaces link packages like this; the link stays valid when the whole root is copied.
  write("packages/lib/package.json", JSON.stringify({ name: "@fixture/lib", version: "1.0.0", main: "index.js" }));
  write("packages/lib/index.js", `module.exports = "lib " + require("left-pad")("ok", 4);\n`);
  mkdirSync(path.join(root, "node_modules/@fixture"), { recursive: true });
  symlinkSync("../../packages/lib", path.join(root, "node_modules/@fixture/lib"));
  write(".dockerignore", "# secrets and data stay out\nsecret.env\n**/data\n");
  write("secret.env", "TOKEN=do-not-ship\n");
  write(".git/HEAD", "ref: refs/heads/main\n");
  write("app/.stackyard/config.json", "{}");
  write("app/pipeline.ts", `export const answer = 42;\n`);
  write("app/data/big.csv", "a,b\n1,2\n");
  write("app/debug.log", "noise\n");
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), "stackyard-image-cache-"));
  return {
    root,
    sourceRoot: path.join(root, "app"),
    cacheDir,
    write,
    remove: () => {
      rmSync(root, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}
