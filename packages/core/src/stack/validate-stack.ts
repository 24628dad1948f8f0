import { componentTypeLabel } from "../component/component-type.js";
import { StackValidationError } from "../errors/errors.js";
import type { AnyFlavor } from "../flavor/flavor.js";
import type { StackDescription } from "./stack-description.js";

/**
 * Rules every stack follows, then each component's flavor rules. Throws one
 * {@link StackValidationError} listing every problem.
 *
 * @param flavorOf looks up the flavor of a component (by type and flavor name);
 *   only flavor modules are imported, never implementations.
 */
export function validateStack(stack: StackDescription, flavorOf: (type: string, flavor: string) => AnyFlavor | undefined): void {
  const problems: string[] = [];
  if (!stack.components.orchestrator) problems.push("it has no orchestrator (add one with -o NAME)");
  if (!stack.components.artifact_store) problems.push("it has no artifact store (add one with -a NAME)");
  for (const component of Object.values(stack.components)) {
    if (!component) continue;
    const flavor = flavorOf(component.type, component.flavor);
    if (flavor?.validateStack) {
      for (const problem of flavor.validateStack(stack)) problems.push(`${componentTypeLabel(component.type)} '${component.name}': ${problem}`);
    }
  }
  if (problems.length) {
    throw new StackValidationError(`Stack '${stack.name}' is not valid: ${problems.join("; ")}`, {
      hint: "Register the missing components, then `stackyard stack update " + stack.name + "` with them.",
    });
  }
}

/**
 * Stack rule for orchestrators that run steps away from this machine: they
 * need a remote artifact store and a container registry.
 */
export function requireRemoteStack(stack: StackDescription): string[] {
  const problems: string[] = [];
  const store = stack.components.artifact_store;
  if (store && !store.remote) {
    problems.push(`needs a remote artifact store, but '${store.name}' (flavor ${store.flavor}) is local: register one such as s3 and use -a`);
  }
  if (!stack.components.container_registry) {
    problems.push("needs a container registry (register one such as aws and use -c)");
  }
  return problems;
}
