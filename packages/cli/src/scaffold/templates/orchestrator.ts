import type { ScaffoldNames } from "../names.js";

export function orchestratorIndex(n: ScaffoldNames): string {
  return `/**
 * \`${n.packageName}\`: the \`${n.flavor}\` orchestrator flavor for Stackyard.
 *
 * This module stays light (zod and @stackyard/core): the CLI imports it to
 * list, describe and validate components, and loads the implementation only
 * when a pipeline runs on it.
 *
 * @packageDocumentation
 */
import { defineFlavor } from "@stackyard/core";
import { z } from "zod";

/** Component config of a \`${n.flavor}\` orchestrator: \`--key=value\` on \`stackyard orchestrator register\`. */
export const ${n.schemaExport} = z.strictObject({
  concurrency: z.number().int().positive().default(4).describe("Most steps running at once"),
  fail_fast: z.boolean().default(true).describe("After a step fails, start no new step and skip the rest"),
});
export type ${n.configType} = z.output<typeof ${n.schemaExport}>;

/** The \`${n.flavor}\` orchestrator flavor. */
export const ${n.flavorExport} = defineFlavor({
  name: "${n.flavor}",
  type: "orchestrator",
  description: "Runs steps in this process, independent steps in parallel",
  configSchema: ${n.schemaExport},
  remote: false,
  packageName: "${n.packageName}",
  // The only place the implementation (and whatever it imports) is loaded.
  implementation: async () => (await import("./implementation.js")).${n.className},
});
`;
}

export function orchestratorImplementation(n: ScaffoldNames): string {
  return `import {
  BaseOrchestrator,
  executeDag,
  type OrchestratorCapabilities,
  type PipelineSnapshot,
  type RunHandle,
  type SubmitContext,
} from "@stackyard/core";
import type { ${n.configType} } from "./index.js";

/**
 * Runs a snapshot's steps in this process, in topological order, independent
 * steps in parallel up to \`concurrency\`.
 *
 * To run each step somewhere else (a container, a cloud job), replace
 * \`context.runStepInProcess(stepId)\` with something that executes
 * \`context.stepCommand(stepId)\` with \`context.stepEnvironment(stepId)\` there
 * and resolves with the step's outcome.
 */
export class ${n.className} extends BaseOrchestrator<${n.configType}> {
  readonly capabilities: OrchestratorCapabilities = {
    remote: false,
    synchronous: true,
    schedulable: false,
    honoursResources: false,
    parallel: true,
    // executeDag runs map steps (step.map()) given context.maps: each item is one runOne("score[3]").
    mapSteps: true,
  };

  async submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle> {
    const outcomes = await executeDag({
      steps: snapshot.steps,
      concurrency: this.config.concurrency,
      failFast: this.config.fail_fast,
      signal: context.signal,
      runOne: (stepId) => context.runStepInProcess(stepId, { signal: context.signal }),
      markSkipped: (stepId, reason, status) => context.markStep(stepId, status, reason),
      maps: context.maps,
    });
    return { wait: async () => outcomes };
  }
}
`;
}

export function orchestratorTest(n: ScaffoldNames): string {
  return `import { testOrchestrator } from "@stackyard/conformance";
import { ${n.flavorExport} } from "../src/index.js";

// The behaviour every Stackyard orchestrator must have: DAG order, parallel
// steps, failures, retries, artifacts, run records.
testOrchestrator({
  name: "${n.flavor}",
  flavor: ${n.flavorExport},
  config: { concurrency: 4 },
  parallel: true,
  honoursResources: false,
});
`;
}
