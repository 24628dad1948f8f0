import {
  checkRetry,
  type DrivenRun,
  type DriveRunOptions,
  driveRun,
  formatRunName,
  isPipeline,
  type Pipeline,
  type PipelineSnapshot,
  type RetryPlan,
  RunFailedError,
  type RunOptions,
  type RunResult,
  resolvePipelineSource,
} from "@stackyard/core";
import { ConfigError, NotFoundError } from "@stackyard/core/errors";
import { importModuleFor, loadSource } from "../source/load-source.js";
import { checkStoreWritable } from "../store/lock-wait.js";
import { checkArtifactFolderWritable } from "../store/not-writable.js";
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
  const stackName = loaded?.stack.name ?? options.stack ?? project.config.activeStackName();
  const { stack, components } = loaded ?? (await loadStack(project, stackName));
  const snapshot = await compileInProject(project, pipeline, components, options);
  return driveInProject(project, { pipeline, snapshot, stack, stackName, quiet: options.quiet });
}

/** Compiles a pipeline for a loaded stack, its source path derived when not given: what `run` and `pipeline deploy` share. */
export async function compileInProject(
  project: Project,
  pipeline: Pipeline,
  components: LoadedStack["components"],
  options: Pick<ClientRunOptions, "source" | "config" | "parameters" | "runName" | "enableCache" | "tags">,
): Promise<PipelineSnapshot> {
  const source =
    options.source ?? (await resolvePipelineSource(pipeline, project.paths.sourceRoot, { importModule: importModuleFor(project.paths.sourceRoot) }));
  return pipeline.compile({
    source,
    stack: components,
    sourceRoot: project.paths.sourceRoot,
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options.parameters !== undefined ? { parameters: options.parameters } : {}),
    ...(options.runName !== undefined ? { runName: options.runName } : {}),
    ...(options.enableCache !== undefined ? { enableCache: options.enableCache } : {}),
    ...(options.tags?.length ? { tags: options.tags } : {}),
  });
}

/** What {@link driveInProject} runs: a compiled (or stored) snapshot on a loaded stack. */
export interface ProjectRun {
  pipeline: Pipeline;
  snapshot: PipelineSnapshot;
  stack: LoadedStack["stack"];
  stackName: string;
  quiet?: boolean | undefined;
  /** Default: the snapshot's run name template, formatted now. */
  runName?: string;
  retry?: RetryPlan;
  origin?: DriveRunOptions["origin"];
  deployment?: DriveRunOptions["deployment"];
}

/**
 * Drives one run of a snapshot in an open project, reporting to the terminal
 * and stopping it on Ctrl-C: what `stackyard run` and `stackyard runs retry` share.
 */
export async function driveInProject(
  project: Project,
  { pipeline, snapshot, stack, stackName, quiet, retry, origin, deployment, ...named }: ProjectRun,
): Promise<RunResult> {
  // Refuse before anything is written when the store or a local artifact folder is read-only.
  checkStoreWritable(project.db);
  if (stack.artifactStore.scheme === "file") checkArtifactFolderWritable(stack.artifactStore.path);

  const runName = named.runName ?? formatRunName(snapshot.run_name_template);
  const reporter = new RunReporter(
    runName,
    snapshot.steps.map((s) => s.id),
    { quiet },
  );
  reporter.info(
    `${retry ? "Retrying" : "Running"} pipeline '${snapshot.pipeline.name}' as run '${runName}' on stack '${stackName}' (orchestrator ${stack.orchestrator.name}: ${stack.orchestrator.flavor}).`,
  );

  const abort = new AbortController();
  const onSignal = () => {
    reporter.warn("Stopping: the run's steps are being stopped (press Ctrl-C again to force).");
    abort.abort(new Error("stopped by the user"));
    process.once("SIGINT", () => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let run: DrivenRun;
  try {
    run = await driveRun({
      pipeline,
      snapshot,
      store: new SqliteRunStore(project.db),
      artifactStore: stack.artifactStore,
      orchestrator: stack.orchestrator,
      stack,
      runName,
      signal: abort.signal,
      events: reporter,
      sourceRoot: project.paths.sourceRoot,
      importModule: importModuleFor(project.paths.sourceRoot),
      // Step processes on this machine (or with the store mounted) record straight into it.
      clientStore: project.paths.database,
      writeResultFile: false,
      ...(retry ? { retry } : {}),
      ...(origin ? { origin } : {}),
      ...(deployment ? { deployment } : {}),
    });
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    reporter.finish();
  }
  const { status, error } = run;
  reporter.info(`Run '${runName}' ${status}${error ? `: ${error}` : ""}. Details: stackyard runs describe ${runName}`);
  if (run.cause !== undefined) throw run.cause;
  if (status === "failed" || status === "stopped") {
    throw new RunFailedError(`Run '${runName}' ${status}: ${error ?? `see stackyard runs describe ${runName}`}`, {
      hint: `See the step output with \`stackyard runs logs ${runName}\`.`,
    });
  }
  return { runId: run.runId, runName, status, steps: run.steps };
}

/**
 * `stackyard runs retry RUN [--from STEP]`: a new run of RUN's snapshot, on
 * the stack RUN ran on, that reuses the steps (and map items) RUN finished
 * and runs the others (with `from`: that step and everything after it
 * again). Its record names RUN (`retry of`). The steps that run again run the
 * pipeline's code as it is now.
 */
export async function retryRunInProject(
  project: Project,
  runId: string,
  options: { from?: string; all?: boolean; quiet?: boolean; runName?: string },
): Promise<RunResult> {
  const store = new SqliteRunStore(project.db);
  const run = await store.getRun(runId);
  if (!run) throw new NotFoundError(`No run '${runId}'`, { hint: "List runs with `stackyard runs list`." });
  const snapshot = await store.getSnapshot(run.snapshotId);
  if (!snapshot) throw new NotFoundError(`Run '${run.name}' has no snapshot ${run.snapshotId} in this store: it cannot be retried from here`);
  const { stack } = await loadStack(project, run.stack);
  const pipeline = await loadSource(snapshot.pipeline.source, project.paths.sourceRoot);
  if (!isPipeline(pipeline)) throw new ConfigError(`'${snapshot.pipeline.source}' is no longer a pipeline: run '${run.name}' cannot be retried`);
  const plan: RetryPlan = { runId: run.id, ...(options.from !== undefined ? { from: options.from } : {}), ...(options.all ? { all: true } : {}) };
  await checkRetry(snapshot, plan, store);
  const suffix = options.all ? "rerun" : "retry";
  const retries = (await store.listRuns({ limit: 10_000 })).filter((r) => r.retryOf === run.id && r.name.startsWith(`${run.name}-${suffix}`)).length;
  return driveInProject(project, {
    pipeline,
    snapshot,
    stack,
    stackName: run.stack,
    quiet: options.quiet,
    runName: options.runName ?? `${run.name}-${suffix}${retries ? `-${retries + 1}` : ""}`,
    retry: plan,
  });
}
