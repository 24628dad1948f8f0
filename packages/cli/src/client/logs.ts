import type { BaseArtifactStore, BaseOrchestrator, RunRecord, StepRunRecord } from "@stackyard/core";
import type { Project } from "../store/open-project.js";
import type { SqliteRunStore } from "../store/sqlite-run-store.js";
import { loadSnapshotComponent } from "./load-stack.js";

/**
 * A step's captured output: from the artifact store where the step wrote it,
 * or from the orchestrator (CloudWatch for remote steps) when it offers logs.
 */
export async function readStepLogs(project: Project, store: SqliteRunStore, run: RunRecord, step: StepRunRecord): Promise<string> {
  const snapshot = await store.getSnapshot(run.snapshotId);
  if (!snapshot) return "(the run's snapshot is gone)\n";
  const orchestrator = await loadSnapshotComponent<BaseOrchestrator>(project, snapshot, "orchestrator").catch(() => undefined);
  if (orchestrator?.fetchLogs) {
    const text = await orchestrator.fetchLogs(run, step.stepId);
    if (text !== undefined) return text;
  }
  if (!step.logUri) return "(no output recorded)\n";
  const artifactStore = await loadSnapshotComponent<BaseArtifactStore>(project, snapshot, "artifact_store");
  if (!(await artifactStore.exists(step.logUri))) return "(no output recorded)\n";
  return (await artifactStore.readFile(step.logUri)).toString("utf8");
}
