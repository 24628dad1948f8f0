import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { PipelineDefinitionError } from "../errors/errors.js";
import { parseParameters } from "./compile.js";
import { recordInvocations } from "./compile-state.js";
import type { Pipeline } from "./pipeline.js";
import type { PipelineSnapshot } from "./snapshot.js";

/**
 * A snapshot whose pipeline parameters are `overrides` over its own, as if
 * it had been compiled with them: the pipeline parameters are checked
 * against the pipeline's schema, its body runs again to give every step its
 * parameters, and the run configuration's step parameters win as they did
 * at compile time. The steps, their wiring, settings and stack stay those of
 * the snapshot; the result is a new snapshot (a new id) that says which one
 * it derives from. What triggering a deployment with parameters runs.
 *
 * @throws ConfigError (from the parameter checks) for an unknown parameter or a value the schema refuses, naming it and `where`.
 * @throws PipelineDefinitionError when the parameters would change the pipeline's steps.
 */
export function applyRunParameters(
  snapshot: PipelineSnapshot,
  pipeline: Pipeline<any>,
  overrides: Record<string, unknown>,
  where = "the run's parameters",
): PipelineSnapshot {
  if (Object.keys(overrides).length === 0) return snapshot;
  const schema = pipeline.options.parameters as z.ZodObject | undefined;
  const parameters = parseParameters(schema, { ...snapshot.pipeline.parameters, ...overrides }, `pipeline '${pipeline.name}'`, where);
  const invocations = recordInvocations(pipeline.name, () => pipeline.body(parameters as never)).byId;
  const ids = snapshot.steps.map((s) => s.id);
  const changed = ids.filter((id) => invocations.get(id)?.definition.name !== snapshot.steps.find((s) => s.id === id)!.name);
  if (changed.length || invocations.size !== ids.length) {
    throw new PipelineDefinitionError(
      `With these parameters pipeline '${pipeline.name}' has other steps than snapshot ${snapshot.id} (${changed.length ? `no '${changed[0]}'` : `${invocations.size} steps instead of ${ids.length}`}): a deployment's steps are fixed`,
      { hint: "Deploy the pipeline again with these parameters: stackyard pipeline deploy SOURCE -p ..." },
    );
  }
  const steps = snapshot.steps.map((step) => {
    const invocation = invocations.get(step.id)!;
    const raw = { ...(invocation.options.parameters as Record<string, unknown> | undefined), ...step.config_parameters };
    return { ...step, parameters: parseParameters(invocation.definition.parametersSchema, raw, `step '${step.id}'`, where) };
  });
  return {
    ...snapshot,
    id: randomUUID(),
    created: new Date().toISOString(),
    derived_from: snapshot.derived_from ?? snapshot.id,
    pipeline: { ...snapshot.pipeline, parameters },
    steps,
  };
}
