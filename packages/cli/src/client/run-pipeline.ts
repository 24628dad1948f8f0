import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  createRunMemo,
  EntrypointConfiguration,
  formatRunName,
  type Pipeline,
  type PipelineSnapshot,
  RunFailedError,
  type RunOptions,
  type RunResult,
  type RunStatus,
  resolvePipelineSource,
  reuseCachedSteps,
  runStep,
  type StepOutcome,
  type SubmitContext,
} from "@stackyard/core";
import { importModuleFor } from "../source/load-source.js";
import { openProject, type Project } from "../store/open-project.js";
import { SqliteRunStore } from "../store/sqlite-run-store.js";
import { type LoadedStack, loadStack } from "./load-stack.js";
import { RunReporter } from "./reporter.js";

/** Options of {@link runPipeline}: those of `pipeline.run()` plus the CLI's own. */
export interface ClientRunOptions extends RunOptions {
  /** Folder to find the project from (default: the current folder). */
  cwd?: string;
  /** Run on this stack instead of the active one. */
  stack?: string;
  /** The pipeline's source path, when the caller knows it (the `run` command). */
  source?: string;
  /** Print only warnings and errors. */
  quiet?: boolean;
}

/**
 * Runs a pipeline on the active stack: compiles its snapshot, stores it in
 * the store and the artifact store, creates the run, and submits it to the
 * stack's orchestrator. Resolves with the run's outcome; a failed run rejects
 * with a {@link RunFailedError} naming the failed steps.
 */
export async function runPipeline(pipeline: Pipeline, options: ClientRunOptions = {}): Promise<RunResult> {
  const project = openProject(options.cwd ?? process.cwd());
  try {
    return await runPipelineInProject(project, pipeline, options);
  } finally {
    project.close();
  }
}

/**
 * {@link runPipeline} in an open project. `loaded` is the stack as
 * {@link loadStack} gave it, when the caller loaded it already (the `run`
 * command loads it before the pipeline's TypeScript).
 */
export async function runPipelineInProject(project: Project, pipeline: Pipeline, options: ClientRunOptions, loaded?: LoadedStack): Promise<RunResult> {
  const store = new SqliteRunStore(project.db);
  const stackName = loaded?.stack.name ?? options.stack ?? project.config.activeStackName();
  const { stack, components } = loaded ?? (await loadStack(project, stackName));
  const source =
    options.source ?? (await resolvePipelineSource(pipeline, project.paths.sourceRoot, { importModule: importModuleFor(project.paths.sourceRoot) }));
  const snapshot = pipeline.compile({
    source,
    stack: components,
    sourceRoot: project.paths.sourceRoot,
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options.parameters !== undefined ? { parameters: options.parameters } : {}),
    ...(options.runName !== undefined ? { runName: options.runName } : {}),
    ...(options.enableCache !== undefined ? { enableCache: options.enableCache } : {}),
  });

  const snapshotUri = stack.artifactStore.uri(`snapshots/${snapshot.id}.json`);
  await stack.artifactStore.writeFile(snapshotUri, JSON.stringify(snapshot));
  await store.saveSnapshot(snapshot, snapshotUri);

  const runId = randomUUID();
  const runName = formatRunName(snapshot.run_name_template);
  const created = new Date().toISOString();
  await store.createRun({
    id: runId,
    name: runName,
    pipeline: snapshot.pipeline.name,
    snapshotId: snapshot.id,
    snapshotUri,
    stack: stackName,
    orchestrator: stack.orchestrator.name,
    status: "initializing",
    pid: process.pid,
    host: hostname(),
    created,
    started: created,
  });

  const reporter = new RunReporter(
    runName,
    snapshot.steps.map((s) => s.id),
    { quiet: options.quiet },
  );
  reporter.info(
    `Running pipeline '${snapshot.pipeline.name}' as run '${runName}' on stack '${stackName}' (orchestrator ${stack.orchestrator.name}: ${stack.orchestrator.flavor}).`,
  );
  warnUnhonouredResources(snapshot, stack.orchestrator.capabilities.honoursResources, stack.orchestrator.name, reporter);

  const abort = new AbortController();
  const onSignal = () => {
    reporter.warn("Stopping: the run's steps are being stopped (press Ctrl-C again to force).");
    abort.abort(new Error("stopped by the user"));
    process.once("SIGINT", () => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const memo = createRunMemo();
  const context: SubmitContext = {
    runId,
    runName,
    snapshotUri,
    stack,
    sourceRoot: project.paths.sourceRoot,
    store,
    events: reporter,
    signal: abort.signal,
    runStepInProcess: (stepId, opts) =>
      runStep({
        snapshot,
        stepId,
        runId,
        store,
        artifactStore: stack.artifactStore,
        pipeline,
        signal: opts?.signal ?? abort.signal,
        sourceRoot: project.paths.sourceRoot,
        importModule: importModuleFor(project.paths.sourceRoot),
        memo,
        writeResultFile: false,
        onLog: (line, stream) => reporter.stepLog(stepId, line, stream),
        onStatus: (status, detail) => reporter.stepStatus(stepId, status, detail),
      }),
    stepCommand: (stepId) => EntrypointConfiguration.commandFor({ snapshot: snapshotUri, step: stepId, run: runId }),
    stepEnvironment: () => ({
      STACKYARD_SOURCE_ROOT: project.paths.sourceRoot,
      STACKYARD_STORE: project.paths.database,
      STACKYARD_RUN_ID: runId,
    }),
    markStep: async (stepId, status, error) => {
      const step = snapshot.steps.find((s) => s.id === stepId)!;
      const now = new Date().toISOString();
      const existing = await store.getStepRun(runId, stepId);
      await store.putStepRun({ ...(existing ?? { runId, stepId, stepName: step.name, attempt: 0, outputs: {} }), status, error, ended: now });
      reporter.stepStatus(stepId, status, error);
    },
  };

  let outcomes: StepOutcome[] = [];
  let status: RunStatus = "running";
  let error: string | undefined;
  try {
    await store.updateRun(runId, { status: "running" });
    // Steps the cache answers for are recorded in one pass first. When that is
    // every step, nothing is submitted: no image is built, no container started.
    const cached = await reuseCachedSteps({
      snapshot,
      runId,
      store,
      artifactStore: stack.artifactStore,
      pipeline,
      memo,
      signal: abort.signal,
      onCached: (stepId) => reporter.stepStatus(stepId, "cached"),
    });
    if (cached.length === snapshot.steps.length) {
      outcomes = cached;
    } else {
      const handle = await stack.orchestrator.submit(snapshot, context);
      if (handle.orchestratorRunId) await store.updateRun(runId, { orchestratorRunId: handle.orchestratorRunId });
      outcomes = await handle.wait();
    }
    status = finalStatus(outcomes, snapshot, abort.signal.aborted, stack.orchestrator.capabilities.synchronous);
  } catch (e) {
    status = abort.signal.aborted ? "stopped" : "failed";
    error = (e as Error).message;
    throw e;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    const failed = outcomes.filter((o) => o.status === "failed");
    if (!error && failed.length) error = failed.map((o) => `step '${o.stepId}' failed: ${o.error ?? "unknown error"}`).join("; ");
    const done = status !== "running";
    await store.updateRun(runId, { status, ...(error ? { error } : {}), ...(done ? { ended: new Date().toISOString(), pid: undefined } : { pid: undefined }) });
    reporter.finish();
    reporter.info(`Run '${runName}' ${status}${error ? `: ${error}` : ""}. Details: stackyard runs describe ${runName}`);
  }
  const result: RunResult = { runId, runName, status, steps: outcomes };
  if (status === "failed" || status === "stopped") {
    throw new RunFailedError(`Run '${runName}' ${status}: ${error ?? "see stackyard runs describe " + runName}`, {
      hint: `See the step output with \`stackyard runs logs ${runName}\`.`,
    });
  }
  return result;
}

function finalStatus(outcomes: StepOutcome[], snapshot: PipelineSnapshot, aborted: boolean, synchronous: boolean): RunStatus {
  if (aborted) return "stopped";
  if (outcomes.some((o) => o.status === "failed")) return "failed";
  if (outcomes.length < snapshot.steps.length && !synchronous) return "running";
  if (outcomes.length === snapshot.steps.length && outcomes.every((o) => o.status === "cached")) return "completed";
  return "completed";
}

function warnUnhonouredResources(snapshot: PipelineSnapshot, honours: boolean, orchestrator: string, reporter: RunReporter): void {
  if (honours) return;
  const asking = snapshot.steps.filter((s) => Object.keys(s.resources).length);
  if (asking.length) {
    reporter.warn(
      `orchestrator '${orchestrator}' cannot enforce resources (cpu_count, gpu_count, memory); ${asking.length} step(s) ask for them and will run without limits.`,
    );
  }
}
