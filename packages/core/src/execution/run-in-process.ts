import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { LocalArtifactStore } from "../artifact-store/local-artifact-store.js";
import { EntrypointConfiguration } from "../entrypoint/entrypoint-configuration.js";
import type { MaterializerImporter } from "../materializers/registry.js";
import type { BaseOrchestrator, RunEvents, StepOutcome, SubmitContext } from "../orchestrator/base-orchestrator.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import { formatRunName } from "../pipeline/run-name.js";
import type { RunResult } from "../pipeline/run-options.js";
import type { PipelineSnapshot } from "../pipeline/snapshot.js";
import { ArtifactStoreRunStore } from "../store/artifact-store-run-store.js";
import { isFinalStatus, type RunStatus, type RunStore } from "../store/run-store.js";
import { executeDag } from "./execute-dag.js";
import { createRunMemo, reuseCachedSteps, runStep } from "./run-step.js";

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
  /**
   * Extra environment for step processes (`context.stepEnvironment`), over
   * the default: `STACKYARD_SOURCE_ROOT`, `STACKYARD_RUN_ID` and
   * `STACKYARD_ARTIFACT_STORE` (the artifact store as JSON), so that
   * `stackyard step run` keeps its records in the artifact store, where this
   * function reads them back when the orchestrator is done.
   */
  stepEnvironment?: (stepId: string) => Record<string, string>;
}

/** Environment variable naming the artifact store of a step process that cannot reach the client's store. */
export const STEP_ARTIFACT_STORE_ENV = "STACKYARD_ARTIFACT_STORE";

/** What a step process needs to load `artifactStore`: its snapshot component, or the built-in local flavor. */
function artifactStoreEnvironment(snapshot: PipelineSnapshot, artifactStore: BaseArtifactStore): string | undefined {
  const component = snapshot.stack.components.artifact_store;
  const flavorSource = component?.flavor_source ?? (artifactStore instanceof LocalArtifactStore ? "@stackyard/core#localArtifactStoreFlavor" : undefined);
  if (!flavorSource) return undefined;
  return JSON.stringify({
    id: artifactStore.id,
    name: artifactStore.name,
    flavor: artifactStore.flavor,
    flavor_source: flavorSource,
    config: artifactStore.config,
  });
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
  if (options.orchestrator && !options.orchestrator.capabilities.honoursResources) {
    const asking = snapshot.steps.filter((s) => Object.keys(s.resources).length).length;
    if (asking) {
      events.warn(
        `orchestrator '${options.orchestrator.name}' cannot enforce resources (cpu_count, gpu_count, memory); ${asking} step(s) ask for them and will run without limits.`,
      );
    }
  }
  const memo = createRunMemo();
  // Steps recorded here; the others ran in other processes and are read back from the artifact store.
  const recordedHere = new Set<string>();
  const runOne = (stepId: string, stepSignal: AbortSignal = signal): Promise<StepOutcome> => {
    recordedHere.add(stepId);
    return runStep({
      snapshot,
      stepId,
      runId,
      store,
      artifactStore,
      pipeline: options.pipeline,
      signal: stepSignal,
      onLog: (line, stream) => events.stepLog(stepId, line, stream),
      onStatus: (status, detail) => events.stepStatus(stepId, status, detail),
      memo,
      ...(options.sourceRoot === undefined ? {} : { sourceRoot: options.sourceRoot }),
      ...(options.importModule === undefined ? {} : { importModule: options.importModule }),
    });
  };
  const markStep = async (stepId: string, status: RunStatus, error?: string): Promise<void> => {
    recordedHere.add(stepId);
    const stepName = snapshot.steps.find((s) => s.id === stepId)?.name ?? stepId;
    await store.putStepRun({ runId, stepId, stepName, status, attempt: 0, outputs: {}, error, ended: new Date().toISOString() });
    events.stepStatus(stepId, status, error);
  };

  let outcomes: StepOutcome[];
  let runError: string | undefined;
  try {
    if (options.orchestrator) {
      const sourceRoot = options.sourceRoot ?? process.cwd();
      const artifactStoreEnv = artifactStoreEnvironment(snapshot, artifactStore);
      const context: SubmitContext = {
        runId,
        runName,
        snapshotUri,
        stack: { name: snapshot.stack.name, orchestrator: options.orchestrator, artifactStore },
        sourceRoot,
        store,
        events,
        signal,
        runStepInProcess: (stepId, stepOptions) => runOne(stepId, stepOptions?.signal ?? signal),
        stepCommand: (stepId) => EntrypointConfiguration.commandFor({ snapshot: snapshotUri, step: stepId, run: runId }),
        stepEnvironment: (stepId) => ({
          STACKYARD_SOURCE_ROOT: sourceRoot,
          STACKYARD_RUN_ID: runId,
          ...(artifactStoreEnv === undefined ? {} : { [STEP_ARTIFACT_STORE_ENV]: artifactStoreEnv }),
          ...options.stepEnvironment?.(stepId),
        }),
        markStep,
      };
      const handle = await options.orchestrator.submit(snapshot, context);
      if (handle.orchestratorRunId) await store.updateRun(runId, { orchestratorRunId: handle.orchestratorRunId });
      outcomes = await readBackSteps(snapshot, runId, await handle.wait(), recordedHere, store, artifactStore);
    } else {
      // Steps the cache answers for without running anything are recorded in one pass; the rest run.
      const reused = await reuseCachedSteps({
        snapshot,
        runId,
        store,
        artifactStore,
        pipeline: options.pipeline,
        memo,
        signal,
        onCached: (stepId) => {
          recordedHere.add(stepId);
          events.stepStatus(stepId, "cached");
        },
      });
      const done = new Set(reused.map((o) => o.stepId));
      const rest = done.size
        ? snapshot.steps.filter((s) => !done.has(s.id)).map((s) => ({ id: s.id, upstream: s.upstream.filter((id) => !done.has(id)) }))
        : snapshot.steps;
      const ran = rest.length
        ? await executeDag({
            steps: rest,
            ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
            failFast: options.failFast ?? true,
            signal,
            runOne: (stepId) => runOne(stepId),
            markSkipped: (stepId, reason, status) => markStep(stepId, status, reason),
          })
        : [];
      const byId = new Map([...reused, ...ran].map((o) => [o.stepId, o]));
      outcomes = snapshot.steps.map((s) => byId.get(s.id)!);
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

/**
 * Copies into `store` the records of steps that ran in other processes
 * (containers running `stackyard step run` with {@link STEP_ARTIFACT_STORE_ENV}):
 * they kept their step runs and artifacts as JSON in the artifact store.
 * A step with no record there gets one from its outcome. Returns the
 * outcomes with the recorded final statuses (a step process knows that it
 * was `cached`; its orchestrator only sees it succeed).
 */
async function readBackSteps(
  snapshot: PipelineSnapshot,
  runId: string,
  outcomes: readonly StepOutcome[],
  recordedHere: ReadonlySet<string>,
  store: RunStore,
  artifactStore: BaseArtifactStore,
): Promise<StepOutcome[]> {
  if (outcomes.every((o) => recordedHere.has(o.stepId))) return [...outcomes];
  const remote = new ArtifactStoreRunStore(artifactStore);
  const reconciled: StepOutcome[] = [];
  for (const outcome of outcomes) {
    if (recordedHere.has(outcome.stepId)) {
      reconciled.push(outcome);
      continue;
    }
    let record = await store.getStepRun(runId, outcome.stepId);
    if (!record || !isFinalStatus(record.status)) {
      record = await remote.getStepRun(runId, outcome.stepId).catch(() => undefined);
      if (record) {
        for (const id of Object.values(record.outputs)) {
          const artifact = (await store.getArtifact(id)) ?? (await remote.getArtifact(id).catch(() => undefined));
          if (artifact) await store.putArtifact(artifact);
        }
        await store.putStepRun(record);
      } else {
        const stepName = snapshot.steps.find((s) => s.id === outcome.stepId)?.name ?? outcome.stepId;
        await store.putStepRun({
          runId,
          stepId: outcome.stepId,
          stepName,
          status: outcome.status,
          attempt: 0,
          outputs: {},
          error: outcome.error,
          ended: new Date().toISOString(),
        });
      }
    }
    // Success or failure is the orchestrator's word; which kind of success (cached) is the record's.
    const refined = record && isFinalStatus(record.status) && SUCCESS.has(record.status) && SUCCESS.has(outcome.status);
    reconciled.push(refined ? { stepId: outcome.stepId, status: record!.status } : outcome);
  }
  return reconciled;
}

const SUCCESS = new Set<RunStatus>(["completed", "cached"]);
