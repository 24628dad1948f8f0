// The compiled state machine, as Step Functions (moto) stored it, executed by
// aws-local-stepfunctions: each ECS Task state runs the step's REAL container
// (the image the orchestrator built and pushed, the command and environment
// of the state's Overrides) in the local Docker engine, with artifacts in S3
// on moto. Everything but the executor is the orchestrator's production path.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DescribeStateMachineCommand, SFNClient } from "@aws-sdk/client-sfn";
import { S3ArtifactStore } from "@stackyard/artifact-store-s3/implementation";
import { EcrContainerRegistry } from "@stackyard/container-registry-ecr/implementation";
import {
  type ArtifactRecord,
  type CompileStack,
  EntrypointConfiguration,
  LocalArtifactStore,
  MAP_METADATA_KEY,
  MemoryRunStore,
  type Pipeline,
  type PipelineSnapshot,
  type RunRecord,
  type RunStatus,
  runSnapshotInProcess,
  runStep,
  type Stack,
  type SubmitContext,
} from "@stackyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepFunctionsOrchestratorFlavor } from "../src/index.js";
import { assertValidAsl } from "./compiler.helpers.js";
import { CREDENTIALS, newProject, REGION, removeProject } from "./harness.js";
import { type LocalAws, LocallyExecutedOrchestrator, startLocalAws } from "./local-aws.js";
import { LocalEcs } from "./local-ecs.js";
import type { LocalExecutionBackend, RunTaskHandler } from "./local-execution-backend.js";

let aws: LocalAws;
let ecs: LocalEcs;
let dir: string;
let backend: LocalExecutionBackend;
/** Runs Distributed Maps through their stand-in (see local-execution-backend.ts). */
let standInBackend: LocalExecutionBackend;
/** ECS tasks running at once, and the most seen, per Task state. */
const concurrency = new Map<string, { running: number; max: number }>();

beforeAll(async () => {
  aws = await startLocalAws({ bucket: "stackyard-local-exec" });
  ecs = new LocalEcs({ docker: aws.docker, endpoint: aws.moto.endpoint });
  const runTask: RunTaskHandler = async (parameters, stateName, signal) => {
    const count = concurrency.get(stateName) ?? { running: 0, max: 0 };
    concurrency.set(stateName, count);
    count.max = Math.max(count.max, ++count.running);
    try {
      return await ecs.runTask(parameters, stateName, signal);
    } finally {
      count.running--;
    }
  };
  backend = await aws.executionBackend(runTask);
  standInBackend = await aws.executionBackend(runTask, undefined, { distributedMaps: "stand-in" });
  dir = newProject("sfn-local");
});

afterAll(async () => {
  removeProject(dir);
  await aws?.stop();
});

function components(overrides: { distributed_map_threshold?: number } = {}, executions: LocalExecutionBackend = backend) {
  const artifactConfig = aws.artifactStoreConfig();
  const registryConfig = aws.registryConfig();
  const orchestratorConfig = aws.orchestratorConfig(overrides);
  const config = stepFunctionsOrchestratorFlavor.configSchema.parse(orchestratorConfig);
  const orchestrator = new LocallyExecutedOrchestrator({ id: "o1", name: "sfn", flavor: "aws_step_functions", config, sourceRoot: dir });
  orchestrator.backend = executions;
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

/**
 * Submits a snapshot as the CLI does (snapshot in the artifact store and the store, run created) and waits for it;
 * `whileRunning` is called once the run is submitted and awaited with it.
 */
async function submitAndWait(
  snapshot: PipelineSnapshot,
  parts: ReturnType<typeof components>,
  whileRunning?: (run: RunRecord, store: MemoryRunStore, ended: Promise<unknown>) => Promise<void>,
) {
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
  const waiting = handle.wait();
  const [outcomes] = await Promise.all([
    waiting,
    whileRunning?.(
      { ...run, orchestratorRunId: handle.orchestratorRunId },
      store,
      waiting.catch(() => {}),
    ),
  ]);
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
    // What the step logged is as on the local stack; the orchestrator adds links to the step's ECS task and log stream.
    const { "aws.ecs_task": taskLink, "aws.log_stream": logLink, ...logged } = (await store.getStepRun(run.id, "evaluate_model"))?.metadata ?? {};
    expect(logged).toEqual((await localStore.getStepRun("local-run", "evaluate_model"))?.metadata ?? {});
    expect(taskLink).toEqual({
      $type: "uri",
      value: expect.stringMatching(new RegExp(`^https://${REGION}\\.console\\.aws\\.amazon\\.com/ecs/v2/clusters/[^/]+/tasks/[^/?]+\\?region=${REGION}$`)),
    });
    expect(logLink).toEqual({
      $type: "uri",
      value: expect.stringContaining(`https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#logsV2:log-groups/log-group/`),
    });
    // The run links to its execution in the console.
    expect((await store.getRun(run.id))?.metadata?.["aws.execution"]).toEqual({
      $type: "uri",
      value: `https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${encodeURIComponent(handle.orchestratorRunId!)}`,
    });
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

  describe("a map step: an expand task, then one ECS task per item in a Map state over the manifest in S3", () => {
    type MapExport = "mapPipeline" | "tolerantMapPipeline" | "slowMapPipeline";
    const compileMap = async (parts: ReturnType<typeof components>, exportName: MapExport, parameters: Record<string, unknown> = {}) => {
      const pipeline = await loadPipeline("pipelines/mapping.ts", exportName);
      const snapshot = pipeline.compile({
        source: `./pipelines/mapping.ts#${exportName}`,
        stack: parts.compileStack,
        sourceRoot: dir,
        config: join(dir, "configs/map_pipeline.yaml"),
        enableCache: false,
        parameters,
      });
      return { pipeline, snapshot };
    };
    /** The collector's output on the local stack (the same snapshot, run in this process): its sha256 and value. */
    const runLocally = async (pipeline: Pipeline, snapshot: PipelineSnapshot) => {
      const store = new MemoryRunStore();
      // Outside the project: files written into it would change the next image's build context.
      const root = mkdtempSync(join(tmpdir(), "stackyard-map-local-"));
      try {
        const artifactStore = new LocalArtifactStore({ id: "l1", name: "default", flavor: "local", config: { path: root }, sourceRoot: dir });
        const result = await runSnapshotInProcess({ pipeline, snapshot, store, artifactStore, sourceRoot: dir, importModule: (s) => import(s) });
        expect(result.status).toBe("completed");
        const report = (await store.listArtifacts(result.runId)).find((a) => a.stepId === "report")!;
        return { sha256: report.sha256, value: JSON.parse((await artifactStore.readFile(`${report.uri}/data.json`)).toString("utf8")) };
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    };
    const reportOf = async (store: MemoryRunStore, runId: string, parts: ReturnType<typeof components>) => {
      const report = (await store.listArtifacts(runId)).find((a) => a.stepId === "report")!;
      return { sha256: report.sha256, value: JSON.parse((await parts.artifactStore.readFile(`${report.uri}/data.json`)).toString("utf8")) };
    };
    const itemTasks = (before: number) => ecs.tasks.slice(before).filter((t) => t.command.some((arg) => /^score\[\d+\]$/.test(arg)));

    it("runs 4 items two at a time (inline Map) and collects them to the local stack's output (sha256)", async () => {
      const parts = components();
      const { pipeline, snapshot } = await compileMap(parts, "mapPipeline");
      const local = await runLocally(pipeline, snapshot);
      expect(local.value).toEqual({ shards: [0, 1, 2, 3], total: 4000 + 100 + 400 + 900 + 1600 });

      concurrency.clear();
      const before = ecs.tasks.length;
      const { outcomes, store, run, statuses } = await submitAndWait(snapshot, parts);
      expect(outcomes.map((o) => [o.stepId, o.status, o.error])).toEqual([
        ["split", "completed", undefined],
        ["score", "completed", undefined],
        ["report", "completed", undefined],
      ]);
      // split, the expand, 4 items (one ECS task each, never more than 2 at once), report.
      const tasks = ecs.tasks.slice(before);
      expect(tasks.map((t) => t.command[t.command.indexOf("--step") + 1]).sort()).toEqual([
        "report",
        "score",
        "score[0]",
        "score[1]",
        "score[2]",
        "score[3]",
        "split",
      ]);
      expect(itemTasks(before).every((t) => t.stateName === "score.item" && t.exitCode === 0 && t.command.at(-1) === run.id)).toBe(true);
      expect(concurrency.get("score.item")?.max).toBe(2);

      expect(await reportOf(store, run.id, parts)).toEqual(local);
      const map = await store.getStepRun(run.id, "score");
      expect(map).toMatchObject({ status: "completed" });
      expect(map?.metadata?.[MAP_METADATA_KEY]).toEqual({ items: 4, completed: 4, cached: 0, failed: [], stopped: 0, notStarted: 0, tolerated: 0 });
      for (let i = 0; i < 4; i++) expect(await store.getStepRun(run.id, `score[${i}]`)).toMatchObject({ status: "completed" });
      expect(statuses).toContainEqual(["score", "running"]);
      expect(statuses).toContainEqual(["score", "completed"]);
      // Each item reported as its record appeared (a big map's items go into one progress line), before the map's end.
      const mapEnd = statuses.findIndex(([id, status]) => id === "score" && status === "completed");
      for (let i = 0; i < 4; i++) {
        const itemEnd = statuses.findIndex(([id, status]) => id === `score[${i}]` && status === "completed");
        expect(itemEnd).toBeGreaterThanOrEqual(0);
        expect(itemEnd).toBeLessThan(mapEnd);
      }

      // Read back later, as `runs describe` does.
      const later = new MemoryRunStore();
      await later.saveSnapshot(snapshot, run.snapshotUri);
      const status = await parts.orchestrator.fetchStatus(run, { store: later, stack: parts.stack });
      expect(status.status).toBe("completed");
      expect(status.steps?.map((s) => s.status)).toEqual(["completed", "completed", "completed"]);
      expect((await later.getStepRun(run.id, "score"))?.metadata?.[MAP_METADATA_KEY]).toMatchObject({ items: 4, completed: 4 });
      expect(await later.getStepRun(run.id, "score[3]")).toMatchObject({ status: "completed" });
    }, 600_000);

    it("records each item in the client's store as it finishes, with the map's counts, while the map runs (one item at a time)", async () => {
      const parts = components();
      const n = 3;
      const { snapshot } = await compileMap(parts, "slowMapPipeline", { n, seconds: 6 });
      /** What the client's store, and a second store reconciled through fetchStatus (`runs describe` elsewhere), showed while the run went on. */
      type Seen = { mapStatus?: string; itemsCompleted: number; mapCompleted?: number; mapItems?: number };
      const followed: Seen[] = [];
      const fetched: Seen[] = [];
      const seen = async (store: MemoryRunStore, runId: string): Promise<Seen> => {
        const steps = await store.listStepRuns(runId);
        const map = steps.find((s) => s.stepId === "slow_score");
        const counts = map?.metadata?.[MAP_METADATA_KEY] as { items?: number; completed?: number } | undefined;
        return {
          mapStatus: map?.status,
          itemsCompleted: steps.filter((s) => /^slow_score\[\d+\]$/.test(s.stepId) && s.status === "completed").length,
          mapCompleted: counts?.completed,
          mapItems: counts?.items,
        };
      };
      const elsewhere = new MemoryRunStore();
      await elsewhere.saveSnapshot(snapshot, parts.artifactStore.uri(`snapshots/${snapshot.id}.json`));
      const { outcomes, store, run, statuses } = await submitAndWait(snapshot, parts, async (run, store, ended) => {
        let over = false;
        void ended.then(() => {
          over = true;
        });
        while (!over) {
          followed.push(await seen(store, run.id));
          const status = await parts.orchestrator.fetchStatus(run, { store: elsewhere, stack: parts.stack });
          if (status.status === "running") fetched.push(await seen(elsewhere, run.id));
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      });
      expect(outcomes.map((o) => [o.stepId, o.status])).toEqual([
        ["split", "completed"],
        ["slow_score", "completed"],
        ["report", "completed"],
      ]);
      // Before the run ended, both stores showed the map running with some of its items completed, and counted on its record.
      const partly = (s: Seen) => s.mapStatus === "running" && s.itemsCompleted > 0 && s.itemsCompleted < n;
      const counted = (s: Seen) => s.mapStatus === "running" && s.mapItems === n && s.mapCompleted !== undefined && s.mapCompleted > 0 && s.mapCompleted < n;
      expect(followed.some(partly), JSON.stringify(followed)).toBe(true);
      expect(followed.some(counted), JSON.stringify(followed)).toBe(true);
      expect(fetched.some(partly), JSON.stringify(fetched)).toBe(true);
      expect(fetched.some(counted), JSON.stringify(fetched)).toBe(true);
      // Items were reported one by one as they ended, before the map was.
      const order = statuses.filter(([id, status]) => id.startsWith("slow_score") && status === "completed").map(([id]) => id);
      expect(order).toEqual(["slow_score[0]", "slow_score[1]", "slow_score[2]", "slow_score"]);
      // At the end: every item, and the map's summary.
      expect(await seen(store, run.id)).toEqual({ mapStatus: "completed", itemsCompleted: n, mapCompleted: n, mapItems: n });
      expect((await store.getStepRun(run.id, "slow_score"))?.metadata?.[MAP_METADATA_KEY]).toEqual({
        items: n,
        completed: n,
        cached: 0,
        failed: [],
        stopped: 0,
        notStarted: 0,
        tolerated: 0,
      });
      const later = await parts.orchestrator.fetchStatus(run, { store: elsewhere, stack: parts.stack });
      expect(later.status).toBe("completed");
      expect(await seen(elsewhere, run.id)).toEqual({ mapStatus: "completed", itemsCompleted: n, mapCompleted: n, mapItems: n });
    }, 600_000);

    it("tolerates one failed item in the state machine, collecting the others; two failures fail the map there", async () => {
      const parts = components();
      const tolerated = await compileMap(parts, "tolerantMapPipeline", { failOn: [1] });
      const local = await runLocally(tolerated.pipeline, tolerated.snapshot);
      expect(local.value.shards).toEqual([0, 2, 3]);
      let before = ecs.tasks.length;
      const ok = await submitAndWait(tolerated.snapshot, parts);
      expect(ok.outcomes.map((o) => [o.stepId, o.status])).toEqual([
        ["split", "completed"],
        ["score", "completed"],
        ["report", "completed"],
      ]);
      expect(
        itemTasks(before)
          .map((t) => t.exitCode)
          .sort(),
      ).toEqual([0, 0, 0, 1]);
      expect((await backend.describe(ok.run.orchestratorRunId!)).status).toBe("SUCCEEDED");
      expect(await reportOf(ok.store, ok.run.id, parts)).toEqual(local);
      expect((await ok.store.getStepRun(ok.run.id, "score"))?.metadata?.[MAP_METADATA_KEY]).toEqual({
        items: 4,
        completed: 3,
        cached: 0,
        failed: [1],
        stopped: 0,
        notStarted: 0,
        tolerated: 1,
      });
      expect(await ok.store.getStepRun(ok.run.id, "score[1]")).toMatchObject({ status: "failed", error: expect.stringMatching(/shard 1 is corrupt/) });

      const tooMany = await compileMap(parts, "tolerantMapPipeline", { failOn: [1, 2] });
      before = ecs.tasks.length;
      const failed = await submitAndWait(tooMany.snapshot, parts);
      expect(failed.outcomes.map((o) => [o.stepId, o.status])).toEqual([
        ["split", "completed"],
        ["score", "failed"],
        ["report", "skipped"],
      ]);
      expect(failed.outcomes[1]!.error).toMatch(/^2 of 4 items failed \(1 tolerated\); first: score\[1\]: .*shard 1 is corrupt/);
      expect(
        itemTasks(before)
          .map((t) => t.exitCode)
          .sort(),
      ).toEqual([0, 0, 1, 1]);
      // The state machine's own count failed the map (the Choice after the Map), not the client.
      const execution = await backend.describe(failed.run.orchestratorRunId!);
      expect(execution).toMatchObject({ status: "FAILED", error: "Stackyard.StepFailed" });
      expect(execution.cause).toMatch(/"score":\{"Error":"Stackyard\.MapFailed"/);
      expect(ecs.tasks.slice(before).some((t) => t.command.includes("report"))).toBe(false);
    }, 600_000);

    it("above the threshold takes the Distributed Map: valid ASL, created on moto, its item processor run over the manifest", async () => {
      const parts = components({ distributed_map_threshold: 2 }, standInBackend);
      const { pipeline, snapshot } = await compileMap(parts, "mapPipeline");
      const local = await runLocally(pipeline, snapshot);
      const reads = standInBackend.distributedReads.length;
      const before = ecs.tasks.length;
      const { outcomes, store, run, handle } = await submitAndWait(snapshot, parts);
      expect(outcomes.map((o) => [o.stepId, o.status])).toEqual([
        ["split", "completed"],
        ["score", "completed"],
        ["report", "completed"],
      ]);
      // 4 items > 2: the Choice took the Distributed Map, whose reader (the stand-in) read the manifest the expand wrote to S3.
      expect(standInBackend.distributedReads.slice(reads)).toEqual([{ stateName: "score.distributed", key: `runs/${run.id}/score/items.json`, items: 4 }]);
      expect(itemTasks(before).map((t) => t.stateName)).toEqual([
        "score.distributed-item",
        "score.distributed-item",
        "score.distributed-item",
        "score.distributed-item",
      ]);
      expect(await reportOf(store, run.id, parts)).toEqual(local);
      expect((await store.getStepRun(run.id, "score"))?.metadata?.[MAP_METADATA_KEY]).toMatchObject({ items: 4, completed: 4, failed: [] });

      // The definition moto stored (the one executed, before the stand-in) is valid ASL with the Distributed Map.
      const sfn = new SFNClient({ region: REGION, endpoint: aws.moto.endpoint, credentials: CREDENTIALS });
      const stateMachineArn = handle.orchestratorRunId!.replace(":execution:", ":stateMachine:").replace(/:[^:]+$/, "");
      const stored = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn })).finally(() => sfn.destroy());
      assertValidAsl(stored.definition!);
      const score = JSON.parse(stored.definition!).States.score.Branches[0].States;
      expect(score["score.route"].Choices[0]).toEqual({ Variable: "$.map.value.items", NumericGreaterThan: 2, Next: "score.distributed" });
      expect(score["score.distributed"]).toMatchObject({
        Type: "Map",
        ItemReader: { Resource: "arn:aws:states:::s3:getObject", ReaderConfig: { InputType: "JSON" }, Parameters: { Bucket: aws.bucket } },
        ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" } },
        MaxConcurrency: 2,
        ResultPath: null,
      });
    }, 600_000);
  });
});
