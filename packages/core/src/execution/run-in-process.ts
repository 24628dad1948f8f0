import type { RunResult } from "../pipeline/run-options.js";
import { type DriveRunOptions, driveRun } from "./run-driver.js";

/** Options of {@link runSnapshotInProcess}: those of the run driver. */
export type RunInProcessOptions = DriveRunOptions;

/**
 * Runs a compiled snapshot in this process with any {@link RunStore} and
 * artifact store, through the run driver ({@link driveRun}): stores the
 * snapshot, creates the run, runs every step (directly, or through
 * `orchestrator.submit`) and records the final status. A run that fails,
 * inside a step or outside, resolves with status `failed` and is recorded so.
 *
 * The `stackyard` CLI drives its runs the same way, with stacks and the
 * SQLite store; this is the small entry for tests, benchmarks and flavor authors.
 */
export async function runSnapshotInProcess(options: RunInProcessOptions): Promise<RunResult> {
  const { runId, runName, status, steps } = await driveRun(options);
  return { runId, runName, status, steps };
}
