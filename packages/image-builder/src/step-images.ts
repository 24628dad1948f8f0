import { type BaseContainerRegistry, type PipelineSnapshot, type RunEvents, STEP_ENV } from "@stackyard/core";
import type Docker from "dockerode";
import { type BuildImageOptions, type BuiltImage, buildImage } from "./build.js";
import { contextChangedMessage } from "./context.js";
import { type DockerSettings, parseDockerSettings } from "./settings.js";

/**
 * The parent image orchestrators build on when none is configured: the
 * official Node image of the client's exact Node version, so native modules
 * copied from the project load.
 */
export function defaultParentImage(): string {
  return `node:${process.versions.node}-bookworm-slim`;
}

/** The image a step runs in. */
export interface StepImage {
  /** The name containers use: the registry's when pushed, else the local tag. */
  image: string;
  /**
   * Where the project sits in the image: its `STACKYARD_SOURCE_ROOT`, else its
   * working directory; undefined when the image says neither (or, for a
   * remote run, the engine does not have it).
   */
  sourceRoot: string | undefined;
}

/** What {@link prepareStepImages} needs: an orchestrator's image settings and the run's. */
export interface PrepareStepImagesOptions {
  docker: Docker;
  snapshot: Pick<PipelineSnapshot, "steps" | "settings">;
  /** The folder holding `.stackyard/`. */
  sourceRoot: string;
  /** The orchestrator's parent image config; {@link defaultParentImage} when unset. `settings.docker.parent_image` wins. */
  parentImage?: string | undefined;
  /** Pull the parent image when the engine lacks it. */
  pullParentImage?: boolean | undefined;
  /** When given, each image is pushed there and steps run the pushed name. */
  registry?: BaseContainerRegistry | undefined;
  /**
   * True when the steps run on this engine, so each image must be in it
   * (an error otherwise); false when they run elsewhere (ECS), where an
   * image the engine lacks (a prebuilt `settings.docker.image`) is fine.
   */
  local: boolean;
  /** Build output and the timing line go to `info`, retries and secret-looking files to `warn`. */
  events: Pick<RunEvents, "info" | "warn">;
  /** Builds one image. Default {@link buildImage}; a seam for tests. */
  build?: ((options: BuildImageOptions) => Promise<BuiltImage>) | undefined;
}

/** Attempts at a build whose context changed while it was sent. */
const contextAttempts = 3;

/**
 * The image of each step of a snapshot, by step id: one image is built (or
 * reused by content hash, and pushed when there is a registry) per distinct
 * `settings.docker` among the steps, usually one for the whole snapshot.
 * A build that fails because a file changed while the context was sent (a
 * rebuild, an editor) is tried again, up to three attempts.
 */
export async function prepareStepImages(options: PrepareStepImagesOptions): Promise<Map<string, StepImage>> {
  const bySettings = new Map<string, StepImage>();
  const byStep = new Map<string, StepImage>();
  for (const step of options.snapshot.steps) {
    const settings = parseDockerSettings(step.settings.docker ?? options.snapshot.settings.docker, `settings.docker of step '${step.id}'`);
    const key = JSON.stringify(settings);
    let image = bySettings.get(key);
    if (!image) {
      image = await prepareImage(options, settings);
      bySettings.set(key, image);
    }
    byStep.set(step.id, image);
  }
  return byStep;
}

async function prepareImage(options: PrepareStepImagesOptions, settings: DockerSettings): Promise<StepImage> {
  const started = performance.now();
  const result = await buildAgainIfContextChanged(options, settings);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  options.events.info(`${result.built ? "Built" : "Reusing"} image ${result.tag}${result.pushed ? `, pushed as ${result.image}` : ""} (${seconds} s)`);
  return { image: result.image, sourceRoot: await sourceRootOf(options, result.tag) };
}

async function buildAgainIfContextChanged(options: PrepareStepImagesOptions, settings: DockerSettings): Promise<BuiltImage> {
  const { events } = options;
  const build = options.build ?? buildImage;
  for (let attempt = 1; ; attempt++) {
    try {
      return await build({
        docker: options.docker,
        sourceRoot: options.sourceRoot,
        settings,
        parentImage: options.parentImage ?? defaultParentImage(),
        pullParentImage: options.pullParentImage,
        registry: options.registry,
        onLog: (line) => events.info(line),
        onWarning: (message) => events.warn(message),
      });
    } catch (error) {
      const message = (error as Error).message;
      // The next attempt lists and hashes the context anew.
      if (attempt >= contextAttempts || !message.includes(contextChangedMessage)) throw error;
      events.warn(`${message.split("\n").slice(-1)[0]}; building again`);
    }
  }
}

/** The image's `STACKYARD_SOURCE_ROOT`, else its working directory (see {@link StepImage.sourceRoot}). */
async function sourceRootOf(options: PrepareStepImagesOptions, image: string): Promise<string | undefined> {
  const inspect = options.docker.getImage(image).inspect();
  const inspected = options.local ? await inspect : await inspect.catch(() => undefined);
  const prefix = `${STEP_ENV.sourceRoot}=`;
  const fromEnv = inspected?.Config?.Env?.find((e) => e.startsWith(prefix))?.slice(prefix.length);
  return fromEnv || inspected?.Config?.WorkingDir || undefined;
}
