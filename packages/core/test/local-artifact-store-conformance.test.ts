import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testArtifactStore } from "@stackyard/conformance";
// Through the package name, as a flavor package would: the suite is typed against the published core.
import { LocalArtifactStore, localArtifactStoreFlavor } from "@stackyard/core";

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
