import { runStep, isPipeline, ConfigError, pipelineSnapshotSchema, formatIssues, type BaseArtifactStore, type PipelineSnapshot, type RunEvents } from "@stackyard/core";
import { loadSnapshotComponent } from "../../client/load-stack.js";
import { importModuleFor, loadSource } from "../../source/load-source.js";
import { openProject } from "../../store/open-project.js";
import { SqliteRunStore } from "../../store/sqlite-run-store.js";

/** Step output in a container goes straight to the container's stdout/stderr; the orchestrator collects it. */
const plainEvents: RunEvents = {
  stepStatus: (stepId, status, detail) => process.stderr.write(`[stackyard] ${stepId}: ${status}${detail ? ` (${detail})` : ""}\n`),
  stepLog: () => {},
  info: (message) => process.stderr.write(`[stackyard] ${message}\n`),
  warn: (message) => process.stderr.write(`[stackyard] Warning: ${message}\n`),
};

/**
 * `stackyard step run --snapshot URI --step ID --run RUN`: the one-step
 * entrypoint every containerised orchestrator runs. Exit code 0 when the step
 * completed (or was cached), 1 when it failed.
 */
export async function stepRunCommand(opts: { snapshot: string; step: string; run: string }): Promise<void> {
  const project = openProject();
  try {
    const store = new SqliteRunStore(project.db);
    const id = /snapshots\/([^/]+)\.json$/.exec(opts.snapshot)?.[1];
    let snapshot: PipelineSnapshot | undefined = id ? await store.getSnapshot(id) : undefined;
    if (!snapshot) throw new ConfigError(`No snapshot at ${opts.snapshot} in the store ${project.paths.database}`);
    const artifactStore = await loadSnapshotComponent<BaseArtifactStore>(project, snapshot, "artifact_store");
    // The artifact store's copy is the one the run was submitted with; prefer it when readable.
    if (await artifactStore.exists(opts.snapshot)) {
      const parsed = pipelineSnapshotSchema.safeParse(JSON.parse((await artifactStore.readFile(opts.snapshot)).toString("utf8")));
      if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues, `snapshot ${opts.snapshot}`));
      snapshot = parsed.data;
    }
    if (!snapshot.steps.some((s) => s.id === opts.step)) {
      throw new ConfigError(`Snapshot ${opts.snapshot} has no step '${opts.step}'`, { hint: `Its steps: ${snapshot.steps.map((s) => s.id).join(", ")}` });
    }
    const pipeline = await loadSource(snapshot.pipeline.source, project.paths.sourceRoot);
    if (!isPipeline(pipeline)) throw new ConfigError(`'${snapshot.pipeline.source}' is not a pipeline`);
    const outcome = await runStep({
      snapshot, stepId: opts.step, runId: opts.run, store, artifactStore, pipeline,
      sourceRoot: project.paths.sourceRoot, importModule: importModuleFor(project.paths.sourceRoot),
      onLog: (line, stream) => (stream === "stderr" ? process.stderr : process.stdout).write(line + "\n"),
      onStatus: (status, detail) => plainEvents.stepStatus(opts.step, status, detail),
    });
    if (outcome.status === "failed") process.exitCode = 1;
  } finally {
    project.close();
  }
}
