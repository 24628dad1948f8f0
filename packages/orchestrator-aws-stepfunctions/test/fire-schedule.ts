// For tests that play EventBridge Scheduler: nothing fires on moto by
// itself, so a test reads what a schedule would start (its target and input)
// and starts that execution itself.
import { setTimeout as sleep } from "node:timers/promises";
import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import type { ExecutionBackend, ExecutionStatus } from "../src/deploy/execution-backend.js";
import { parseExecutionInput, type StackyardExecutionInput } from "../src/deploy/execution-input.js";
import { eventBridgeScheduleName } from "../src/deploy/schedules.js";
import { CREDENTIALS, REGION } from "./harness.js";

/** What a schedule starts when it fires. */
export interface FiredSchedule {
  /** The deployment's state machine (the schedule's target). */
  stateMachineArn: string;
  /** The execution input, as EventBridge Scheduler hands it to StartExecution (JSON). */
  input: string;
  /** `input.stackyard`: the snapshot, deployment, version and schedule name. */
  stackyard: StackyardExecutionInput | undefined;
  /** The role EventBridge Scheduler would start it as. */
  roleArn: string;
}

/**
 * Reads a Stackyard schedule from EventBridge Scheduler on `endpoint` (moto)
 * with GetSchedule and returns what firing it starts. `schedule` is the
 * Stackyard name; `prefix` the orchestrator's `state_machine_name_prefix`
 * (default `stackyard-`), `group` its `schedule_group` (default `default`).
 */
export async function fireSchedule(options: { endpoint: string; schedule: string; prefix?: string; group?: string; region?: string }): Promise<FiredSchedule> {
  const scheduler = new SchedulerClient({ region: options.region ?? REGION, endpoint: options.endpoint, credentials: CREDENTIALS });
  try {
    const schedule = await scheduler.send(
      new GetScheduleCommand({ Name: eventBridgeScheduleName(options.prefix ?? "stackyard-", options.schedule), GroupName: options.group ?? "default" }),
    );
    const target = schedule.Target;
    if (!target?.Arn || !target.Input || !target.RoleArn) throw new Error(`Schedule ${schedule.Name} has no target, input or role`);
    return { stateMachineArn: target.Arn, input: target.Input, stackyard: parseExecutionInput(target.Input), roleArn: target.RoleArn };
  } finally {
    scheduler.destroy();
  }
}

/**
 * Starts what a fired schedule starts, as execution `name` on `backend`, and
 * waits until it is no longer running; resolves with its final status.
 */
export async function runFired(
  backend: Pick<ExecutionBackend, "start" | "describe">,
  fired: FiredSchedule,
  name: string,
  pollMs = 500,
): Promise<{ executionArn: string; status: ExecutionStatus }> {
  const { executionArn } = await backend.start({ stateMachineArn: fired.stateMachineArn, name, input: fired.input });
  let status: ExecutionStatus = "RUNNING";
  while (status === "RUNNING" || status === "PENDING_REDRIVE") {
    await sleep(pollMs);
    status = (await backend.describe(executionArn)).status;
  }
  return { executionArn, status };
}
