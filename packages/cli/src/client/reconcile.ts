import { hostname } from "node:os";
import { type BaseOrchestrator, type RunRecord, type Stack, StackyardError } from "@stackyard/core";
import type { Project } from "../store/open-project.js";
import type { SqliteRunStore } from "../store/sqlite-run-store.js";
import { loadSnapshotComponent, loadStack } from "./load-stack.js";

const ACTIVE = new Set(["initializing", "running", "retrying"]);

async function orchestratorContext(project: Project, store: SqliteRunStore, run: RunRecord) {
  const snapshot = await store.getSnapshot(run.snapshotId);
  if (!snapshot) {
    // A run imported from its orchestrator whose snapshot could not be read: the stack it was found on.
    if (!store.importedRun(run.id)) return undefined;
    const { stack } = await loadStack(project, run.stack).catch(() => ({ stack: undefined }));
    return stack && { orchestrator: stack.orchestrator, stack };
  }
  const orchestrator = await loadSnapshotComponent<BaseOrchestrator>(project, snapshot, "orchestrator");
  const stack = { name: run.stack, orchestrator, artifactStore: await loadSnapshotComponent(project, snapshot, "artifact_store") } as Stack;
  return { orchestrator, stack };
}

/**
 * Brings a remote run's record up to date from where it runs (Step Functions
 * execution status and the step records its containers wrote).
 */
export async function reconcileRun(project: Project, store: SqliteRunStore, run: RunRecord): Promise<RunRecord> {
  if (!ACTIVE.has(run.status) || run.pid || !run.orchestratorRunId) return run;
  const context = await orchestratorContext(project, store, run);
  if (!context?.orchestrator.fetchStatus) return run;
  const update = await context.orchestrator.fetchStatus(run, { store, stack: context.stack });
  for (const outcome of update.steps ?? []) {
    const current = await store.getStepRun(run.id, outcome.stepId);
    if (!current || current.status !== outcome.status) {
      await store.putStepRun({
        ...(current ?? { runId: run.id, stepId: outcome.stepId, stepName: outcome.stepId, attempt: 1, outputs: {} }),
        status: outcome.status,
        error: outcome.error,
      });
    }
  }
  const patch: Partial<RunRecord> = { status: update.status, ...(update.error ? { error: update.error } : {}) };
  if (!ACTIVE.has(update.status)) patch.ended = new Date().toISOString();
  await store.updateRun(run.id, patch);
  return { ...run, ...patch };
}

/**
 * Stops what a run whose runner died left going, through its orchestrator's
 * `stop` where it has one (a docker run's step containers are killed and
 * removed; an in-process run left nothing).
 */
export async function stopLeftovers(project: Project, store: SqliteRunStore, run: RunRecord): Promise<void> {
  const context = await orchestratorContext(project, store, run);
  if (context?.orchestrator.stop) await context.orchestrator.stop(run, { store, stack: context.stack });
}

/** Stops a run: signals its local runner, or asks its orchestrator. */
export async function stopRunNow(project: Project, store: SqliteRunStore, run: RunRecord): Promise<void> {
  if (run.pid && run.host === hostname()) {
    // The runner turns SIGINT into an abort: it stops its steps (and containers) and records the run as stopped.
    process.kill(run.pid, "SIGINT");
    return;
  }
  const context = await orchestratorContext(project, store, run);
  if (!context?.orchestrator.stop) {
    throw new StackyardError(`The orchestrator of run '${run.name}' (${context?.orchestrator.flavor ?? "unknown flavor"}) cannot stop runs`);
  }
  await context.orchestrator.stop(run, { store, stack: context.stack });
  await store.updateRun(run.id, { status: "stopped", ended: new Date().toISOString() });
}
