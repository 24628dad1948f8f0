import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { type CompileOptions, LocalArtifactStore, MemoryRunStore, type Pipeline, type RunInProcessOptions, runSnapshotInProcess } from "../src/index.js";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "stackyard-test-"));
  made.push(dir);
  return dir;
}

/** A local artifact store in a temporary folder and a memory run store. */
export function stores(): { root: string; artifactStore: LocalArtifactStore; store: MemoryRunStore } {
  const root = tempDir();
  return {
    root,
    artifactStore: new LocalArtifactStore({ id: "as-1", name: "default", flavor: "local", config: { path: root }, sourceRoot: root }),
    store: new MemoryRunStore(),
  };
}

/** Compiles and runs a pipeline in process. */
export async function run(
  pipeline: Pipeline<any>,
  env: { artifactStore: LocalArtifactStore; store: MemoryRunStore },
  compile: CompileOptions = {},
  extra: Partial<RunInProcessOptions> = {},
) {
  const snapshot = pipeline.compile({ source: "./test.ts#pipe", ...compile });
  const result = await runSnapshotInProcess({ pipeline, snapshot, ...env, ...extra });
  const steps = Object.fromEntries((await env.store.listStepRuns(result.runId)).map((s) => [s.stepId, s]));
  return { ...result, snapshot, records: steps };
}
