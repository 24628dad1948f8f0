import type { RunOrigin } from "@stackyard/core";

/**
 * The key of every execution's input that Stackyard reads: which snapshot
 * the steps run and where the run comes from. A deployment's state machine
 * reads the snapshot from it (`$$.Execution.Input.stackyard.snapshot`), so a
 * trigger, a schedule or a person in the console starts a run by giving it;
 * any machine listing the state machine's executions learns the run from it.
 */
export const INPUT_KEY = "stackyard";

/** Where a deployment's steps find the snapshot URI. */
export const SNAPSHOT_INPUT_PATH = `$$.Execution.Input.${INPUT_KEY}.snapshot`;

/** What `input.stackyard` holds. */
export interface StackyardExecutionInput {
  /** URI of the snapshot in the artifact store. */
  snapshot: string;
  run_name?: string | undefined;
  deployment?: string | undefined;
  deployment_version?: number | undefined;
  schedule?: string | undefined;
  /** The run's parameters (already applied to the snapshot; shown in the console and by `runs describe`). */
  parameters?: Record<string, unknown> | undefined;
}

/** An execution input: the compiler's (`ecs` shared parameters, when any) with `stackyard` set. */
export function executionInput(base: Record<string, unknown> | undefined, run: StackyardExecutionInput): Record<string, unknown> {
  const stackyard: StackyardExecutionInput = { snapshot: run.snapshot };
  if (run.run_name !== undefined) stackyard.run_name = run.run_name;
  if (run.deployment !== undefined) stackyard.deployment = run.deployment;
  if (run.deployment_version !== undefined) stackyard.deployment_version = run.deployment_version;
  if (run.schedule !== undefined) stackyard.schedule = run.schedule;
  if (run.parameters && Object.keys(run.parameters).length) stackyard.parameters = run.parameters;
  return { ...(base ?? {}), [INPUT_KEY]: stackyard };
}

/** `input.stackyard` of an execution's input (JSON), or undefined when it has none (not started by Stackyard). */
export function parseExecutionInput(json: string | undefined): StackyardExecutionInput | undefined {
  if (!json) return undefined;
  let input: unknown;
  try {
    input = JSON.parse(json);
  } catch {
    return undefined;
  }
  const value = (input as Record<string, unknown> | null)?.[INPUT_KEY] as Record<string, unknown> | undefined;
  if (!value || typeof value !== "object" || typeof value.snapshot !== "string") return undefined;
  return {
    snapshot: value.snapshot,
    ...(typeof value.run_name === "string" ? { run_name: value.run_name } : {}),
    ...(typeof value.deployment === "string" ? { deployment: value.deployment } : {}),
    ...(typeof value.deployment_version === "number" ? { deployment_version: value.deployment_version } : {}),
    ...(typeof value.schedule === "string" ? { schedule: value.schedule } : {}),
    ...(value.parameters && typeof value.parameters === "object" ? { parameters: value.parameters as Record<string, unknown> } : {}),
  };
}

/** The run origin an execution input records. */
export function originOf(input: StackyardExecutionInput): RunOrigin {
  return {
    ...(input.deployment !== undefined ? { deployment: input.deployment } : {}),
    ...(input.deployment_version !== undefined ? { deploymentVersion: input.deployment_version } : {}),
    ...(input.schedule !== undefined ? { schedule: input.schedule } : {}),
  };
}

/** What a deployment's `deploy` stores (`DeploymentRef.details`) on Step Functions. */
export interface StepFunctionsDeploymentDetails {
  stateMachineArn: string;
  stateMachineName: string;
  region: string;
  /** The execution input every run starts from (the compiler's shared parameters, when they live there). */
  executionInput: Record<string, unknown>;
  /** State of each step, and each map step's own states, for following an execution. */
  stateNames: Record<string, string>;
  mapStates: Record<string, { expand: string }>;
  /** Task definitions registered for it, by step. */
  taskDefinitions: Record<string, string>;
  images: Record<string, string>;
}

/** A deployment's details, checked: undefined when they are not Step Functions' (a deployment made on another stack). */
export function deploymentDetails(details: Record<string, unknown> | undefined): StepFunctionsDeploymentDetails | undefined {
  if (!details || typeof details.stateMachineArn !== "string" || typeof details.executionInput !== "object") return undefined;
  return details as unknown as StepFunctionsDeploymentDetails;
}
