import { z } from "zod";
import { COMPONENT_TYPES, type ComponentType, isComponentType } from "../component/component-type.js";
import type { ComponentClass, StackComponent } from "../component/stack-component.js";
import type { OrchestratorCapabilities } from "../orchestrator/base-orchestrator.js";
import type { StackDescription } from "../stack/stack-description.js";

/** Which connector a flavor can authenticate through. */
export interface ConnectorRequirement {
  /** Connector type, e.g. `aws`. */
  connectorType: string;
  /** Resource type the component needs from it, e.g. `s3-bucket`. */
  resourceType: string;
}

/**
 * A flavor: the light, importable description of a kind of component.
 *
 * Importing a flavor module must be cheap. Its heavy dependencies (SDKs,
 * native modules) belong to the implementation, which `implementation()`
 * loads with a dynamic `import()` only when a component of this flavor is used.
 *
 * @example
 * ```ts
 * export const MyDockerFlavor = defineFlavor({
 *   name: "my_docker",
 *   type: "orchestrator",
 *   configSchema: z.object({}),
 *   settingsSchema: z.object({ some_setting: z.string().optional() }),
 *   implementation: async () => (await import("./my-docker-orchestrator.js")).MyDockerOrchestrator,
 * });
 * ```
 */
export interface Flavor<S extends z.ZodObject = z.ZodObject, T extends StackComponent<z.output<S>> = StackComponent<any>> {
  /** Flavor name users pass to `-f`, e.g. `docker`. Lowercase, digits and `_`. */
  readonly name: string;
  /** The component type this flavor implements. */
  readonly type: ComponentType;
  /** One line shown in `flavor list`. */
  readonly description?: string;
  /** Validates component config; the single source of its type. Unknown keys are errors. */
  readonly configSchema: S;
  /** Validates per-pipeline and per-step settings (`settings.orchestrator.<flavor>`). */
  readonly settingsSchema?: z.ZodObject;
  /** True when components of this flavor live outside this machine (S3, ECR, Step Functions). */
  readonly remote?: boolean;
  /** Documentation page for users of this flavor. */
  readonly docsUrl?: string;
  /** Documentation of the implementation's API. */
  readonly sdkDocsUrl?: string;
  /** A logo shown by dashboards. */
  readonly logoUrl?: string;
  /** The npm package to install for the implementation; named in errors when it is missing. */
  readonly packageName?: string;
  /** Connectors components of this flavor can use. */
  readonly connectorRequirements?: ConnectorRequirement;
  /**
   * For orchestrators: the capabilities its components declare with their
   * default config, so that `flavor describe` shows them without loading the
   * implementation. Keep it equal to the class's `capabilities` (share one constant).
   */
  readonly capabilities?: Readonly<OrchestratorCapabilities>;
  /**
   * For orchestrators: the source path (`MODULE#EXPORT`, like a flavor's) of
   * a subclass of `EntrypointConfiguration` that its step commands use:
   * options of its own, the run id from the environment, code around each
   * step. Step processes load it by this path too, so it must resolve from
   * the source root wherever steps run. Default: core's `EntrypointConfiguration`.
   */
  readonly entrypoint?: string;
  /**
   * Rules this flavor imposes on the stack it is part of. Returns the
   * problems found, each naming what is missing; an empty list means valid.
   * Runs without loading the implementation.
   */
  validateStack?(stack: StackDescription): string[];
  /** Loads the implementation class with a dynamic `import()`. */
  implementation(): Promise<ComponentClass<z.output<S>, T>>;
}

/** Any flavor, as stored in registries. */
export type AnyFlavor = Flavor<z.ZodObject, StackComponent<any>>;

/** Identity helper that gives a flavor object full type inference. */
export function defineFlavor<S extends z.ZodObject, T extends StackComponent<z.output<S>>>(flavor: Flavor<S, T>): Flavor<S, T> {
  return flavor;
}

const FLAVOR_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Checks that `value` has the shape of a flavor; returns the problems found
 * (empty when it is one). Used when a flavor is registered by source path.
 */
export function flavorProblems(value: unknown): string[] {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) {
    return [`expected a flavor object, got ${value === null ? "null" : typeof value}`];
  }
  const candidate = (typeof value === "function" ? safeConstruct(value) : value) as Record<string, unknown> | undefined;
  if (!candidate) return ["expected a flavor object or a class with a no-argument constructor"];
  const problems: string[] = [];
  if (typeof candidate.name !== "string" || !FLAVOR_NAME.test(candidate.name)) {
    problems.push("'name' must be a lowercase identifier such as my_docker");
  }
  if (typeof candidate.type !== "string" || !isComponentType(candidate.type)) {
    problems.push(
      `'type' must be a component type (${COMPONENT_TYPES.join(", ")})${typeof candidate.type === "string" ? `, not '${candidate.type.slice(0, 40)}'` : ""}`,
    );
  }
  if (!(candidate.configSchema instanceof z.ZodObject)) {
    problems.push("'configSchema' must be a zod object schema (z.object({...}))");
  }
  if (candidate.settingsSchema !== undefined && !(candidate.settingsSchema instanceof z.ZodObject)) {
    problems.push("'settingsSchema' must be a zod object schema when given");
  }
  if (candidate.entrypoint !== undefined && (typeof candidate.entrypoint !== "string" || !/^[^#]+#[A-Za-z_$][\w$]*$/.test(candidate.entrypoint))) {
    problems.push("'entrypoint' must be a source path MODULE#EXPORT naming an EntrypointConfiguration subclass when given");
  }
  if (typeof candidate.implementation !== "function") {
    problems.push("'implementation' must be a function returning a promise of the component class");
  }
  return problems;
}

/** Turns a flavor export (object or class) into a flavor object. */
export function asFlavor(value: unknown): AnyFlavor {
  return (typeof value === "function" ? safeConstruct(value) : value) as AnyFlavor;
}

function safeConstruct(value: Function): unknown {
  try {
    return new (value as new () => unknown)();
  } catch {
    return undefined;
  }
}
