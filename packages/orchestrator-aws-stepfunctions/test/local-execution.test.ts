// The compiled state machine, as Step Functions (moto) stored it, executed by
// aws-local-stepfunctions: each ECS Task state runs the step's REAL container
// (the image the orchestrator built and pushed, the command and environment
// of the state's Overrides) in the local Docker engine, with artifacts in S3
// on moto. Everything but the executor is the orchestrator's production path.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { S3ArtifactStore } from "@stackyard/artifact-store-s3/implementation";
import { EcrContainerRegistry } from "@stackyard/container-registry-ecr/implementation";
import {
  type ArtifactRecord,
  type CompileStack,
  EntrypointConfiguration,
  LocalArtifactStore,
  MemoryRunStore,
  type Pipeline,
  type PipelineSnapshot,
  type RunRecord,
  type RunStatus,
  runStep,
  type Stack,
  type SubmitContext,
} from "@stackyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepFunctionsOrchestratorFlavor } from "../src/index.js";
import { newProject, REGION, removeProject } from "./harness.js";
import { type LocalAws, LocallyExecutedOrchestrator, startLocalAws } from "./local-aws.js";
import { LocalEcs } from "./local-ecs.js";
import type { LocalExecutionBackend } from "./local-execution-backend.js";

let aws: LocalAws;
let ecs: LocalEcs;
let dir: string;
let backend: LocalExecutionBackend;

beforeAll(async () => {
  aws = await startLocalAws({ bucket: "stackyard-local-exec" });
  ecs = new LocalEcs({ docker: aws.docker, endpoint: aws.moto.endpoint });
  backend = await aws.executionBackend(ecs.runTask);
  dir = newProject("sfn-local");
});

afterAll(async () => {
  removeProject(dir);
  await aws?.stop();
});

function components() {
  const artifactConfig = aws.artifactStoreConfig();
  const registryConfig = aws.registryConfig();
  const orchestratorConfig = aws.orchestratorConfig();
  const config = stepFunctionsOrchestratorFlavor.configSchema.parse(orchestratorConfig);
  const orchestrator = new LocallyExecutedOrchestrator({ id: "o1", name: "sfn", flavor: "aws_step_functions", config, sourceRoot: dir });
  orchestrator.backend = backend;
  const artifactStore = new S3ArtifactStore({ id: "a1", name: "s3_store", flavor: "s3", config: artifactConfig as never, sourceRoot: dir });
  const containerRegistry = new EcrContainerRegistry({ id: "r1", name: "ecr_registry", flavor: "aws", config: registryConfig as never, sourceRoot: dir });
  const stack: Stack = { name: "aws_stack", orchestrator, artifactStore, containerRegistry };
  const compileStack: CompileStack = {
    name: "aws_stack",
    components: {
      orchestrator: {
        id: "o1",
        name: "sfn",
        flavor: "aws_step_functions",
        flavor_source: "@stackyard/orchestrator-aws-stepfunctions#stepFunctionsOrchestratorFlavor",
        config: orchestratorConfig as Record<string, unknown>,
        settingsSchema: stepFunctionsOrchestratorFlavor.settingsSchema,
      },
      artifact_store: {
        id: "a1",
        name: "s3_store",
        flavor: "s3",
        flavor_source: "@stackyard/artifact-store-s3#s3ArtifactStoreFlavor",
        config: artifactStore.config as Record<string, unknown>,
      },
      container_registry: {
        id: "r1",
        name: "ecr_registry",
        flavor: "aws",
        flavor_source: "@stackyard/container-registry-ecr#ecrContainerRegistryFlavor",
        config: registryConfig,
      },
    },
  };
  return { orchestrator, artifactStore, stack, compileStack };
}

async function loadPipeline(file: string, name: string): Promise<Pipeline> {
  return (await import(pathToFileURL(join(dir, file)).href))[name] as Pipeline;
}

/** Submits a snapshot as the CLI does (snapshot in the artifact store and the store, run created) and waits for it. */
async function submitAndWait(snapshot: PipelineSnapshot, parts: ReturnType<typeof components>) {
  const { orchestrator, artifactStore, stack } = parts;
  const store = new MemoryRunStore();
  const runId = randomUUID();
  const snapshotUri = artifactStore.uri(`snapshots/${snapshot.id}.json`);
  await artifactStore.writeFile(snapshotUri, JSON.stringify(snapshot));
  await store.saveSnapshot(snapshot, snapshotUri);
  const run: RunRecord = {
    id: runId,
    name: `run-${runId.slice(0, 8)}`,
    pipeline: snapshot.pipeline.name,
    snapshotId: snapshot.id,
    snapshotUri,
    stack: stack.name,
    orchestrator: "sfn",
    status: "running",
    created: new Date().toISOString(),
  };
  await store.createRun(run);
  const statuses: Array<[string, RunStatus]> = [];
  const messages: string[] = [];
  const context: SubmitContext = {
    runId,
    runName: run.name,
    snapshotUri,
    stack,
    sourceRoot: dir,
    store,
    events: {
      stepStatus: (stepId, status) => statuses.push([stepId, status]),
      stepLog: () => {},
      info: (m) => messages.push(m),
      warn: (m) => messages.push(`WARN ${m}`),
    },
    signal: new AbortController().signal,
    runStepInProcess: () => Promise.reject(new Error("a remote orchestrator never runs steps in process")),
    stepCommand: (stepId) => EntrypointConfiguration.commandFor({ snapshot: snapshotUri, step: stepId, run: runId }),
    stepEnvironment: () => ({}),
    markStep: async (stepId, status, error) => {
      const step = snapshot.steps.find((s) => s.id === stepId)!;
      await store.putStepRun({ runId, stepId, stepName: step.name, attempt: 0, outputs: {}, status, error });
      statuses.push([stepId, status]);
    },
  };
  const handle = await orchestrator.submit(snapshot, context);
  const outcomes = await handle.wait();
  return { handle, outcomes, store, run: { ...run, orchestratorRunId: handle.orchestratorRunId }, statuses, messages };
}

describe("a run on the Step Functions orchestrator, executed locally with real step containers", () => {
  it("runs the quickstart to the same artifacts (sha256 per output) as the local stack, reporting each step", async () => {
    const parts = components();
    const pipeline = await loadPipeline("pipelines/training.ts", "trainingPipeline");
    const snapshot = pipeline.compile({
      source: "./pipelines/training.ts#trainingPipeline",
      stack: parts.compileStack,
      sourceRoot: dir,
      config: join(dir, "configs/training_pipeline.yaml"),
    });

    // The same snapshot on the local stack, in this process.
    const localStore = new MemoryRunStore();
    const local = new LocalArtifactStore({ id: "l1", name: "default", flavor: "local", config: { path: join(dir, ".local-artifacts") }, sourceRoot: dir });
    for (const step of snapshot.steps) {
      const outcome = await runStep({
        snapshot,
        stepId: step.id,
        runId: "local-run",
        store: localStore,
        artifactStore: local,
        pipeline,
        sourceRoot: dir,
        importModule: (s) => import(s),
      });
      expect(outcome.status, outcome.error).toBe("completed");
    }
    const localHashes = Object.fromEntries((await localStore.listArtifacts("local-run")).map((a) => [`${a.stepId}.${a.output}`, a.sha256]));
    expect(Object.keys(localHashes)).toHaveLength(7);

    const { outcomes, store, run, statuses, handle } = await submitAndWait(snapshot, parts);
    expect(outcomes.map((o) => [o.stepId, o.status, o.error])).toEqual(snapshot.steps.map((s) => [s.id, "completed", undefined]));
    expect(handle.orchestratorRunId).toMatch(new RegExp(`^arn:aws:states:${REGION}:\\d{12}:execution:stackyard-training_pipeline:${run.id}$`));

    // Each step ran once, in its own container, from the image pushed to the registry.
    expect(ecs.tasks.map((t) => t.stateName).sort()).toEqual(snapshot.steps.map((s) => s.id).sort());
    for (const task of ecs.tasks) {
      expect(task.image).toMatch(new RegExp(`^${aws.registry.address.replace(/\./g, "\\.")}/stackyard:[0-9a-f]{16}$`));
      expect(task.command.slice(0, 3)).toEqual(["stackyard", "step", "run"]);
      expect(task.command.at(-1)).toBe(run.id);
    }

    // Records and artifacts were copied into the client's store, with the local stack's hashes.
    const remoteHashes = Object.fromEntries((await store.listArtifacts(run.id)).map((a) => [`${a.stepId}.${a.output}`, a.sha256]));
    expect(remoteHashes).toEqual(localHashes);
    expect((await store.listArtifacts(run.id)).every((a) => a.uri.startsWith(`s3://${aws.bucket}/runs/${run.id}/`))).toBe(true);
    // The same records as on the local stack: named versions, metadata logged in the containers, consumed inputs.
    const named = (artifacts: ArtifactRecord[]) => Object.fromEntries(artifacts.map((a) => [`${a.stepId}.${a.output}`, [a.name, a.version, a.metadata]]));
    expect(named(await store.listArtifacts(run.id))).toEqual(named(await localStore.listArtifacts("local-run")));
    expect(named(await store.listArtifacts(run.id))["train_model.model"]).toEqual(["iris_model", 1, undefined]);
    expect((await store.getRun(run.id))?.metadata?.test_samples).toBe(30);
    expect((await store.getStepRun(run.id, "evaluate_model"))?.metadata).toEqual((await localStore.getStepRun("local-run", "evaluate_model"))?.metadata);
    expect(Object.keys((await store.getStepRun(run.id, "evaluate_model"))?.inputs ?? {}).sort()).toEqual(["model", "test"]);
    const visual = (await store.listArtifacts(run.id)).find((a) => a.output === "confusion_matrix")!;
    expect(visual.visualizations).toEqual([{ type: "svg", uri: `${visual.uri}/image.svg` }]);
    expect((await parts.artifactStore.readFile(visual.visualizations![0]!.uri)).toString("utf8")).toMatch(/^<svg /);
    for (const step of snapshot.steps) {
      expect(statuses).toContainEqual([step.id, "running"]);
      expect(statuses).toContainEqual([step.id, "completed"]);
    }

    // Status and logs read back later, as `runs describe` / `runs logs` do.
    const later = new MemoryRunStore();
    await later.saveSnapshot(snapshot, run.snapshotUri);
    const status = await parts.orchestrator.fetchStatus(run, { store: later, stack: parts.stack });
    expect(status.status).toBe("completed");
    expect(status.steps?.map((s) => s.status)).toEqual(["completed", "completed", "completed", "completed"]);
    expect((await later.listArtifacts(run.id)).length).toBe(7);
    expect((await later.findArtifactVersion("iris_model"))?.runId).toBe(run.id);
    const logs = await parts.orchestrator.fetchLogs(run, "evaluate_model");
    expect(logs).toMatch(/test accuracy: \d+\.\d% \(\d+\/30\)/);
  }, 600_000);

  it("takes the Catch path of a failing step: the run fails naming it, and nothing after it runs", async () => {
    const parts = components();
    const pipeline = await loadPipeline("pipelines/failing.ts", "failingPipeline");
    const snapshot = pipeline.compile({
      source: "./pipelines/failing.ts#failingPipeline",
      stack: parts.compileStack,
      sourceRoot: dir,
      config: join(dir, "configs/failing_pipeline.yaml"),
    });
    const before = ecs.tasks.length;
    const { outcomes, run, statuses } = await submitAndWait(snapshot, parts);
    expect(outcomes.map((o) => [o.stepId, o.status])).toEqual([
      ["make_numbers", "completed"],
      ["explode", "failed"],
      ["after", "skipped"],
    ]);
    expect(outcomes[1]!.error).toMatch(/the numbers are on fire/);
    expect(outcomes[2]!.error).toBe("not run: step 'explode' failed");
    expect(ecs.tasks.slice(before).map((t) => [t.stateName, t.exitCode])).toEqual([
      ["make_numbers", 0],
      ["explode", 1],
    ]);
    expect(statuses).toContainEqual(["explode", "failed"]);

    const execution = await backend.describe(run.orchestratorRunId!);
    expect(execution.status).toBe("FAILED");
    expect(execution.error).toBe("Stackyard.StepFailed");
    const history = (await backend.history(run.orchestratorRunId!)).events.map((e) => e.type);
    expect(history).toContain("TaskFailed");

    const later = new MemoryRunStore();
    await later.saveSnapshot(snapshot, run.snapshotUri);
    const status = await parts.orchestrator.fetchStatus(run, { store: later, stack: parts.stack });
    expect(status.status).toBe("failed");
    expect(status.error).toMatch(/^step 'explode' failed: .*the numbers are on fire/);
    expect(status.steps?.find((s) => s.stepId === "after")?.status).toBe("skipped");
  }, 600_000);

  describe("a step with retries: the state machine retries it, one attempt per ECS task", () => {
    const retrying = async (exportName: "flakyPipeline" | "hopelessPipeline") => {
      const parts = components();
      const pipeline = await loadPipeline("pipelines/retrying.ts", exportName);
      const snapshot = pipeline.compile({
        source: `./pipelines/retrying.ts#${exportName}`,
        stack: parts.compileStack,
        sourceRoot: dir,
        config: join(dir, "configs/retrying_pipeline.yaml"),
        enableCache: false,
      });
      const before = ecs.tasks.length;
      const ran = await submitAndWait(snapshot, parts);
      const tasks = ecs.tasks.slice(before).map((t) => [t.stateName, t.exitCode, t.command.slice(-2)]);
      const log = (stepId: string) => parts.artifactStore.readFile(`runs/${ran.run.id}/${stepId}/logs.txt`).then((b) => b.toString("utf8"));
      return { ...ran, parts, snapshot, tasks, log };
    };

    it("runs a step that fails twice in three containers, the third completing it as attempt 3", async () => {
      const { outcomes, tasks, store, run, statuses, parts, snapshot, log } = await retrying("flakyPipeline");
      expect(outcomes).toEqual([{ stepId: "flaky", status: "completed" }]);
      // max_retries 2: three ECS tasks, each told to run the attempt after the recorded one.
      expect(tasks).toEqual([
        ["flaky", 1, ["--attempt", "next"]],
        ["flaky", 1, ["--attempt", "next"]],
        ["flaky", 0, ["--attempt", "next"]],
      ]);
      expect(await store.getStepRun(run.id, "flaky")).toMatchObject({ status: "completed", attempt: 3 });
      const [artifact] = await store.listArtifacts(run.id);
      expect(JSON.parse((await parts.artifactStore.readFile(`${artifact!.uri}/data.json`)).toString("utf8"))).toBe(3);
      const flakyStatuses = statuses.filter(([id]) => id === "flaky").map(([, status]) => status);
      expect(flakyStatuses[0]).toBe("running");
      expect(flakyStatuses.filter((s) => s === "retrying").length).toBeGreaterThanOrEqual(2);
      expect(flakyStatuses.at(-1)).toBe("completed");
      // The step's log in the artifact store has every attempt, each container adding its own.
      expect((await log("flaky")).match(/flaky runs attempt \d/g)).toEqual(["flaky runs attempt 1", "flaky runs attempt 2", "flaky runs attempt 3"]);

      // Read back later, as `runs describe` does.
      const later = new MemoryRunStore();
      await later.saveSnapshot(snapshot, run.snapshotUri);
      expect(await parts.orchestrator.fetchStatus(run, { store: later, stack: parts.stack })).toEqual({
        status: "completed",
        steps: [{ stepId: "flaky", status: "completed" }],
      });
      expect(await later.getStepRun(run.id, "flaky")).toMatchObject({ status: "completed", attempt: 3 });
    }, 600_000);

    it("runs a step that always fails in max_retries + 1 containers and records it failed at its last attempt", async () => {
      const { outcomes, tasks, store, run, parts, snapshot, log } = await retrying("hopelessPipeline");
      expect(outcomes).toEqual([
        { stepId: "hopeless", status: "failed", error: "attempt 3 fails as always (after 3 attempts)" },
        { stepId: "after_hopeless", status: "skipped", error: "not run: step 'hopeless' failed" },
      ]);
      expect(tasks).toEqual([
        ["hopeless", 1, ["--attempt", "next"]],
        ["hopeless", 1, ["--attempt", "next"]],
        ["hopeless", 1, ["--attempt", "next"]],
      ]);
      expect(await store.getStepRun(run.id, "hopeless")).toMatchObject({ status: "failed", attempt: 3, error: "attempt 3 fails as always (after 3 attempts)" });
      expect(await log("hopeless")).toMatch(/attempt 1 fails as always[\s\S]*attempt 2 fails as always[\s\S]*attempt 3 fails as always/);

      const later = new MemoryRunStore();
      await later.saveSnapshot(snapshot, run.snapshotUri);
      const status = await parts.orchestrator.fetchStatus(run, { store: later, stack: parts.stack });
      expect(status.status).toBe("failed");
      expect(status.error).toBe("step 'hopeless' failed: attempt 3 fails as always (after 3 attempts)");
      expect(await later.getStepRun(run.id, "hopeless")).toMatchObject({ status: "failed", attempt: 3 });
      // CloudWatch has one stream per attempt.
      const logs = await parts.orchestrator.fetchLogs(run, "hopeless");
      expect(logs?.match(/--- attempt \d/g)).toEqual(["--- attempt 1", "--- attempt 2", "--- attempt 3"]);
    }, 600_000);
  });
});
