import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", fixtures: "src/fixtures.ts" },
  format: ["esm"],
  target: "node20",
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  clean: true,
  sourcemap: true,
  // vitest is the consumer's; never bundle it.
  external: ["vitest", "@stackyard/core"],
});
