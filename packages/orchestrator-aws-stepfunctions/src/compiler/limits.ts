import { PipelineDefinitionError } from "@stackyard/core";

/** Service limits of AWS Step Functions and ECS that the compiler enforces. */
export const LIMITS = Object.freeze({
  /** Longest state name, in characters. */
  stateNameLength: 80,
  /** Longest state machine (and execution) name, in characters. */
  stateMachineNameLength: 80,
  /** Largest ECS `overrides` structure, in characters of its JSON (formatting included). */
  containerOverridesChars: 8192,
  /** Largest state machine definition, in bytes (1 MB). */
  definitionBytes: 1_048_576,
  /** Largest input or output of a state, a task or an execution, in bytes of UTF-8 (256 KB). */
  payloadBytes: 262_144,
});

/** Which limit a {@link ServiceLimitError} is about. */
export type LimitName = "state name length" | "state machine name" | "container overrides size" | "definition size" | "payload size";

/**
 * A pipeline that cannot become a state machine because it exceeds an AWS
 * Step Functions or ECS service limit. Names the limit and, where there is
 * one, the step.
 */
export class ServiceLimitError extends PipelineDefinitionError {
  constructor(
    readonly limit: LimitName,
    /** The size the compiler measured. */
    readonly actual: number,
    /** The limit. */
    readonly maximum: number,
    message: string,
    options?: { hint?: string; stepId?: string },
  ) {
    super(message, options?.hint === undefined ? undefined : { hint: options.hint });
    this.stepId = options?.stepId;
  }
  /** The step the limit was exceeded for, if it is about one step. */
  readonly stepId: string | undefined;
}

/** Size of a string in bytes of UTF-8. */
export const utf8Bytes = (text: string): number => Buffer.byteLength(text, "utf8");
