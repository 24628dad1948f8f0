import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, join } from "node:path";
import {
  type ArtifactStoreStepAccess,
  type BaseArtifactStore,
  BaseOrchestrator,
  ConfigError,
  componentSettings,
  executeDag,
  formatArtifactStoreDescription,
  formatBytes,
  isFinalStatus,
  looksLikeSecretName,
  type OrchestratorCapabilities,
  type PipelineSnapshot,
  parseMemory,
  parseStepStatusLine,
  type RunHandle,
  type RunRecord,
  type RunStore,
  type SnapshotStep,
  STEP_ENV,
  type Stack,
  type StepOutcome,
  type SubmitContext,
  snapshotStep,
  stepArtifactStoreDescription,
} from "@stackyard/core";
import { assertEngineReachable, connectDocker, EngineUnreachableError, prepareStepImages, resolveDockerHost } from "@stackyard/image-builder";
import type Docker from "dockerode";
import { type DockerOrchestratorConfig, type DockerOrchestratorSettings, dockerOrchestratorCapabilities, dockerOrchestratorSettingsSchema } from "./index.js";
import { artifactMounts, resolveVolume } from "./mounts.js";
import { RunRecords } from "./run-records.js";
import { RUN_LABEL, runContainer, STEP_LABEL } from "./step-container.js";

/** An image a group of steps runs in, and where the project sits in it. */
interface StepImage {
  image: string;
  /** The image's `STACKYARD_SOURCE_ROOT` (else its working directory). */
  sourceRoot: string;
}

/**
 * Runs each step of a snapshot in its own container on a Docker engine.
 * `submit` builds (or reuses, by content hash) the image of the snapshot,
 * pushes it when the stack has a container registry, then runs the DAG with
 * one container per step, independent steps in parallel up to `concurrency`.
 * It returns once the run is over.
 */
export class DockerOrchestrator extends BaseOrchestrator<DockerOrchestratorConfig> {
  readonly capabilities: OrchestratorCapabilities = { ...dockerOrchestratorCapabilities };

  /** The engine address this orchestrator uses: its `docker_host`, else DOCKER_HOST, else the default socket. */
  get dockerHost(): string {
    return resolveDockerHost(this.config.docker_host);
  }

  /** A client for the engine, after checking that it answers (the error names the address and how to change it). */
  async connect(): Promise<Docker> {
    const address = this.dockerHost;
    const docker = connectDocker(address);
    try {
      await assertEngineReachable(docker, address);
    } catch (error) {
      if (!(error instanceof EngineUnreachableError)) throw error;
      throw new EngineUnreachableError(`${this.describe()}: ${error.message}`, {
        hint: `Start Docker at ${address}, or point the orchestrator at a running engine: set DOCKER_HOST, or \`stackyard orchestrator update ${this.name} --docker_host=unix:///var/run/docker.sock\` (tcp://host:port works too).`,
        cause: error,
      });
    }
    return docker;
  }

  /** Orchestrator settings of a step: `settings.orchestrator` then `settings."orchestrator.docker"`. */
  settingsFor(step: SnapshotStep): DockerOrchestratorSettings {
    return componentSettings(
      step.settings,
      { type: "orchestrator", flavor: "docker" },
      dockerOrchestratorSettingsSchema,
      `settings.orchestrator of step '${step.id}'`,
    );
  }

  async submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle> {
    this.warnSecretLookingEnvironment(snapshot, context);
    const docker = await this.connect();
    await this.checkNetworks(docker, snapshot);
    const images = await this.prepareImages(docker, snapshot, context);
    const running = new Map<string, Docker.Container>();
    const killed = new Set<string>();
    const records = new RunRecords(snapshot, context.store, context.stack.artifactStore, context.runId);
    // Credentials of the artifact store, resolved once per run and passed only to the containers' environment.
    const access = (await context.stack.artifactStore.stepAccess?.()) ?? {};
    const onAbort = (): void => {
      for (const [stepId, container] of running) {
        killed.add(stepId);
        container.kill().catch(() => {});
      }
    };
    context.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const outcomes = await executeDag({
        steps: snapshot.steps,
        concurrency: this.config.concurrency ?? availableParallelism(),
        failFast: this.config.fail_fast,
        signal: context.signal,
        runOne: (stepId) => this.runStep(docker, snapshot, stepId, images, context, records, { running, killed, access }),
        markSkipped: (stepId, reason, status) => context.markStep(stepId, status, reason),
        maps: context.maps,
      });
      return { wait: async () => outcomes };
    } finally {
      context.signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Plain `environment` values are stored, shown and put into snapshots in
   * clear text; a name that says it holds a secret is warned about, once.
   */
  private warnSecretLookingEnvironment(snapshot: PipelineSnapshot, context: SubmitContext): void {
    const names = new Set(Object.keys(this.config.environment));
    for (const step of snapshot.steps) for (const name of Object.keys(this.settingsFor(step).environment ?? {})) names.add(name);
    for (const name of [...names].filter(looksLikeSecretName)) {
      context.events.warn(
        `Environment variable '${name}' of ${this.describe()} looks like a secret, but environment values are kept and copied into snapshots in clear text: give it in secret_environment instead (\`stackyard orchestrator update ${this.name} --secret_environment=@FILE\` with a JSON object).`,
      );
    }
  }

  /**
   * Fails before anything is built when a step's network is not on the engine
   * (the default `bridge` on an engine started with `--bridge=none`), naming
   * the key to change; otherwise the first container would fail to start.
   */
  private async checkNetworks(docker: Docker, snapshot: PipelineSnapshot): Promise<void> {
    const wanted = new Map<string, string>();
    for (const step of snapshot.steps) {
      const mode = this.settingsFor(step).network_mode ?? this.config.network_mode;
      // Modes that are not networks: the engine's default, another container's, none, host.
      if (mode === "default" || mode === "none" || mode === "host" || mode.startsWith("container:")) continue;
      if (!wanted.has(mode)) wanted.set(mode, step.id);
    }
    if (wanted.size === 0) return;
    const networks = await docker.listNetworks();
    const known = new Set(networks.flatMap((n) => [n.Name, n.Id]));
    for (const [mode, stepId] of wanted) {
      if (known.has(mode) || [...known].some((id) => mode.length >= 12 && id.startsWith(mode))) continue;
      throw new ConfigError(
        `${this.describe()}: step '${stepId}' would run on network '${mode}' (network_mode), which the Docker engine at ${this.dockerHost} does not have (it has: ${networks.map((n) => n.Name).join(", ") || "none"}).`,
        {
          hint: `Create that network, or choose another: \`stackyard orchestrator update ${this.name} --network_mode=host\` (steps then reach the host's 127.0.0.1), --network_mode=none, or settings."orchestrator.docker".network_mode for some steps.`,
        },
      );
    }
  }

  /**
   * The image of each step (see `prepareStepImages`); the project sits where
   * the image says, else at its host path.
   */
  private async prepareImages(docker: Docker, snapshot: PipelineSnapshot, context: SubmitContext): Promise<Map<string, StepImage>> {
    const images = await prepareStepImages({
      docker,
      snapshot,
      sourceRoot: context.sourceRoot,
      parentImage: this.config.parent_image,
      pullParentImage: this.config.pull_parent_image,
      registry: context.stack.containerRegistry,
      local: true,
      events: context.events,
    });
    return new Map([...images].map(([stepId, image]) => [stepId, { image: image.image, sourceRoot: image.sourceRoot ?? context.sourceRoot }]));
  }

  /**
   * The container of one step, or of item `stepId` (`score[3]`) of a map
   * step: command, environment, mounts, limits, labels. The step process gets
   * the artifact store (`STACKYARD_ARTIFACT_STORE`, no secret in it) and
   * records there; never the client's store. `access` is what the artifact
   * store's `stepAccess` gave: its credentials go into the environment only.
   */
  containerOptions(
    snapshot: PipelineSnapshot,
    step: SnapshotStep,
    image: StepImage,
    context: SubmitContext,
    stepId: string = step.id,
    access: ArtifactStoreStepAccess = {},
  ): Docker.ContainerCreateOptions {
    const settings = this.settingsFor(step);
    const { [STEP_ENV.store]: database, ...stepEnv } = context.stepEnvironment(stepId);
    const artifactStore = context.stack.artifactStore;
    const artifactRoot = (artifactStore.config as { path?: unknown }).path;
    const localArtifactRoot = artifactStore.scheme === "file" && typeof artifactRoot === "string" && isAbsolute(artifactRoot) ? artifactRoot : undefined;
    const configured = snapshot.stack.components.artifact_store?.config.path;
    const binds = [
      ...artifactMounts({
        sourceRoot: context.sourceRoot,
        containerSourceRoot: image.sourceRoot,
        localArtifactRoot,
        configuredArtifactPath: typeof configured === "string" ? configured : undefined,
        database,
        artifactStoreName: artifactStore.name,
        runId: context.runId,
      }),
      ...[...this.config.volumes, ...(settings.volumes ?? [])].map((v) => resolveVolume(v, context.sourceRoot)),
    ];
    // The run's folder exists before it is mounted (the engine would make a missing one, as root).
    if (localArtifactRoot) mkdirSync(join(localArtifactRoot, "runs", context.runId), { recursive: true });
    const user = this.config.user ?? (typeof process.getuid === "function" ? `${process.getuid()}:${process.getgid!()}` : undefined);
    const env: Record<string, string> = {
      ...(user && user !== "0:0" && user !== "root" ? { HOME: "/tmp" } : {}),
      // Secrets: the artifact store's credentials, passed only here (the user's variables below may replace them).
      ...access.environment,
      ...this.config.environment,
      ...settings.environment,
      // Secrets reach the step only here, when its container is created.
      ...this.config.secret_environment,
      ...stepEnv,
      [STEP_ENV.artifactStore]: this.artifactStoreVariable(snapshot, context, access),
      // It writes only its run's folder; this client writes the shared records (RunRecords).
      [STEP_ENV.records]: "run",
      // The step process loads the pipeline from the image's copy of the project.
      [STEP_ENV.sourceRoot]: image.sourceRoot,
    };
    const hostConfig: Docker.HostConfig = {
      NetworkMode: settings.network_mode ?? this.config.network_mode,
      Binds: binds,
      ...resourceLimits(step),
    };
    return {
      Image: image.image,
      Cmd: context.stepCommand(stepId),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...(user ? { User: user } : {}),
      Labels: {
        ...this.config.labels,
        [RUN_LABEL]: context.runId,
        [STEP_LABEL]: stepId,
        "io.stackyard.pipeline": snapshot.pipeline.name,
        "io.stackyard.orchestrator": this.name,
      },
      HostConfig: hostConfig,
    };
  }

  /**
   * `STACKYARD_ARTIFACT_STORE` of a step container: the run's artifact store
   * without its secret fields (those the snapshot leaves out), with what
   * `access.config` adds.
   *
   * @throws ConfigError when no step process could load the artifact store (no flavor source path).
   */
  private artifactStoreVariable(snapshot: PipelineSnapshot, context: SubmitContext, access: ArtifactStoreStepAccess): string {
    const artifactStore = context.stack.artifactStore;
    const description = stepArtifactStoreDescription(snapshot, artifactStore);
    if (!description) {
      throw new ConfigError(
        `${this.describe()}: its step containers cannot load artifact store '${artifactStore.name}': the snapshot names no flavor source for it`,
        {
          hint: "Run the pipeline through `stackyard run` or `driveRun` with a stack whose artifact store is registered by source path.",
        },
      );
    }
    const open = snapshot.stack.components.artifact_store?.config;
    const config = open ? Object.fromEntries(Object.entries(description.config).filter(([key]) => key in open)) : description.config;
    return formatArtifactStoreDescription({ ...description, config: { ...config, ...access.config } });
  }

  private async runStep(
    docker: Docker,
    snapshot: PipelineSnapshot,
    stepId: string,
    images: ReadonlyMap<string, StepImage>,
    context: SubmitContext,
    records: RunRecords,
    containers: { running: Map<string, Docker.Container>; killed: Set<string>; access: ArtifactStoreStepAccess },
  ): Promise<StepOutcome> {
    // A step, or an item of a map step (`score[3]`), which runs its step's image.
    const step = snapshotStep(snapshot, stepId).spec;
    const image = images.get(step.id)!;
    const { events } = context;
    const { running, killed } = containers;
    const stopped = async (): Promise<StepOutcome> => {
      await context.markStep(stepId, "stopped", "the run was stopped");
      return { stepId, status: "stopped", error: "the run was stopped" };
    };
    if (context.signal.aborted) return stopped();
    // Recorded before the run reached it (the cache or a retried run answered for it): no container.
    const answered = await records.finalRecord(stepId);
    if (answered) {
      events.stepStatus(stepId, answered.status, answered.error);
      return { stepId, status: answered.status, ...(answered.error ? { error: answered.error } : {}) };
    }
    await records.shareFinalRecords();
    const exit = await runContainer({
      docker,
      create: this.containerOptions(snapshot, step, image, context, stepId, containers.access),
      remove: this.config.remove_containers,
      onCreated: (container) => running.set(stepId, container),
      cancelled: () => context.signal.aborted,
      onLine: (line, stream) => {
        const status = parseStepStatusLine(line);
        if (status?.stepId !== stepId) return events.stepLog(stepId, line, stream);
        if (!isFinalStatus(status.status)) records.copyLive(stepId);
        events.stepStatus(stepId, status.status, status.detail);
      },
    }).finally(() => running.delete(stepId));
    const written = await records.copyEnd(stepId);
    if (!exit || killed.has(stepId) || context.signal.aborted) return stopped();

    const record = (await records.finalRecord(stepId)) ?? written.record;
    const recorded = record && isFinalStatus(record.status) ? record : undefined;
    let error: string | undefined;
    if (written.refused) error = written.refused;
    else if (exit.oomKilled) error = `out of memory: limit ${exit.memoryLimit ? formatBytes(exit.memoryLimit) : "none set"}`;
    else if (exit.exitCode !== 0) error = `exit code ${exit.exitCode}${recorded?.status === "failed" && recorded.error ? `: ${recorded.error}` : ""}`;
    else if (!recorded || (recorded.status !== "completed" && recorded.status !== "cached")) {
      error = `the step's container exited with code 0 but recorded ${record ? `status '${record.status}'` : "no result"} in the artifact store`;
    }
    if (error === undefined) {
      events.stepStatus(stepId, recorded!.status);
      return { stepId, status: recorded!.status };
    }
    // The step process could not record its end (killed) or recorded it already: the store gets the reason either way.
    if (recorded?.status !== "failed" || exit.oomKilled || written.refused) await context.markStep(stepId, "failed", error);
    else events.stepStatus(stepId, "failed", error);
    return { stepId, status: "failed", error };
  }

  /**
   * Kills and removes a run's containers (found by their run label), records
   * the results of steps whose containers finished but were not recorded yet
   * (their runner died first: nothing finished is lost), and marks its
   * unfinished steps stopped.
   */
  override async stop(run: RunRecord, context: { store: RunStore; stack: Stack }): Promise<void> {
    const docker = await this.connect();
    const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run.id}`] } });
    await Promise.all(
      containers.map(async (info) => {
        const container = docker.getContainer(info.Id);
        if (info.State === "running") await container.kill().catch(() => {});
        if (this.config.remove_containers) await container.remove({ force: true, v: true }).catch(() => {});
      }),
    );
    const snapshot = await context.store.getSnapshot(run.snapshotId);
    if (snapshot) {
      const records = new RunRecords(snapshot, context.store, context.stack.artifactStore, run.id);
      const known = await context.store.listStepRuns(run.id);
      const finished = new Set(known.filter((s) => s.status === "completed" || s.status === "cached").map((s) => s.stepId));
      // One listing of the run's folder says which steps (map items included) left records to copy.
      const recorded = await stepsWithRecords(context.stack.artifactStore, run.id);
      const ids = new Set([...snapshot.steps.map((s) => s.id), ...known.map((s) => s.stepId)]);
      for (const stepId of ids) {
        if (finished.has(stepId) || (recorded && !recorded.has(stepId))) continue;
        await records.copyEnd(stepId).catch(() => undefined);
      }
    }
    const ended = new Date().toISOString();
    for (const step of await context.store.listStepRuns(run.id)) {
      if (!isFinalStatus(step.status)) await context.store.putStepRun({ ...step, status: "stopped", error: "the run was stopped", ended });
    }
  }
}

/** The steps with a record or a result under `runs/<run>/` in the artifact store; undefined when it cannot be listed (then every step is looked at). */
async function stepsWithRecords(artifactStore: BaseArtifactStore, runId: string): Promise<Set<string> | undefined> {
  const files = await artifactStore.listFiles(`runs/${runId}`).catch(() => undefined);
  if (!files) return undefined;
  const steps = new Set<string>();
  for (const file of files) {
    const slash = file.path.indexOf("/");
    const name = file.path.slice(slash + 1);
    if (slash > 0 && (name === "step.json" || name === "record.json")) steps.add(file.path.slice(0, slash));
  }
  return steps;
}

/** `resources` of a step as container limits: cpu_count -> NanoCpus, memory -> hard limit (no swap beyond it), gpu_count -> device requests. */
export function resourceLimits(step: Pick<SnapshotStep, "id" | "resources">): Docker.HostConfig {
  const limits: Docker.HostConfig = {};
  const { cpu_count, memory, gpu_count } = step.resources;
  if (cpu_count) limits.NanoCpus = Math.round(cpu_count * 1e9);
  if (memory) {
    const bytes = parseMemory(memory, `resources.memory of step '${step.id}'`);
    limits.Memory = bytes;
    limits.MemorySwap = bytes;
  }
  if (gpu_count) limits.DeviceRequests = [{ Driver: "", Count: gpu_count, Capabilities: [["gpu"]] }];
  return limits;
}
