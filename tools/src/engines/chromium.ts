import { existsSync } from "node:fs";
import { installDebianPackages } from "./docker.js";

/** Where Debian's package puts the browser (playwright-core drives it by path; it downloads nothing). */
export const chromiumPath = "/usr/bin/chromium";

/**
 * Debian's Chromium for browser tests, installed with apt-get when missing.
 * A browser that cannot be installed is an error, never a skip.
 * Returns the executable to pass to playwright-core's `launch`.
 */
export async function ensureChromium(): Promise<string> {
  if (existsSync(chromiumPath)) return chromiumPath;
  await installDebianPackages(["chromium"], {
    done: () => existsSync(chromiumPath),
    missing: () => chromiumPath,
    fix: "apt-get install -y chromium (Debian's package; no browser is downloaded by the tests).",
  });
  return chromiumPath;
}

/** Launch arguments: root (the test machines) needs --no-sandbox. */
export const chromiumArgs: readonly string[] = typeof process.getuid === "function" && process.getuid() === 0 ? ["--no-sandbox"] : [];
