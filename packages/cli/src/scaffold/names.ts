/** The component types `stackyard flavor init` scaffolds, with their CLI spelling. */
export const SCAFFOLD_TYPES = {
  orchestrator: { type: "orchestrator", cli: "orchestrator", suffix: "Orchestrator" },
  "artifact-store": { type: "artifact_store", cli: "artifact-store", suffix: "ArtifactStore" },
  "container-registry": { type: "container_registry", cli: "container-registry", suffix: "ContainerRegistry" },
} as const;

export type ScaffoldType = keyof typeof SCAFFOLD_TYPES;

/** Flavor names, as core's `flavorProblems` accepts them. */
export const FLAVOR_NAME = /^[a-z][a-z0-9_]*$/;

/** npm package names: optional scope, lowercase, no leading dot or underscore. */
export const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

/** Every identifier and name a scaffolded package uses, derived from the flavor name and type. */
export interface ScaffoldNames {
  /** Flavor name users pass to `-f`, e.g. `my_runner`. */
  flavor: string;
  /** npm package name. */
  packageName: string;
  type: (typeof SCAFFOLD_TYPES)[ScaffoldType]["type"];
  cliType: ScaffoldType;
  /** Implementation class, e.g. `MyRunnerOrchestrator`. */
  className: string;
  /** Exported flavor object, e.g. `myRunnerOrchestratorFlavor`. */
  flavorExport: string;
  /** Exported config schema, e.g. `myRunnerOrchestratorConfigSchema`. */
  schemaExport: string;
  /** Config type, e.g. `MyRunnerOrchestratorConfig`. */
  configType: string;
}

export function scaffoldNames(flavor: string, cliType: ScaffoldType, packageName?: string): ScaffoldNames {
  const { type, suffix } = SCAFFOLD_TYPES[cliType];
  const pascal = flavor
    .split("_")
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join("");
  const className = `${pascal}${suffix}`;
  const camel = className[0]!.toLowerCase() + className.slice(1);
  return {
    flavor,
    packageName: packageName ?? `stackyard-${cliType}-${flavor.replaceAll("_", "-")}`,
    type,
    cliType,
    className,
    flavorExport: `${camel}Flavor`,
    schemaExport: `${camel}ConfigSchema`,
    configType: `${className}Config`,
  };
}
