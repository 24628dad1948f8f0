/**
 * The behaviour every orchestrator must have, as a vitest suite.
 *
 * @example
 * ```ts
 * testOrchestrator({ name: "local", flavor: localOrchestratorFlavor, parallel: true, honoursResources: false });
 * ```
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  type AnyFlavor,
  type ArtifactRecord,
  type BaseArtifactStore,
  type BaseOrchestrator,
  bytesMaterializer,
  type CompileStack,
  createArtifactReader,
  EntrypointConfiguration,
  type EntrypointOptions,
  entrypointProblems,
  isFinalStatus,
  jsonMaterializer,
  LocalArtifactStore,
  localArtifactStoreFlavor,
  MemoryRunStore,
  type Pipeline,
  parseSourcePath,
  type RunResult,
  runSnapshotInProcess,
  type StepRunRecord,
} from "@stackyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BLOB_SIZE,
  type BlobDigest,
  conformanceBlob,
  conformanceBytes,
  conformanceDag,
  conformanceDagSequential,
  conformanceFailure,
  conformanceMap,
  conformanceResources,
  conformanceRetry,
  conformanceStop,
  FIXTURES_MODULE,
  HEARTBEAT_FILE,
  HEARTBEAT_MS,
  MAP_FAILING_VALUE,
  PLANNED_FAILURE,
  REQUESTED_MEMORY_BYTES,
  type SeenLimits,
  type Span,
  STOP_STEP_MS,
} from "./fixtures/pipelines.js";

/** Options of {@link testOrchestrator}. */
export interface OrchestratorSuiteOptions {
  /** Shown in the suite's title. */
  name: string;
  /**
   * The artifact store the map-step test runs with, for an orchestrator
   * whose map steps need another one than a local folder (Step Functions
   * reads a map's item manifest from S3 in the state machine), with the
   * source path of its flavor. Default: a local folder, as every other test.
   */
  mapArtifactStore?: () => Promise<{ artifactStore: BaseArtifactStore; flavorSource: string }>;
  /** The flavor under test: the suite loads its implementation and builds a component from `config`. */
  flavor?: AnyFlavor;
  /**
   * The class the flavor's `entrypoint` source path names, imported by the
   * test file: the kit cannot import a `.ts` file itself. Without it, the kit
   * imports the source path (a `.js` file or a package).
   */
  entrypoint?: typeof EntrypointConfiguration;
  /** Component config for `flavor` (validated with its `configSchema`). */
  config?: Record<string, unknown>;
  /** Builds the orchestrator under test instead of `flavor`. Called once. */
  create?: () => Promise<BaseOrchestrator<any>>;
  /** Releases what `create` made. */
  cleanup?: (orchestrator: BaseOrchestrator<any>) => Promise<void>;
  /** What `capabilities.parallel` must say. Omitted: whatever it says is tested. */
  parallel?: boolean;
  /** What `capabilities.honoursResources` must say. Omitted: whatever it says is tested. */
  honoursResources?: boolean;
  /**
   * Folder under which each test's artifact store is made (default: the OS
   * temporary folder). Container orchestrators must make it visible to their
   * step processes at the same path.
   */
  workDir?: string;
  /** `SubmitContext.sourceRoot`, where step processes resolve the fixtures module (default: the current folder). */
  sourceRoot?: string;
  /** Extra environment for step processes. */
  stepEnvironment?: (stepId: string) => Record<string, string>;
  /** Timeout of each test; default 120 s (container orchestrators start a process per step). */
  timeoutMs?: number;
  /** Tolerated difference between the clocks of the client and of step processes; default 1 s. */
  clockSkewMs?: number;
}

interface Ran {
  result: RunResult;
  store: MemoryRunStore;
  artifactStore: BaseArtifactStore;
  warnings: string[];
  /** Every line the steps printed, as `<step> | <line>`. */
  logs: string[];
  records: Record<string, StepRunRecord>;
}

/** What a failed assertion shows: each step's status and error, then the end of the steps' output. */
function explain(ran: Ran): string {
  const steps = ran.result.steps.map((s) => `  ${s.stepId}: ${s.status}${s.error ? ` (${s.error})` : ""}`);
  const logs = ran.logs.slice(-40).map((line) => `  ${line}`);
  return [`run ${ran.result.status}`, ...steps, logs.length ? "step output (last 40 lines):" : "no step output", ...logs].join("\n");
}

/** Options of one fixture run: a signal to stop it, and a callback on step status changes. */
interface RunExtras {
  signal?: AbortSignal;
  onStepStatus?: (stepId: string, status: string) => void;
  /** Source path of the artifact store's flavor, when it is not the local one. */
  flavorSource?: string;
}

const stepStatuses = (result: RunResult): Record<string, string> => Object.fromEntries(result.steps.map((s) => [s.stepId, s.status]));
const millis = (iso: string | undefined): number => (iso === undefined ? Number.NaN : Date.parse(iso));

const SCHEDULE_METHODS = ["createSchedule", "updateSchedule", "getSchedule", "listSchedules", "deleteSchedule"] as const;
const DEPLOY_METHODS = ["deploy", "undeploy"] as const;

/**
 * What an orchestrator claims in its capabilities but does not implement:
 * `schedulable` needs all five schedule methods, `deployable` needs
 * `deploy` and `undeploy`. Empty when every claim is backed; otherwise one
 * message per claim, naming the missing methods. Without them the CLI would
 * treat the orchestrator as unable (`asScheduling`, `asDeployable`), so a
 * claim without methods is a bug in the flavor.
 */
export function productionContractGaps(orchestrator: BaseOrchestrator<any>): string[] {
  const gaps: string[] = [];
  const missing = (methods: readonly string[]) => methods.filter((m) => typeof (orchestrator as unknown as Record<string, unknown>)[m] !== "function");
  const label = `orchestrator '${orchestrator.name}' (flavor ${orchestrator.flavor})`;
  const schedule = orchestrator.capabilities.schedulable ? missing(SCHEDULE_METHODS) : [];
  if (schedule.length) gaps.push(`${label} says capabilities.schedulable but does not implement ${schedule.join(", ")}`);
  const deploy = orchestrator.capabilities.deployable ? missing(DEPLOY_METHODS) : [];
  if (deploy.length) gaps.push(`${label} says capabilities.deployable but does not implement ${deploy.join(", ")}`);
  return gaps;
}

/**
 * Imports the entrypoint configuration a flavor names (`Flavor.entrypoint`),
 * resolved as step processes resolve it: a file relative to `sourceRoot`, or a package.
 */
async function importEntrypoint(source: string, sourceRoot: string): Promise<typeof EntrypointConfiguration> {
  const { module, exportName, isFile } = parseSourcePath(source);
  const loaded = (await import(isFile ? pathToFileURL(resolve(sourceRoot, module)).href : module)) as Record<string, unknown>;
  const problems = entrypointProblems(loaded[exportName]);
  if (problems.length) throw new Error(`The flavor's entrypoint '${source}' is not usable: ${problems.join("; ")}`);
  return loaded[exportName] as typeof EntrypointConfiguration;
}

/**
 * Registers `describe`/`it` blocks checking that an orchestrator runs a
 * pipeline's DAG in order, runs independent steps at the same time when it
 * says it does, propagates failures (downstream skipped, finished artifacts
 * kept), records statuses and timings in the run store, moves artifacts byte
 * for byte, retries, and honours resources or says it does not.
 *
 * Runs go through `runSnapshotInProcess` with `orchestrator.submit`, a
 * {@link MemoryRunStore} and a local artifact store in a fresh folder per
 * test. The pipelines come from `@stackyard/conformance/fixtures`, so step
 * processes (containers) import them by source path: build the package, and
 * let step processes resolve it from `sourceRoot`.
 */
export function testOrchestrator(options: OrchestratorSuiteOptions): void {
  if (!options.flavor && !options.create) throw new Error("testOrchestrator needs `flavor` or `create`");
  const timeout = options.timeoutMs ?? 120_000;
  const skew = options.clockSkewMs ?? 1_000;

  describe(`orchestrator conformance: ${options.name}`, () => {
    let orchestrator: BaseOrchestrator<any>;
    let workRoot: string;
    /** The flavor's entrypoint configuration, when it names one: step commands are built with it and step processes load it. */
    let entrypoint: typeof EntrypointConfiguration | undefined;

    beforeAll(async () => {
      const base = options.workDir ?? tmpdir();
      mkdirSync(base, { recursive: true });
      workRoot = mkdtempSync(join(base, "stackyard-orchestrator-conformance-"));
      const named = options.flavor?.entrypoint;
      if (named && options.entrypoint) {
        const problems = entrypointProblems(options.entrypoint);
        if (problems.length) throw new Error(`The suite's entrypoint is not usable: ${problems.join("; ")}`);
        if (options.entrypoint.name !== parseSourcePath(named).exportName) {
          throw new Error(`The suite was given the entrypoint ${options.entrypoint.name}, but the flavor names '${named}'`);
        }
        entrypoint = options.entrypoint;
      } else if (named) {
        entrypoint = await importEntrypoint(named, options.sourceRoot ?? process.cwd());
      }
      if (options.create) {
        orchestrator = await options.create();
      } else {
        const flavor = options.flavor!;
        const Implementation = await flavor.implementation();
        const config = flavor.configSchema.parse(options.config ?? {});
        orchestrator = new Implementation({
          id: "orchestrator-conformance",
          name: `conformance_${flavor.name}`,
          flavor: flavor.name,
          config,
          sourceRoot: options.sourceRoot ?? process.cwd(),
        }) as BaseOrchestrator<any>;
      }
    });
    afterAll(async () => {
      if (orchestrator && options.cleanup) await options.cleanup(orchestrator);
      if (workRoot) rmSync(workRoot, { recursive: true, force: true });
    });

    function environment(): Omit<Ran, "result" | "records" | "warnings" | "logs"> {
      const root = mkdtempSync(join(workRoot, "run-"));
      const config = localArtifactStoreFlavor.configSchema.parse({ path: root });
      return {
        store: new MemoryRunStore(),
        artifactStore: new LocalArtifactStore({ id: "artifact-store-conformance", name: "conformance", flavor: "local", config, sourceRoot: root }),
      };
    }

    function stackFor(artifactStore: BaseArtifactStore, flavorSource = "@stackyard/core#localArtifactStoreFlavor"): CompileStack {
      return {
        name: "conformance",
        components: {
          orchestrator: {
            id: orchestrator.id,
            name: orchestrator.name,
            flavor: orchestrator.flavor,
            flavor_source: "conformance",
            config: { ...orchestrator.config },
            ...(options.flavor?.entrypoint ? { entrypoint: options.flavor.entrypoint } : {}),
          },
          artifact_store: {
            id: artifactStore.id,
            name: artifactStore.name,
            flavor: artifactStore.flavor,
            flavor_source: flavorSource,
            config: artifactStore instanceof LocalArtifactStore ? { path: artifactStore.path } : { ...(artifactStore.config as Record<string, unknown>) },
          },
        },
      };
    }

    async function runFixture(
      pipeline: Pipeline<any>,
      exportName: string,
      env: Omit<Ran, "result" | "records" | "warnings" | "logs"> = environment(),
      enableCache = false,
      extras: RunExtras = {},
    ): Promise<Ran> {
      const snapshot = pipeline.compile({ source: `${FIXTURES_MODULE}#${exportName}`, stack: stackFor(env.artifactStore, extras.flavorSource), enableCache });
      const warnings: string[] = [];
      const logs: string[] = [];
      const result = await runSnapshotInProcess({
        pipeline,
        snapshot,
        store: env.store,
        artifactStore: env.artifactStore,
        orchestrator,
        sourceRoot: options.sourceRoot ?? process.cwd(),
        events: {
          warn: (message) => warnings.push(message),
          stepLog: (stepId, line) => logs.push(`${stepId} | ${line}`),
          stepStatus: (stepId, status) => extras.onStepStatus?.(stepId, status),
        },
        ...(extras.signal ? { signal: extras.signal } : {}),
        ...(entrypoint ? { entrypoint } : {}),
        ...(options.stepEnvironment ? { stepEnvironment: options.stepEnvironment } : {}),
      });
      const records = Object.fromEntries((await env.store.listStepRuns(result.runId)).map((r) => [r.stepId, r]));
      return { ...env, result, warnings, logs, records };
    }

    async function artifactOf(ran: Ran, stepId: string, output = "output"): Promise<ArtifactRecord> {
      const id = ran.records[stepId]?.outputs[output];
      expect(id, `step '${stepId}' records its output '${output}'`).toBeTypeOf("string");
      const artifact = await ran.store.getArtifact(id!);
      expect(artifact, `artifact ${id} of step '${stepId}' is in the run store`).toBeDefined();
      return artifact!;
    }

    async function loadJson<T>(ran: Ran, stepId: string): Promise<T> {
      const artifact = await artifactOf(ran, stepId);
      return (await jsonMaterializer.load(createArtifactReader(ran.artifactStore, artifact.uri, artifact))) as T;
    }

    describe("capabilities", () => {
      it("declares every capability as a boolean, as the suite was told", () => {
        const capabilities = orchestrator.capabilities;
        for (const key of ["remote", "synchronous", "schedulable", "honoursResources", "parallel"] as const) {
          expect(typeof capabilities[key], `capabilities.${key}`).toBe("boolean");
        }
        expect(orchestrator.type).toBe("orchestrator");
        if (options.parallel !== undefined) expect(capabilities.parallel, "capabilities.parallel").toBe(options.parallel);
        if (options.honoursResources !== undefined) expect(capabilities.honoursResources, "capabilities.honoursResources").toBe(options.honoursResources);
      });

      it("implements the methods of what it claims: schedulable the five schedule methods, deployable deploy and undeploy", () => {
        expect(productionContractGaps(orchestrator)).toEqual([]);
      });
    });

    describe("step entrypoint", () => {
      it("parses the options in the step commands it builds back to the same options, its own included", () => {
        const cls = entrypoint ?? EntrypointConfiguration;
        const declared = Object.entries(cls.declaredOptions());
        const all = Object.fromEntries(declared.map(([name]) => [name, `sample-${name}`]));
        const required = Object.fromEntries(declared.filter(([, o]) => o.required).map(([name]) => [name, `sample-${name}`]));
        const samples: EntrypointOptions[] = [
          { snapshot: "file:///artifacts/snapshots/s.json", step: "train", run: "run-1", ...(declared.length ? { extra: all } : {}) },
          {
            snapshot: "s3://bucket/snapshots/s.json",
            step: "score[3]",
            run: "run-2",
            attempt: "next",
            ...(Object.keys(required).length ? { extra: required } : {}),
          },
          { snapshot: "s3://bucket/snapshots/s.json", step: "score", run: "run-3", attempt: 2, ...(declared.length ? { extra: all } : {}) },
        ];
        for (const sample of samples) {
          const command = cls.commandFor(sample);
          expect(command.slice(0, cls.command.length), "the command starts with the entrypoint's program").toEqual([...cls.command]);
          expect(cls.parse(command.slice(cls.command.length), {}), `${cls.name} parses ${JSON.stringify(command)}`).toEqual(sample);
        }
      });
    });

    describe("map steps", () => {
      it(
        "runs each item as its own step run and collects the successes in order, when it says it runs map steps; else refuses them before anything is stored",
        async () => {
          if (!orchestrator.capabilities.mapSteps) {
            const env = environment();
            await expect(runFixture(conformanceMap, "conformanceMap", env)).rejects.toThrow(/cannot run map steps/);
            expect(await env.store.listRuns({})).toEqual([]);
            return;
          }
          const made = await options.mapArtifactStore?.();
          const ran = made
            ? await runFixture(conformanceMap, "conformanceMap", { store: new MemoryRunStore(), artifactStore: made.artifactStore }, false, {
                flavorSource: made.flavorSource,
              })
            : await runFixture(conformanceMap, "conformanceMap");
          expect(ran.result.status, explain(ran)).toBe("completed");
          const items = Object.keys(ran.records)
            .filter((id) => id.startsWith("cube["))
            .sort();
          expect(items, "one step run per item, named cube[i]").toEqual(["cube[0]", "cube[1]", "cube[2]", "cube[3]", "cube[4]"]);
          expect(ran.records[`cube[${MAP_FAILING_VALUE - 1}]`]?.status, "the failing item is recorded failed").toBe("failed");
          expect(ran.records.cube?.status, "the map tolerates one failed item").toBe("completed");
          expect(ran.records.cube?.metadata?.["stackyard.map"], "the map's record counts its items").toMatchObject({
            items: 5,
            failed: [MAP_FAILING_VALUE - 1],
          });
          expect(await loadJson<number[]>(ran, "gather"), "the collector gets the successes in item order").toEqual([1001, 1008, 1064, 1125]);
        },
        timeout,
      );
    });

    describe("the DAG", () => {
      let ran: Ran;
      let spans: Record<string, Span>;
      beforeAll(async () => {
        const parallel = orchestrator.capabilities.parallel;
        ran = await runFixture(parallel ? conformanceDag : conformanceDagSequential, parallel ? "conformanceDag" : "conformanceDagSequential");
        spans = {};
        if (ran.result.status === "completed") for (const id of ["source", "left", "right", "join", "lonely"]) spans[id] = await loadJson<Span>(ran, id);
      }, timeout);

      it("completes every step", () => {
        expect(ran.result.status, explain(ran)).toBe("completed");
        expect(stepStatuses(ran.result)).toEqual({ source: "completed", left: "completed", right: "completed", join: "completed", lonely: "completed" });
      });

      it("starts a step only after every step it depends on has ended", () => {
        expect(ran.result.status, explain(ran)).toBe("completed");
        for (const [step, upstream] of [
          ["left", ["source"]],
          ["right", ["source"]],
          ["join", ["left", "right"]],
        ] as const) {
          for (const up of upstream) {
            expect(spans[step]!.start, `${step} starts after ${up} ends`).toBeGreaterThanOrEqual(spans[up]!.end);
          }
        }
      });

      it("runs independent steps at the same time when it says it is parallel", () => {
        expect(ran.result.status, explain(ran)).toBe("completed");
        const { left, right } = spans as { left: Span; right: Span };
        if (orchestrator.capabilities.parallel) {
          expect(left.sawSibling && right.sawSibling, "left and right each saw the other start while waiting").toBe(true);
          expect(Math.max(left.start, right.start), "left and right ran in overlapping intervals").toBeLessThan(Math.min(left.end, right.end));
        } else {
          expect(Math.max(left.start, right.start) >= Math.min(left.end, right.end), "a sequential orchestrator runs one step at a time").toBe(true);
        }
      });

      it("records the run and each step with statuses and timings in the run store", async () => {
        const run = await ran.store.getRun(ran.result.runId);
        expect(run).toMatchObject({ status: "completed", pipeline: "conformance_dag" + (orchestrator.capabilities.parallel ? "" : "_sequential") });
        expect(millis(run!.started)).toBeLessThanOrEqual(millis(run!.ended));
        expect(Object.keys(ran.records).sort()).toEqual(["join", "left", "lonely", "right", "source"]);
        for (const [id, record] of Object.entries(ran.records)) {
          expect(record, id).toMatchObject({ runId: ran.result.runId, stepId: id, status: "completed", attempt: 1 });
          expect(record.cacheKey, `${id} has a cache key`).toMatch(/^[0-9a-f]{64}$/);
          const started = millis(record.started);
          const ended = millis(record.ended);
          expect(started, `${id} started <= ended`).toBeLessThanOrEqual(ended);
          expect(started, `${id} started within the run`).toBeGreaterThanOrEqual(millis(run!.started) - skew);
          expect(ended, `${id} ended within the run`).toBeLessThanOrEqual(millis(run!.ended) + skew);
          expect(spans[id]!.start, `${id}'s function ran within its recorded start and end`).toBeGreaterThanOrEqual(started - skew);
          expect(spans[id]!.end).toBeLessThanOrEqual(ended + skew);
        }
      });

      it("records artifacts whose size and sha256 match the stored bytes", async () => {
        for (const id of Object.keys(ran.records)) {
          const artifact = await artifactOf(ran, id);
          expect(artifact).toMatchObject({ runId: ran.result.runId, stepId: id, output: "output", materializer: "json" });
          const bytes = await ran.artifactStore.readFile(`${artifact.uri}/data.json`);
          expect(artifact.size, id).toBe(bytes.length);
          expect(artifact.sha256, id).toBe(createHash("sha256").update(bytes).digest("hex"));
        }
      });
    });

    describe("failures", () => {
      let ran: Ran;
      beforeAll(async () => {
        ran = await runFixture(conformanceFailure, "conformanceFailure");
      }, timeout);

      it("fails the run, records the step's error and skips what depends on it", async () => {
        expect(ran.result.status).toBe("failed");
        const statuses = stepStatuses(ran.result);
        expect(statuses).toMatchObject({ produce: "completed", explode: "failed", never: "skipped" });
        expect(["completed", "skipped"]).toContain(statuses.bystander);
        expect(ran.records.explode).toMatchObject({ status: "failed" });
        expect(ran.records.explode!.error).toContain(PLANNED_FAILURE);
        expect(ran.records.never).toMatchObject({ status: "skipped" });
        expect(ran.records.never!.outputs).toEqual({});
        const run = await ran.store.getRun(ran.result.runId);
        expect(run).toMatchObject({ status: "failed" });
        expect(run!.error).toContain("explode");
        expect(millis(run!.ended)).toBeGreaterThanOrEqual(millis(run!.started));
      });

      it("keeps the artifacts of steps that finished", async () => {
        expect(ran.result.status).toBe("failed");
        for (const [id, record] of Object.entries(ran.records)) {
          if (record.status !== "completed") continue;
          const span = await loadJson<Span>(ran, id);
          expect(span.step).toBe(id);
        }
        expect((await loadJson<Span>(ran, "produce")).step).toBe("produce");
        expect((await ran.store.listArtifacts(ran.result.runId)).map((a) => a.stepId)).not.toContain("explode");
      });
    });

    describe("artifacts", () => {
      it(
        "round-trips every byte value through the bytes materializer and a downstream step, byte for byte",
        async () => {
          const ran = await runFixture(conformanceBytes, "conformanceBytes");
          expect(ran.result.status, explain(ran)).toBe("completed");
          const expected = conformanceBlob();
          const sha256 = createHash("sha256").update(expected).digest("hex");
          const artifact = await artifactOf(ran, "emit", "blob");
          expect(artifact).toMatchObject({ materializer: "bytes", size: BLOB_SIZE, sha256 });
          const stored = (await bytesMaterializer.load(createArtifactReader(ran.artifactStore, artifact.uri, artifact))) as Buffer;
          expect(stored.length).toBe(BLOB_SIZE);
          expect(stored.equals(expected), "stored bytes equal the emitted ones").toBe(true);
          expect(await loadJson<BlobDigest>(ran, "digest")).toEqual({ size: BLOB_SIZE, sha256, distinct: 256 });
        },
        timeout,
      );

      it(
        "reuses cached outputs when an unchanged pipeline runs again",
        async () => {
          const env = environment();
          const first = await runFixture(conformanceBytes, "conformanceBytes", env, true);
          expect(first.result.status, explain(first)).toBe("completed");
          const again = await runFixture(conformanceBytes, "conformanceBytes", env, true);
          expect(again.result.status, explain(again)).toBe("completed");
          expect(stepStatuses(again.result)).toEqual({ emit: "cached", digest: "cached" });
          expect(again.records.emit).toMatchObject({ status: "cached", cachedFrom: { runId: first.result.runId, stepId: "emit" } });
          expect(again.records.emit!.outputs).toEqual(first.records.emit!.outputs);
        },
        timeout,
      );
    });

    describe("retries", () => {
      it(
        "retries a failing step as its retry policy says and records the attempts",
        async () => {
          const ran = await runFixture(conformanceRetry, "conformanceRetry");
          expect(ran.result.status, explain(ran)).toBe("completed");
          expect(ran.records.flaky).toMatchObject({ status: "completed", attempt: 3 });
          expect((await loadJson<Span>(ran, "flaky")).attempt).toBe(3);
        },
        timeout,
      );
    });

    describe("stopping", () => {
      it(
        "stops a run mid-step: the run is recorded stopped, every step ends final, nothing downstream starts",
        async () => {
          const abort = new AbortController();
          const started = Date.now();
          const env = environment();
          // Stop once the long step's own code runs (its heartbeat is there), not just its process or container:
          // a container orchestrator reports `running` before the step process has loaded the pipeline.
          const stopWhenBeating = async () => {
            const deadline = Date.now() + STOP_STEP_MS / 2;
            while (Date.now() < deadline && !abort.signal.aborted) {
              const [run] = await env.store.listRuns();
              if (run && (await env.artifactStore.exists(`runs/${run.id}/slow/${HEARTBEAT_FILE}`).catch(() => false))) break;
              await sleep(HEARTBEAT_MS / 2);
            }
            await sleep(HEARTBEAT_MS);
            abort.abort(new Error("stopped by the suite"));
          };
          const ran = await runFixture(conformanceStop, "conformanceStop", env, false, {
            signal: abort.signal,
            onStepStatus: (stepId, status) => {
              if (stepId === "slow" && status === "running") void stopWhenBeating();
            },
          });
          expect(abort.signal.aborted, `the long step never reported 'running'\n${explain(ran)}`).toBe(true);
          expect(Date.now() - started, `the run waited for the long step (${STOP_STEP_MS} ms) instead of stopping it`).toBeLessThan(STOP_STEP_MS);
          expect(ran.result.status, explain(ran)).toBe("stopped");
          const run = await ran.store.getRun(ran.result.runId);
          expect(run?.status).toBe("stopped");
          for (const id of ["before", "slow", "after"]) {
            const record = ran.records[id];
            expect(record, `step '${id}' has a record`).toBeDefined();
            expect(isFinalStatus(record!.status), `step '${id}' is '${record!.status}' after its run was stopped`).toBe(true);
          }
          expect(ran.records.before?.status).toBe("completed");
          expect(ran.records.slow?.status).toBe("stopped");
          expect(ran.records.after?.status, "a step after the stopped one never runs").not.toBe("completed");
          // Nothing of the stopped step goes on: a process or container left running would keep counting its heartbeat.
          const heartbeat = `runs/${ran.result.runId}/slow/${HEARTBEAT_FILE}`;
          const beats = async () => ((await ran.artifactStore.exists(heartbeat)) ? (await ran.artifactStore.readFile(heartbeat)).toString("utf8") : "");
          await sleep(2 * HEARTBEAT_MS);
          const seen = await beats();
          expect(seen, `the long step wrote no heartbeat\n${explain(ran)}`).not.toBe("");
          await sleep(8 * HEARTBEAT_MS);
          expect(await beats(), "the stopped step is still running (its process or container outlived the stop): its heartbeat goes on").toBe(seen);
        },
        timeout,
      );
    });

    describe("resources", () => {
      it(
        "enforces requested resources when it says it honours them, and is warned about otherwise",
        async () => {
          const ran = await runFixture(conformanceResources, "conformanceResources");
          expect(ran.result.status, explain(ran)).toBe("completed");
          const seen = await loadJson<SeenLimits>(ran, "probe");
          const resourceWarnings = ran.warnings.filter((w) => /resources/.test(w));
          if (orchestrator.capabilities.honoursResources) {
            expect(seen.memoryBytes, "the step sees a memory limit").not.toBeNull();
            expect(seen.memoryBytes!).toBeLessThanOrEqual(REQUESTED_MEMORY_BYTES);
            if (seen.cpus !== null) expect(seen.cpus).toBeLessThanOrEqual(1);
            expect(resourceWarnings).toEqual([]);
          } else {
            expect(resourceWarnings.length, "the engine warns that resources are not enforced").toBe(1);
            expect(resourceWarnings[0]).toContain(orchestrator.name);
          }
        },
        timeout,
      );
    });
  });
}
