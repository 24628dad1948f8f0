/**
 * Flavors that ship with the stackyard package. Listed without importing them;
 * `load` imports the flavor module (never its implementation).
 */
export interface BuiltinFlavor {
  type: string;
  name: string;
  source: string;
  description: string;
  remote: boolean;
  load(): Promise<unknown>;
}

export const BUILTIN_FLAVORS: readonly BuiltinFlavor[] = [
  {
    type: "orchestrator",
    name: "local",
    source: "@stackyard/orchestrator-local#localOrchestratorFlavor",
    description: "Runs steps in this process, independent steps in parallel",
    remote: false,
    load: async () => (await import("@stackyard/orchestrator-local")).localOrchestratorFlavor,
  },
  {
    type: "artifact_store",
    name: "local",
    source: "@stackyard/core#localArtifactStoreFlavor",
    description: "Files in a folder on this machine, written atomically",
    remote: false,
    load: async () => (await import("@stackyard/core")).localArtifactStoreFlavor,
  },
];
