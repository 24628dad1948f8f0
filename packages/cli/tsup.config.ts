import { packageConfig } from "../../tsup.base.js";

// Commands are split into chunks and imported lazily, so start-up loads only what a command needs.
// ts-hooks runs on Node's loader thread: its own entry, importing only built-ins (and esbuild on a compile).
export default packageConfig({ index: "src/index.ts", bin: "src/bin.ts", "ts-hooks": "src/source/ts-hooks.ts" }, { splitting: true });
