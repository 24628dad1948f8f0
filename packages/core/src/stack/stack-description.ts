import type { StackComponentType } from "../component/component-type.js";

/** What stack validation knows of a component: no implementation is loaded. */
export interface ComponentDescription {
  id: string;
  name: string;
  type: StackComponentType;
  flavor: string;
  /** Config with secrets masked. */
  config: Record<string, unknown>;
  /** From the flavor: whether the component lives outside this machine. */
  remote: boolean;
  /** Name of the service connector it uses, if any. */
  connector?: string | undefined;
}

/** A stack as validation sees it. */
export interface StackDescription {
  name: string;
  components: Partial<Record<StackComponentType, ComponentDescription>>;
}
