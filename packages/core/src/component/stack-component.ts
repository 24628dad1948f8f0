import type { ServiceConnector } from "../connector/service-connector.js";
import { type ComponentType, componentTypeLabel } from "./component-type.js";

/**
 * What a component is constructed with. The config has already been
 * validated against its flavor's schema (secrets included) and is frozen.
 */
export interface ComponentInit<C> {
  /** Stable id assigned by the store. */
  id: string;
  /** The name the user registered it under. */
  name: string;
  /** The flavor's name. */
  flavor: string;
  /** Validated, frozen config. */
  config: Readonly<C>;
  /** The service connector this component authenticates through, if any. */
  connector?: ServiceConnector | undefined;
  /** The folder where `stackyard init` made `.stackyard/`. */
  sourceRoot: string;
}

/**
 * Base class of every stack component implementation (orchestrators,
 * artifact stores, container registries, service connectors).
 *
 * Implementations are loaded lazily: the CLI constructs one only when a
 * pipeline run or a command actually uses it.
 */
export abstract class StackComponent<C = Record<string, unknown>> {
  /** Which kind of component this is. */
  abstract readonly type: ComponentType;
  readonly id: string;
  readonly name: string;
  readonly flavor: string;
  readonly config: Readonly<C>;
  readonly connector: ServiceConnector | undefined;
  readonly sourceRoot: string;

  constructor(init: ComponentInit<C>) {
    this.id = init.id;
    this.name = init.name;
    this.flavor = init.flavor;
    this.config = Object.freeze({ ...init.config }) as Readonly<C>;
    this.connector = init.connector;
    this.sourceRoot = init.sourceRoot;
  }

  /** A label for messages: `orchestrator 'my_docker' (flavor docker)`. */
  describe(): string {
    return `${componentTypeLabel(this.type)} '${this.name}' (flavor ${this.flavor})`;
  }
}

/** A class that implements a flavor. */
export type ComponentClass<C = any, T extends StackComponent<C> = StackComponent<C>> = new (init: ComponentInit<C>) => T;
