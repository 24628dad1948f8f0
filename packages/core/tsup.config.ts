import { packageConfig } from "../../tsup.base.js";

// errors and component-type are entries of their own, free of zod, for callers that must start fast;
// code splitting keeps one copy of each class, shared with the main entry.
export default packageConfig(["src/index.ts", "src/errors.ts", "src/component-type.ts"]);
