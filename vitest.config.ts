import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

// Tests import workspace packages from their sources, so a change is tested
// without a rebuild. Subprocess tests (the CLI binary) use the built dist.
const alias = readdirSync(`${root}packages`).flatMap((dir) => {
  const pkgFile = `${root}packages/${dir}/package.json`;
  if (!existsSync(pkgFile)) return [];
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { name: string; exports?: Record<string, unknown> };
  return (
    Object.keys(pkg.exports ?? {})
      .filter((key) => key !== "./package.json")
      .map((key) => {
        const sub = key === "." ? "index" : key.slice(2);
        return { find: new RegExp(`^${pkg.name.replace("/", "\\/")}${key === "." ? "" : "\\/" + sub}$`), replacement: `${root}packages/${dir}/src/${sub}.ts` };
      })
      // Exports built from elsewhere in src (the CLI's ts-hooks) resolve to their dist.
      .filter((entry) => existsSync(entry.replacement))
  );
});

export default defineConfig({
  resolve: { alias },
  test: {
    include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "tools/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: "forks",
  },
});
