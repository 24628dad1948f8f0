import { packageConfig } from "../../tsup.base.js";

// Commands are split into chunks and imported lazily, so start-up loads only what a command needs.
export default packageConfig(["src/index.ts", "src/bin.ts"], { splitting: true });
