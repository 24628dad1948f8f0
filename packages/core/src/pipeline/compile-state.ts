import { PipelineDefinitionError } from "../errors/errors.js";
import type { AfterRef, InputWiring, InvocationOptions, MapSpec, StepDefinition } from "./step.js";

/** One step call recorded while a pipeline body runs. */
export interface Invocation {
  id: string;
  definition: StepDefinition;
  inputs: Record<string, InputWiring>;
  /** Set for a map step (`step.map()`, `step.product()`): one step run per item. */
  map?: MapSpec;
  /** Inputs read from existing artifact versions (`externalArtifact`). */
  external?: Record<string, { name: string; version?: number; tag?: string }>;
  after: AfterRef[];
  options: InvocationOptions<any>;
}

/** What a pipeline body records while it compiles. */
export interface CompileState {
  pipelineName: string;
  invocations: Invocation[];
  byId: Map<string, Invocation>;
  /** Per step name, the suffix to try next for its default invocation id (`name_2`, `name_3`, ...). */
  nextSuffix?: Map<string, number>;
}

// Kept on globalThis so that two copies of core (a bundled dist and the
// sources, or two versions) still see the same compiling pipeline.
const KEY = Symbol.for("stackyard.compileState");
type Holder = { [KEY]?: CompileState | undefined };

/** The pipeline being compiled right now, if any. */
export function currentCompileState(): CompileState | undefined {
  return (globalThis as Holder)[KEY];
}

/**
 * Runs a pipeline body with a fresh compile state and returns what it
 * recorded. Bodies are synchronous, so a plain global is enough.
 */
export function recordInvocations(pipelineName: string, body: () => unknown): CompileState {
  const holder = globalThis as Holder;
  const previous = holder[KEY];
  const state: CompileState = { pipelineName, invocations: [], byId: new Map(), nextSuffix: new Map() };
  holder[KEY] = state;
  let result: unknown;
  try {
    result = body();
  } finally {
    holder[KEY] = previous;
  }
  if (result && typeof (result as PromiseLike<unknown>).then === "function") {
    // The abandoned promise must not surface as an unhandled rejection.
    (result as Promise<unknown>).then(undefined, () => {});
    throw new PipelineDefinitionError(`The body of pipeline '${pipelineName}' returned a promise: pipeline bodies must be synchronous`, {
      hint: "Remove `async` and `await` from the body; step calls only wire the DAG, the work happens inside the steps.",
    });
  }
  return state;
}
