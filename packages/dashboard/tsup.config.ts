import { defineConfig } from "tsup";
import { packageConfig } from "../../tsup.base.js";

// Two builds: the server (Node, no dependencies) and the web UI, bundled for
// the browser with its layout library into dist/ui, served as static files.
export default defineConfig([
  // The server build cleans only its own top-level files: the UI build writes dist/ui at the same time.
  packageConfig({ index: "src/index.ts" }, { clean: ["*.js", "*.d.ts", "*.map"] }),
  {
    entry: { app: "src/ui/main.ts" },
    outDir: "dist/ui",
    format: ["iife"],
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: true,
    clean: true,
    dts: false,
    noExternal: [/.*/],
    outExtension: () => ({ js: ".js" }),
  },
]);
