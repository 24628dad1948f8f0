import { mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { ConfigError, STEP_ENV } from "@stackyard/core";
import { compilePlan } from "../../source/ts-hooks.js";
import { info } from "../output.js";

const TYPESCRIPT_FILE = /\.([cm]?ts|tsx)$/;

/** The project's TypeScript files under `root`: not in node_modules or dot-folders, not declaration files. */
function typescriptFiles(root: string, out: string[] = []): string[] {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(root, entry.name);
    if (entry.isDirectory()) typescriptFiles(path, out);
    else if (entry.isFile() && TYPESCRIPT_FILE.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

/**
 * `stackyard step precompile [--into DIR]`: compiles the project's TypeScript
 * files (under the source root) into DIR, as a step process would on first
 * import, so that step processes started from an image built with them
 * compile nothing. Step images run it when they are built. A file that does
 * not compile is left for the step process to report.
 */
export async function precompileCommand(opts: { into?: string }): Promise<void> {
  const into = opts.into ?? process.env[STEP_ENV.precompiled];
  if (!into) throw new ConfigError(`Where to put the compiled files: give --into DIR or set ${STEP_ENV.precompiled}`);
  const root = resolve(process.env[STEP_ENV.sourceRoot] || process.cwd());
  const folder = resolve(into);
  mkdirSync(folder, { recursive: true, mode: 0o755 });
  const { transform } = await import("esbuild");
  let compiled = 0;
  const failed: string[] = [];
  for (const file of typescriptFiles(root)) {
    const plan = compilePlan(file, folder);
    try {
      const { code } = await transform(plan.source, plan.options);
      const temp = `${plan.cacheFile}.${process.pid}.tmp`;
      writeFileSync(temp, code, { mode: 0o644 });
      renameSync(temp, plan.cacheFile);
      compiled++;
    } catch {
      failed.push(relative(root, file));
    }
  }
  info(`Precompiled ${compiled} TypeScript file(s) under ${root} into ${folder}.`);
  if (failed.length) info(`Not compiled (a step that imports one reports why): ${failed.join(", ")}`);
}
