import { packageConfig } from "../../tsup.base.js";

// vitest is the consumer's; never bundle it. No source maps: they would name
// src/*.ts, which the tarball does not ship, so a failing kit's stack trace
// would point at files a flavor author cannot open. Without maps it points at
// dist/*.js, which is shipped and readable (not minified).
export default packageConfig({ index: "src/index.ts", fixtures: "src/fixtures.ts" }, { external: ["vitest", "@stackyard/core"], sourcemap: false });
