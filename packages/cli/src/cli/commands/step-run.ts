import { resolve } from "node:path";
import {
  type BaseArtifactStore,
  ConfigError,
  EntrypointConfiguration,
  expandMapStep,
  formatStepStatusLine,
  isPipeline,
  type PipelineSnapshot,
  parseStepAttempt,
  type RunEvents,
  type RunStepOptions,
  type RunStore,
  runStep,
  STEP_ENV,
  type StepOutcome,
  type StepResultFile,
  type StepRunRecord,
  snapshotStep,
} from "@stackyard/core";
import { loadEntrypoint } from "../../client/entrypoint.js";
import { loadSnapshotComponent } from "../../client/load-stack.js";
import { artifactStoreFromEnvironment, readSnapshot, remoteRunStore } from "../../client/remote-step.js";
import { importModuleFor, loadSource } from "../../source/load-source.js";
import { openProject } from "../../store/open-project.js";
import { SqliteRunStore } from "../../store/sqlite-run-store.js";

interface StepEnvironment {
  sourceRoot: string;
  store: RunStore;
  artifactStore: BaseArtifactStore;
  snapshot: PipelineSnapshot;
  close(): void;
}

/**
 * Where a step runs decides what it can reach. With the project's store at
 * hand (in-process, a subprocess, a Docker container with the store mounted)
 * records go to SQLite. A remote container (an ECS task) gets its artifact
 * store from STACKYARD_ARTIFACT_STORE and keeps its records as JSON in it,
 * where the client reconciles them from.
 */
async function stepEnvironment(snapshotUri: string): Promise<StepEnvironment> {
  const remote = process.env[STEP_ENV.artifactStore];
  if (remote) {
    const sourceRoot = resolve(process.env[STEP_ENV.sourceRoot] ?? process.cwd());
    const artifactStore = await artifactStoreFromEnvironment(sourceRoot, remote);
    return { sourceRoot, artifactStore, store: remoteRunStore(artifactStore), snapshot: await readSnapshot(artifactStore, snapshotUri), close: () => {} };
  }
  if (!process.env[STEP_ENV.store]) {
    // Never fall back to whatever store the folder holds: the records would land where the run's client never looks.
    throw new ConfigError(`stackyard step run was not told where its run is recorded: neither ${STEP_ENV.store} nor ${STEP_ENV.artifactStore} is set`, {
      hint: `Its orchestrator passes them through context.stepEnvironment(stepId); set ${STEP_ENV.store} to the client's store, or ${STEP_ENV.artifactStore} to the artifact store description.`,
    });
  }
  const project = openProject();
  try {
    const store = new SqliteRunStore(project.db);
    const id = /snapshots\/([^/]+)\.json$/.exec(snapshotUri)?.[1];
    const stored = id ? await store.getSnapshot(id) : undefined;
    if (!stored) throw new ConfigError(`No snapshot at ${snapshotUri} in the store ${project.paths.database}`);
    const artifactStore = await loadSnapshotComponent<BaseArtifactStore>(project, stored, "artifact_store");
    // The store's copy is authoritative: whoever can write the artifact store must not choose what this step imports.
    return { sourceRoot: project.paths.sourceRoot, artifactStore, store, snapshot: stored, close: () => project.close() };
  } catch (error) {
    project.close();
    throw error;
  }
}

/** The command line `stackyard step run` was given: the base options commander read, and the rest (the entrypoint's own options). */
export interface StepRunArguments {
  snapshot?: string;
  step?: string;
  run?: string;
  attempt?: string;
}

/**
 * `stackyard step run --snapshot URI --step ID --run RUN [--attempt N|next]`:
 * the one-step entrypoint every containerised orchestrator runs. ID is a
 * step, an item of a map step (`score[3]`), or a map step, which is then
 * expanded: its item manifest is written for the orchestrator to iterate. Exit code 0
 * when the step completed (or was cached), 1 when it failed; with
 * `--attempt` it runs that one attempt and also exits 1 when the attempt
 * failed with attempts left (recorded `retrying`), for its orchestrator to
 * run the next. A bad `--attempt` is exit code 2, before anything is read.
 *
 * When the run's orchestrator flavor names an entrypoint configuration
 * (recorded in the snapshot), it is loaded by source path and parses the
 * whole command line: its own options are read, an unknown or missing one is
 * exit code 2 before anything is written, and its `wrap` runs around the step.
 */
export async function stepRunCommand(opts: StepRunArguments, rest: readonly string[] = []): Promise<void> {
  if (opts.snapshot === undefined) throw new ConfigError("stackyard step run needs --snapshot URI", { hint: STEP_RUN_USAGE });
  if (opts.step === undefined) throw new ConfigError("stackyard step run needs --step ID", { hint: STEP_RUN_USAGE });
  if (opts.attempt !== undefined) parseStepAttempt(opts.attempt);
  const argv = [...(["snapshot", "step", "run", "attempt"] as const).flatMap((name) => (opts[name] === undefined ? [] : [`--${name}`, opts[name]])), ...rest];
  const env = await stepEnvironment(opts.snapshot);
  try {
    const { snapshot, sourceRoot } = env;
    const orchestrator = snapshot.stack.components.orchestrator;
    const entrypoint = orchestrator?.entrypoint
      ? await loadEntrypoint(orchestrator.entrypoint, sourceRoot, `orchestrator '${orchestrator.name}' (flavor ${orchestrator.flavor})`)
      : EntrypointConfiguration;
    const parsed = entrypoint.parse(argv, process.env);
    // A step, an item of a map step (`score[3]`), or a map step itself: that expands it (writes its item manifest).
    const isMap = snapshot.steps.some((s) => s.id === parsed.step && s.map);
    try {
      if (!isMap) snapshotStep(snapshot, parsed.step);
    } catch (error) {
      throw new ConfigError(`Snapshot ${parsed.snapshot} has no step '${parsed.step}': ${(error as Error).message}`, {
        hint: `Its steps: ${snapshot.steps.map((s) => (s.map ? `${s.id} (a map: ${s.id}[0], ${s.id}[1], ...)` : s.id)).join(", ")}`,
      });
    }
    const pipeline = await loadSource(snapshot.pipeline.source, sourceRoot);
    if (!isPipeline(pipeline)) throw new ConfigError(`'${snapshot.pipeline.source}' is not a pipeline`);
    const events: Pick<RunEvents, "stepStatus"> = {
      stepStatus: (stepId, status, detail) => process.stderr.write(`${formatStepStatusLine({ stepId, status, ...(detail ? { detail } : {}) })}\n`),
    };
    const stepOptions: RunStepOptions = {
      snapshot,
      stepId: parsed.step,
      runId: parsed.run,
      store: env.store,
      artifactStore: env.artifactStore,
      pipeline,
      sourceRoot,
      importModule: importModuleFor(sourceRoot),
      ...(parsed.attempt === undefined ? {} : { attempt: parsed.attempt }),
      // With the client's store at hand it has the record; a remote client reads step.json.
      writeResultFile: !(env.store instanceof SqliteRunStore),
      // The container's own output is what its orchestrator collects.
      onLog: (line, stream) => (stream === "stderr" ? process.stderr : process.stdout).write(line + "\n"),
      onStatus: (status, detail) => events.stepStatus(parsed.step, status, detail),
    };
    if (isMap) {
      const expanded = await expandMapStep(stepOptions);
      if ("status" in expanded) process.exitCode = 1;
      return;
    }
    let stepError: { error: unknown } | undefined;
    const run = async (): Promise<StepOutcome> => {
      try {
        return await runStep(stepOptions);
      } catch (error) {
        stepError = { error };
        throw error;
      }
    };
    let outcome: StepOutcome;
    try {
      outcome = await entrypoint.wrap({ options: parsed, snapshot }, run);
    } catch (error) {
      // The step's own errors (a changed pipeline, a bad attempt) keep their exit codes; the wrapper's fail the step.
      if (stepError && stepError.error === error) throw error;
      const message = `entrypoint ${entrypoint.name}.wrap failed: ${error instanceof Error ? error.message : String(error)}`;
      await recordWrapFailure(stepOptions, message);
      events.stepStatus(parsed.step, "failed", message);
      process.stderr.write(`Error: ${message}\n`);
      process.exitCode = 1;
      return;
    }
    if (outcome.status === "failed" || outcome.status === "retrying") process.exitCode = 1;
  } finally {
    env.close();
  }
}

const STEP_RUN_USAGE = "Usage: stackyard step run --snapshot URI --step ID --run RUN [--attempt N|next], then the options of the orchestrator's entrypoint.";

/** Records the step failed when its entrypoint's `wrap` threw: over its record (and result file) when the step ran, else a new one. */
async function recordWrapFailure(options: RunStepOptions, error: string): Promise<void> {
  const { store, artifactStore, runId, stepId, snapshot } = options;
  const now = new Date().toISOString();
  const recorded = await store.getStepRun(runId, stepId);
  const record: StepRunRecord = {
    ...(recorded ?? { runId, stepId, stepName: snapshotStep(snapshot, stepId).spec.name, attempt: 1, outputs: {}, started: now }),
    status: "failed",
    error,
    ended: now,
  };
  await store.putStepRun(record);
  if (options.writeResultFile) {
    const path = `runs/${runId}/${stepId}/step.json`;
    const written = (await artifactStore.exists(path)) ? (JSON.parse((await artifactStore.readFile(path)).toString("utf8")) as StepResultFile) : undefined;
    await artifactStore.writeFile(path, JSON.stringify({ step: record, artifacts: written?.artifacts ?? [] } satisfies StepResultFile, null, 2));
  }
}
