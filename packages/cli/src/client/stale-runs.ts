import { hostname } from "node:os";
import type { RunRecord, RunStore } from "@stackyard/core";
import { NotWritableError } from "../store/not-writable.js";
import type { Project } from "../store/open-project.js";
import type { SqliteRunStore } from "../store/sqlite-run-store.js";

const ACTIVE = new Set(["initializing", "running", "retrying"]);

/** Whether a process of this machine with that id is still there. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A run driven from this machine whose runner process is gone (killed with
 * SIGKILL, machine crash) can never finish: mark it and its unfinished steps
 * failed. Called by every command that reads runs, so the next reader finds
 * the truth. Remote runs (no pid) are reconciled from their orchestrator.
 * `stopLeftovers` is then given the run, to stop what its runner started
 * and left going (a docker run's step containers); a failure there is only
 * reported.
 */
export async function reapDeadRun(store: RunStore, run: RunRecord, stopLeftovers?: (run: RunRecord) => Promise<void>): Promise<RunRecord> {
  if (!ACTIVE.has(run.status) || !run.pid || run.host !== hostname() || isAlive(run.pid)) return run;
  const ended = new Date().toISOString();
  const error = `the process running it (pid ${run.pid}) ended without finishing the run`;
  try {
    for (const step of await store.listStepRuns(run.id)) {
      if (ACTIVE.has(step.status)) await store.putStepRun({ ...step, status: "failed", error, ended });
    }
    await store.updateRun(run.id, { status: "failed", error, ended });
  } catch (cause) {
    // A read-only store is still read: show the truth, record it when it can be written.
    if (!(cause instanceof NotWritableError)) throw cause;
  }
  const reaped: RunRecord = { ...run, status: "failed", error, ended };
  if (stopLeftovers) {
    await stopLeftovers(reaped).catch((cause: unknown) =>
      process.stderr.write(`Warning: could not stop what run '${run.name}' left running: ${(cause as Error).message ?? cause}\n`),
    );
  }
  return reaped;
}

/**
 * {@link reapDeadRun} for a project's run: a run whose runner died has its
 * orchestrator's `stop` called for what it left going (a docker run's step
 * containers). The orchestrator code is loaded only for such a run.
 */
export function reapDeadProjectRun(project: Project, store: SqliteRunStore, run: RunRecord): Promise<RunRecord> {
  return reapDeadRun(store, run, async (dead) => (await import("./reconcile.js")).stopLeftovers(project, store, dead));
}
