import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testArtifactStore } from "@stackyard/conformance";
import { LocalArtifactStore, localArtifactStoreFlavor } from "../src/index.js";

// The shared artifact-store suite, against the local store in a temporary folder.
testArtifactStore({
  name: "local",
  create: async () => {
    const root = mkdtempSync(join(tmpdir(), "stackyard-local-conformance-"));
    const config = localArtifactStoreFlavor.configSchema.parse({ path: root });
    return new LocalArtifactStore({ id: "as-conformance", name: "conformance", flavor: "local", config, sourceRoot: root });
  },
  cleanup: async (store) => rmSync(store.path, { recursive: true, force: true }),
});
