/** The kinds of component a stack is made of, plus service connectors. */
export const COMPONENT_TYPES = ["orchestrator", "artifact_store", "container_registry", "service_connector"] as const;

/** A kind of stack component. */
export type ComponentType = (typeof COMPONENT_TYPES)[number];

/** Component types that can be part of a stack (connectors are referenced, not stacked). */
export const STACK_COMPONENT_TYPES = ["orchestrator", "artifact_store", "container_registry"] as const satisfies readonly ComponentType[];

/** A component type that can be part of a stack. */
export type StackComponentType = (typeof STACK_COMPONENT_TYPES)[number];

/** True if `value` names a component type. */
export function isComponentType(value: string): value is ComponentType {
  return (COMPONENT_TYPES as readonly string[]).includes(value);
}

/** `artifact_store` as users type it on the command line: `artifact-store`. */
export function componentTypeCliName(type: ComponentType): string {
  return type.replaceAll("_", "-");
}

/** `artifact_store` as users read it in messages: `artifact store`. */
export function componentTypeLabel(type: ComponentType): string {
  return type.replaceAll("_", " ");
}
