import type { ScaffoldNames, ScaffoldType } from "./names.js";
import { artifactStoreImplementation, artifactStoreIndex, artifactStoreTest } from "./templates/artifact-store.js";
import { containerRegistryImplementation, containerRegistryIndex, containerRegistryTest } from "./templates/container-registry.js";
import { orchestratorImplementation, orchestratorIndex, orchestratorTest } from "./templates/orchestrator.js";
import { gitignore, packageJson, readme, type ScaffoldVersions, tsconfigJson, tsupConfig, vitestConfig } from "./templates/package-files.js";

const byType: Record<ScaffoldType, { index(n: ScaffoldNames): string; implementation(n: ScaffoldNames): string; test(n: ScaffoldNames): string }> = {
  orchestrator: { index: orchestratorIndex, implementation: orchestratorImplementation, test: orchestratorTest },
  "artifact-store": { index: artifactStoreIndex, implementation: artifactStoreImplementation, test: artifactStoreTest },
  "container-registry": { index: containerRegistryIndex, implementation: containerRegistryImplementation, test: containerRegistryTest },
};

/** Every file of a scaffolded flavor package, by path relative to its folder. */
export function renderFlavorPackage(names: ScaffoldNames, versions: ScaffoldVersions): Record<string, string> {
  const templates = byType[names.cliType];
  return {
    "package.json": packageJson(names, versions),
    "tsconfig.json": tsconfigJson(),
    "tsup.config.ts": tsupConfig(),
    "vitest.config.ts": vitestConfig(),
    ".gitignore": gitignore(),
    "README.md": readme(names),
    "src/index.ts": templates.index(names),
    "src/implementation.ts": templates.implementation(names),
    [`test/${names.cliType}.test.ts`]: templates.test(names),
  };
}
