import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/implementation.ts"],
  format: ["esm"],
  target: "node20",
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  clean: true,
  sourcemap: true,
  // zod comes from @stackyard/core (a peer): a bundled second copy would fail
  // the CLI's `configSchema instanceof z.ZodObject` check when the flavor loads.
  external: ["zod"],
});
