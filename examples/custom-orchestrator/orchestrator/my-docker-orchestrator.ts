/**
 * The `my_docker` orchestrator: each step of a pipeline runs in its own
 * Docker container on the local engine (DOCKER_HOST, else the default socket).
 *
 * No image is built. Step containers start from a parent image that has Node
 * and see the project through bind mounts at the same absolute paths as on
 * this machine: the source root, the folder holding `node_modules`, a local
 * artifact store and the store. They run as this user, so files they write
 * are ours, on the host network. Each runs the one-step entrypoint
 * (`context.stepCommand`) with `context.stepEnvironment`.
 *
 * Written only against `@stackyard/core` and dockerode, as a third-party
 * flavor would be.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { PassThrough } from "node:stream";
import {
  BaseOrchestrator,
  executeDag,
  MissingDependencyError,
  type OrchestratorCapabilities,
  type PipelineSnapshot,
  parseMemory,
  type RunHandle,
  type SnapshotStep,
  type StepOutcome,
  type SubmitContext,
} from "@stackyard/core";
import Docker from "dockerode";
import { type MyDockerConfig, type MyDockerSettings, myDockerSettingsSchema } from "./my-docker-flavor.js";

/** The default parent image: the one the repo's test tools build with this machine's Node. */
export const defaultImage = `stackyard/node:${process.versions.node}`;

const inside = (child: string, parent: string): boolean => {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

/** The nearest folder at or above `from` whose `node_modules/.bin` has the `stackyard` command. */
export function nodeModulesHolder(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules", ".bin", "stackyard"))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Splits a byte stream into lines. */
function lines(onLine: (line: string) => void): PassThrough {
  const stream = new PassThrough();
  let pending = "";
  stream.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    for (const part of parts) onLine(part.replace(/\r$/, ""));
  });
  stream.on("end", () => pending && onLine(pending));
  return stream;
}

export class LocalDockerOrchestrator extends BaseOrchestrator<MyDockerConfig> {
  readonly capabilities: OrchestratorCapabilities = {
    remote: false,
    synchronous: true,
    schedulable: false,
    honoursResources: true,
    parallel: true,
  };

  /** Settings of a step (or of the pipeline): `settings.orchestrator` and `settings."orchestrator.my_docker"`. */
  settingsOf(settings: Record<string, unknown>): MyDockerSettings {
    return myDockerSettingsSchema.parse({
      ...(settings.orchestrator as object | undefined),
      ...(settings[`orchestrator.${this.flavor}`] as object | undefined),
    });
  }

  /** Host folders a step container sees at the same paths, given the step's environment. */
  mountsFor(context: SubmitContext, environment: Record<string, string>): string[] {
    const folders: string[] = [];
    const add = (folder: string | undefined): void => {
      if (!folder || folders.some((f) => inside(folder, f))) return;
      for (let i = folders.length - 1; i >= 0; i--) if (inside(folders[i]!, folder)) folders.splice(i, 1);
      folders.push(folder);
    };
    add(nodeModulesHolder(context.sourceRoot));
    add(context.sourceRoot);
    const artifactStore = context.stack.artifactStore;
    if (artifactStore.scheme === "file") add(artifactStore.path);
    // The CLI's SQLite store (a step process records itself there).
    if (environment.STACKYARD_STORE) add(dirname(environment.STACKYARD_STORE));
    return folders;
  }

  async submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle> {
    const docker = new Docker();
    const pipelineSettings = this.settingsOf(snapshot.settings);
    context.events.info(
      `my_docker: some_setting = ${pipelineSettings.some_setting === undefined ? "(not set)" : JSON.stringify(pipelineSettings.some_setting)}`,
    );
    const holder = nodeModulesHolder(context.sourceRoot);
    if (!holder) {
      throw new MissingDependencyError(
        `No node_modules/.bin/stackyard at or above ${context.sourceRoot}: step containers run the stackyard command from there`,
        {
          hint: "npm install stackyard",
        },
      );
    }
    // Docker refuses more CPUs than the engine has: ask for what is there, and say so.
    const engineCpus = ((await docker.info()) as { NCPU?: number }).NCPU ?? availableParallelism();
    const running = new Set<Docker.Container>();
    const onAbort = (): void => {
      for (const container of running) void container.kill().catch(() => {});
    };
    context.signal.addEventListener("abort", onAbort, { once: true });
    const pulled = new Map<string, Promise<void>>();
    const ensureImage = (image: string): Promise<void> => {
      let ready = pulled.get(image);
      if (!ready) pulled.set(image, (ready = this.ensureImage(docker, image, context)));
      return ready;
    };

    try {
      const outcomes = await executeDag({
        steps: snapshot.steps,
        concurrency: this.config.concurrency ?? availableParallelism(),
        failFast: true,
        signal: context.signal,
        runOne: async (stepId) => {
          const step = snapshot.steps.find((s) => s.id === stepId)!;
          const settings = { ...pipelineSettings, ...this.settingsOf(step.settings) };
          const image = settings.image ?? this.config.image ?? defaultImage;
          await ensureImage(image);
          return this.runStepContainer({ docker, step, settings, image, holder, engineCpus, context, running });
        },
        markSkipped: (stepId, reason, status) => context.markStep(stepId, status, reason),
      });
      return { wait: async () => outcomes };
    } finally {
      context.signal.removeEventListener("abort", onAbort);
    }
  }

  private async ensureImage(docker: Docker, image: string, context: SubmitContext): Promise<void> {
    try {
      await docker.getImage(image).inspect();
      return;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
    context.events.info(`my_docker: pulling ${image}`);
    try {
      const stream = await docker.pull(image);
      await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())));
    } catch (error) {
      throw new MissingDependencyError(`Parent image ${image} is not on the Docker engine and could not be pulled: ${(error as Error).message}`, {
        hint: "Build or pull an image with Node, then set it: stackyard orchestrator update my_docker_orchestrator --image=<image>",
      });
    }
  }

  private async runStepContainer(options: {
    docker: Docker;
    step: SnapshotStep;
    settings: MyDockerSettings;
    image: string;
    holder: string;
    engineCpus: number;
    context: SubmitContext;
    running: Set<Docker.Container>;
  }): Promise<StepOutcome> {
    const { docker, step, settings, image, holder, context } = options;
    const stepId = step.id;
    const environment: Record<string, string> = {
      HOME: "/tmp",
      PATH: `${join(holder, "node_modules", ".bin")}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      ...context.stepEnvironment(stepId),
      ...(settings.some_setting === undefined ? {} : { MY_DOCKER_SOME_SETTING: settings.some_setting }),
    };
    const folders = this.mountsFor(context, environment);
    const resources = step.resources;
    let cpus = resources.cpu_count;
    if (cpus !== undefined && cpus > options.engineCpus) {
      context.events.warn(`my_docker: step ${stepId} asks for ${cpus} CPUs; the Docker engine has ${options.engineCpus}, so it gets ${options.engineCpus}`);
      cpus = options.engineCpus;
    }
    const container = await docker.createContainer({
      Image: image,
      // The entrypoint's own option (orchestrator/my-entrypoint.ts): the image the container runs.
      Cmd: context.stepCommand(stepId, { image }),
      Env: Object.entries(environment).map(([key, value]) => `${key}=${value}`),
      WorkingDir: context.sourceRoot,
      ...(process.getuid && process.getgid ? { User: `${process.getuid()}:${process.getgid()}` } : {}),
      Labels: { "io.stackyard.run": context.runId, "io.stackyard.step": stepId, "io.stackyard.orchestrator": this.name },
      Tty: false,
      HostConfig: {
        Binds: folders.map((folder) => `${folder}:${folder}`),
        NetworkMode: this.config.network_mode,
        ...(cpus === undefined ? {} : { NanoCpus: Math.round(cpus * 1e9) }),
        ...(resources.memory === undefined ? {} : { Memory: parseMemory(resources.memory) }),
      },
    });
    options.running.add(container);
    try {
      if (context.signal.aborted) return { stepId, status: "stopped", error: "the run was stopped before the step started" };
      const limits = [cpus === undefined ? "" : `${cpus} CPU`, resources.memory ?? ""].filter(Boolean).join(", ");
      context.events.info(`my_docker: step ${stepId} runs in container ${container.id.slice(0, 12)} (${image}${limits ? `; ${limits}` : ""})`);
      context.events.stepStatus(stepId, "running");
      const attached = await container.attach({ stream: true, stdout: true, stderr: true });
      const stdout = lines((line) => context.events.stepLog(stepId, line, "stdout"));
      const stderr = lines((line) => context.events.stepLog(stepId, line, "stderr"));
      const ended = new Promise<void>((resolve) => {
        attached.on("end", resolve);
        attached.on("close", resolve);
        attached.on("error", () => resolve());
      });
      docker.modem.demuxStream(attached, stdout, stderr);
      await container.start();
      const { StatusCode: exitCode } = (await container.wait()) as { StatusCode: number };
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      stdout.end();
      stderr.end();
      const record = await context.store.getStepRun(context.runId, stepId);
      if (context.signal.aborted) return { stepId, status: "stopped", error: "the run was stopped" };
      if (exitCode === 0) {
        const status = record?.status === "cached" ? "cached" : "completed";
        context.events.stepStatus(stepId, status);
        return { stepId, status };
      }
      const { State } = await container.inspect();
      const error =
        record?.error ?? `step container exited with code ${exitCode}${State.OOMKilled ? ` (killed: out of memory, limit ${resources.memory})` : ""}`;
      context.events.stepStatus(stepId, "failed", error);
      return { stepId, status: "failed", error };
    } finally {
      options.running.delete(container);
      await container.remove({ force: true }).catch(() => {});
    }
  }
}
