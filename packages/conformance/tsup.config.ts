import { packageConfig } from "../../tsup.base.js";

// vitest is the consumer's; never bundle it.
export default packageConfig({ index: "src/index.ts", fixtures: "src/fixtures.ts" }, { external: ["vitest", "@stackyard/core"] });
