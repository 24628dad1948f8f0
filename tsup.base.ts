import { defineConfig, type Options } from "tsup";

/**
 * The build every package shares: ESM for Node 20+, declarations, source maps.
 * zod stays external everywhere: one copy, from @stackyard/core's peer, so
 * schemas made by a flavor are the ones the CLI checks.
 */
export function packageConfig(entry: Options["entry"], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ["esm"],
    target: "node20",
    // tsup passes baseUrl, which TypeScript 6 deprecates.
    dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
    clean: true,
    sourcemap: true,
    ...extra,
    external: ["zod", ...(extra.external ?? [])],
  });
}
