import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { EntrypointConfiguration } from "../entrypoint/entrypoint-configuration.js";
import type { MaterializerImporter } from "../materializers/registry.js";
import type { BaseOrchestrator, RunEvents, StepOutcome, SubmitContext } from "../orchestrator/base-orchestrator.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { RunResult } from "../pipeline/run-options.js";
import { formatRunName } from "../pipeline/run-name.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import type { RunStatus, RunStore } from "../store/run-store.js";
import { executeDag } from "./execute-dag.js";
import { runStep } from "./run-step.js";

/** Options of {@link runSnapshotInProcess}. */
export interface RunInProcessOptions {
  pipeline: Pipeline<any>;
  snapshot: PipelineSnapshot;
  store: RunStore;
  artifactStore: BaseArtifactStore;
  /** An orchestrator to submit to; without one, steps run here through {@link executeDag}. */
  orchestrator?: BaseOrchestrator<any>;
  runId?: string;
  runName?: string;
  concurrency?: number;
  failFast?: boolean;
  signal?: AbortSignal;
  events?: Partial<RunEvents>;
  sourceRoot?: string;
  importModule?: MaterializerImporter;
}

/** The final status of a run from its steps' outcomes. */
export function runStatusOf(outcomes: readonly StepOutcome[]): RunStatus {
  if (outcomes.some((o) => o.status === "failed")) return "failed";
  if (outcomes.some((o) => o.status === "stopped")) return "stopped";
  if (outcomes.some((o) => o.status === "skipped")) return "failed";
  return "completed";
}

/**
 * Runs a compiled snapshot in this process with any {@link RunStore} and
 * artifact store: stores the snapshot, creates the run, runs every step
 * (directly, or through `orchestrator.submit` with an in-process
 * {@link SubmitContext}) and records the final status.
 *
 * The `stackyard` CLI has its own client with stacks and the SQLite store;
 * this is the small version for tests, benchmarks and flavor authors.
 */
export async function runSnapshotInProcess(options: RunInProcessOptions): Promise<RunResult> {
  const { snapshot, store, artifactStore } = options;
  const runId = options.runId ?? randomUUID();
  const runName = options.runName ?? formatRunName(snapshot.run_name_template);
  const snapshotPath = `snapshots/${snapshot.id}.json`;
  await artifactStore.writeFile(snapshotPath, JSON.stringify(snapshot));
  const snapshotUri = artifactStore.uri(snapshotPath);
  await store.saveSnapshot(snapshot, snapshotUri);
  const now = new Date().toISOString();
  await store.createRun({
    id: runId,
    name: runName,
    pipeline: snapshot.pipeline.name,
    snapshotId: snapshot.id,
    snapshotUri,
    stack: snapshot.stack.name,
    orchestrator: options.orchestrator?.name ?? "in-process",
    status: "running",
    pid: process.pid,
    host: hostname(),
    created: now,
    started: now,
  });
  const events: RunEvents = {
    stepStatus: options.events?.stepStatus ?? (() => {}),
    stepLog: options.events?.stepLog ?? (() => {}),
    info: options.events?.info ?? (() => {}),
    warn: options.events?.warn ?? (() => {}),
  };
  const signal = options.signal ?? new AbortController().signal;
  const runOne = (stepId: string, stepSignal: AbortSignal = signal): Promise<StepOutcome> =>
    runStep({
      snapshot,
      stepId,
      runId,
      store,
      artifactStore,
      pipeline: options.pipeline,
      signal: stepSignal,
      onLog: (line, stream) => events.stepLog(stepId, line, stream),
      onStatus: (status, detail) => events.stepStatus(stepId, status, detail),
      ...(options.sourceRoot === undefined ? {} : { sourceRoot: options.sourceRoot }),
      ...(options.importModule === undefined ? {} : { importModule: options.importModule }),
    });
  const markStep = async (stepId: string, status: RunStatus, error?: string): Promise<void> => {
    const stepName = snapshot.steps.find((s) => s.id === stepId)?.name ?? stepId;
    await store.putStepRun({ runId, stepId, stepName, status, attempt: 0, outputs: {}, error, ended: new Date().toISOString() });
    events.stepStatus(stepId, status, error);
  };

  let outcomes: StepOutcome[];
  let runError: string | undefined;
  try {
    if (options.orchestrator) {
      const context: SubmitContext = {
        runId,
        runName,
        snapshotUri,
        stack: { name: snapshot.stack.name, orchestrator: options.orchestrator, artifactStore },
        sourceRoot: options.sourceRoot ?? process.cwd(),
        store,
        events,
        signal,
        runStepInProcess: (stepId, stepOptions) => runOne(stepId, stepOptions?.signal ?? signal),
        stepCommand: (stepId) => EntrypointConfiguration.commandFor({ snapshot: snapshotUri, step: stepId, run: runId }),
        stepEnvironment: () => ({}),
        markStep,
      };
      const handle = await options.orchestrator.submit(snapshot, context);
      if (handle.orchestratorRunId) await store.updateRun(runId, { orchestratorRunId: handle.orchestratorRunId });
      outcomes = await handle.wait();
    } else {
      outcomes = await executeDag({
        steps: snapshot.steps,
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        failFast: options.failFast ?? true,
        signal,
        runOne: (stepId) => runOne(stepId),
        markSkipped: (stepId, reason, status) => markStep(stepId, status, reason),
      });
    }
  } catch (error) {
    runError = error instanceof Error ? error.message : String(error);
    outcomes = [];
  }
  const status = runError ? "failed" : runStatusOf(outcomes);
  const failed = outcomes.find((o) => o.status === "failed");
  await store.updateRun(runId, {
    status,
    ended: new Date().toISOString(),
    error: runError ?? (failed ? `step '${failed.stepId}' failed: ${failed.error ?? "unknown error"}` : undefined),
  });
  return { runId, runName, status, steps: outcomes };
}
