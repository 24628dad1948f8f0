import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { type BaseContainerRegistry, ConfigError, NotFoundError } from "@stackyard/core";
import type Docker from "dockerode";
import { digestEntries, hashContextFiles, imageContentHash } from "./content-hash.js";
import { type ContextEntry, listContext, locateContext, packContext, splitContext } from "./context.js";
import { generateDependenciesDockerfile, generateDockerfile } from "./dockerfile.js";
import { assertEngineReachable, describeEngine } from "./engine.js";
import { ImageBuildError } from "./errors.js";
import { pushImage } from "./push.js";
import type { SecretFile } from "./secret-files.js";
import { type DockerSettings, type DockerSettingsInput, parseDockerSettings } from "./settings.js";

/** Name of the generated Dockerfile inside the build context (never copied into the image). */
const dockerfileName = ".stackyard-image.Dockerfile";

/** What {@link buildImage} needs. */
export interface BuildImageOptions {
  /** A client for the engine that builds (see `connectDocker`). */
  docker: Docker;
  /** The folder holding `.stackyard/`. Relative paths in the settings are relative to it. */
  sourceRoot: string;
  /** `settings.docker` of the run, parsed or as written. */
  settings?: DockerSettingsInput | DockerSettings | undefined;
  /** The orchestrator's default parent image; `settings.parent_image` wins. */
  parentImage?: string | undefined;
  /** Gets the build output line by line. */
  onLog?: ((line: string) => void) | undefined;
  /** Gets warnings: secret-looking files that go into the image. Default: `onLog`, prefixed `Warning: `. */
  onWarning?: ((message: string) => void) | undefined;
  /** When given, the image is pushed there after the build. */
  registry?: BaseContainerRegistry | undefined;
  /** Pull the parent image when the engine lacks it. Off by default: nothing is pulled implicitly. */
  pullParentImage?: boolean | undefined;
  /** Folder of the file hash cache (default: `$XDG_CACHE_HOME/stackyard/image-builder`). */
  cacheDir?: string | undefined;
}

/** What {@link buildImage} made. */
export interface BuiltImage {
  /** The name containers should use: the registry's name when pushed, else `tag`. */
  image: string;
  /** The local name, `<target_repository>:<first 16 hex of the content hash>` (the prebuilt or parent image when nothing is built). */
  tag: string;
  /** False when an image with this content hash was already in the engine, or nothing had to be built. */
  built: boolean;
  /** True when pushed to `registry`. */
  pushed: boolean;
  /**
   * The dependency image the pipeline image was built on,
   * `<target_repository>-deps:<16 hex>`: the context's node_modules folders on
   * the parent image, shared by every project with the same parent and the
   * same node_modules. Undefined when nothing was built or the context has no
   * node_modules.
   */
  depsImage?: string | undefined;
}

/**
 * Builds the image that runs a pipeline's steps, named by its content hash,
 * so the same inputs give the same tag and an image already in the engine is
 * reused without a build. It comes in two images:
 *
 * 1. the dependency image, `<target_repository>-deps:<hash>`: FROM the parent,
 *    the context's node_modules folders copied to /app; its hash covers the
 *    parent image id and every node_modules entry, so projects sharing one
 *    node_modules share it, and it is built (and its files sent) only when
 *    it is not in the engine;
 * 2. the pipeline image, `<target_repository>:<hash>`: FROM the dependency
 *    image, everything else in the context copied to /app; its hash covers
 *    the dependency image id, the Dockerfile and those files.
 *
 * With `settings.image` that image is used as it is; with `skip_build` the
 * parent image is. With `settings.dockerfile`, that file is built first (with
 * the whole context) and becomes the parent image.
 */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const { docker, onLog = () => {} } = options;
  const settings = parseDockerSettings(options.settings ?? {});
  if (settings.image) return { image: settings.image, tag: settings.image, built: false, pushed: false };
  const parentImage = settings.parent_image ?? options.parentImage;
  if (!settings.dockerfile && !parentImage) {
    throw new ConfigError("No parent image to build the pipeline image on.", {
      hint: "Set settings.docker.parent_image, or the orchestrator's parent image config.",
    });
  }
  if (settings.skip_build && parentImage) return { image: parentImage, tag: parentImage, built: false, pushed: false };

  await assertEngineReachable(docker);
  const sourceRoot = path.resolve(options.sourceRoot);
  const location = locateContext(sourceRoot, settings.build_context_root);
  const ignoreFile = settings.dockerignore ? path.resolve(sourceRoot, settings.dockerignore) : undefined;
  const secretFiles: SecretFile[] = [];
  const entries = await listContext(location.root, ignoreFile, {
    sourceRootInContext: location.sourceRootInContext,
    onSecretFile: (file) => secretFiles.push(file),
  });
  reportSecretFiles(secretFiles, ignoreFile ?? path.join(location.root, ".dockerignore"), {
    onLog,
    onWarning: options.onWarning ?? ((message) => onLog(`Warning: ${message}`)),
  });
  const hashing = performance.now();
  const { shas, filesRead, bytesRead } = await hashContextFiles({ contextRoot: location.root, entries, cacheDir: options.cacheDir });
  const { dependencies, rest } = splitContext(entries);
  onLog(
    `Build context ${location.root}: ${rest.length} entries, ${dependencies.length} in node_modules; ${filesRead} files (${(bytesRead / 1e6).toFixed(1)} MB) hashed in ${((performance.now() - hashing) / 1000).toFixed(1)} s, the rest unchanged since the last build`,
  );
  const build = (part: {
    entries: readonly ContextEntry[];
    dockerfile: string;
    parentId: string;
    repository: string;
    tagPrefix?: string;
    what: "pipeline" | "dependencies";
  }) =>
    buildIfMissing({
      docker,
      entries: part.entries,
      dockerfile: part.dockerfile,
      tag: `${part.repository}:${part.tagPrefix ?? ""}${imageContentHash(part.parentId, part.dockerfile, digestEntries(part.entries, shas)).slice(0, 16)}`,
      what: part.what,
      onLog,
    });

  let base: { name: string; id: string };
  let built = false;
  if (settings.dockerfile) {
    const file = path.resolve(sourceRoot, settings.dockerfile);
    const text = await readFile(file, "utf8").catch((error: unknown) => {
      throw new ConfigError(`settings.docker.dockerfile: cannot read ${file}: ${(error as Error).message}`, { cause: error });
    });
    // The user's Dockerfile may COPY anything: it gets the whole context.
    const parent = await build({
      entries,
      dockerfile: text,
      parentId: "dockerfile",
      repository: settings.target_repository,
      tagPrefix: "parent-",
      what: "pipeline",
    });
    base = { name: parent.tag, id: parent.id };
    built = parent.built;
  } else {
    base = { name: parentImage!, id: await parentImageId(docker, parentImage!, options.pullParentImage ?? false, onLog) };
  }
  let depsImage: string | undefined;
  if (dependencies.length > 0) {
    const deps = await build({
      entries: dependencies,
      dockerfile: generateDependenciesDockerfile(base.name),
      parentId: base.id,
      repository: `${settings.target_repository}-deps`,
      what: "dependencies",
    });
    base = { name: deps.tag, id: deps.id };
    built ||= deps.built;
    depsImage = deps.tag;
  }
  const dockerfile = generateDockerfile(settings, { parentImage: base.name, ...location });
  const result = await build({ entries: rest, dockerfile, parentId: base.id, repository: settings.target_repository, what: "pipeline" });
  built ||= result.built;
  const layers = depsImage ? { depsImage } : {};
  if (!options.registry) return { image: result.tag, tag: result.tag, built, pushed: false, ...layers };
  const pushed = await pushImage(docker, result.tag, options.registry, onLog);
  return { image: pushed.image, tag: result.tag, built, pushed: true, ...layers };
}

/**
 * Says which secret-looking files were left out (one line), and warns once
 * per file that goes in all the same: brought back by a `!` line, or named
 * like a secret.
 */
function reportSecretFiles(
  files: readonly SecretFile[],
  ignoreFile: string,
  out: { onLog: (line: string) => void; onWarning: (message: string) => void },
): void {
  const leftOut = files.filter((f) => f.verdict === "left-out").map((f) => f.path);
  if (leftOut.length > 0) {
    const shown = leftOut.length > 8 ? `${leftOut.slice(0, 8).join(", ")} and ${leftOut.length - 8} more` : leftOut.join(", ");
    out.onLog(`Left out of the image, as they may hold secrets: ${shown} (a "!" line naming one in ${ignoreFile} brings it back)`);
  }
  for (const file of files) {
    if (file.verdict === "brought-back") {
      out.onWarning(
        `${file.path} goes into the image: a "!" line in ${ignoreFile} brings it back, though files like it usually hold secrets. Whoever can pull the image can read it.`,
      );
    } else if (file.verdict === "suspect") {
      out.onWarning(`${file.path} goes into the image, and its name says it may hold a secret: if it does, leave it out with a line in ${ignoreFile}.`);
    }
  }
}

async function inspectId(docker: Docker, image: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(image).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

async function parentImageId(docker: Docker, image: string, pull: boolean, onLog: (line: string) => void): Promise<string> {
  const id = await inspectId(docker, image);
  if (id) return id;
  if (pull) {
    onLog(`Pulling parent image ${image}`);
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve()))).catch(
      (error: unknown) => {
        throw new NotFoundError(`Pulling parent image '${image}' failed: ${(error as Error).message}`, { cause: error });
      },
    );
    const pulled = await inspectId(docker, image);
    if (pulled) return pulled;
  }
  throw new NotFoundError(`Parent image '${image}' is not in the Docker engine at ${describeEngine(docker)}.`, {
    hint: `Get it into that engine first (docker pull ${image}, docker load, or docker build -t ${image} .), or set settings.docker.parent_image to an image it has. Nothing is pulled unless pulling is asked for.`,
  });
}

async function buildIfMissing(input: {
  docker: Docker;
  entries: readonly ContextEntry[];
  dockerfile: string;
  tag: string;
  /** The `io.stackyard.image` label: `pipeline` or `dependencies`. */
  what: "pipeline" | "dependencies";
  onLog: (line: string) => void;
}): Promise<{ tag: string; id: string; built: boolean }> {
  const { docker, tag, onLog } = input;
  const existing = await inspectId(docker, tag);
  if (existing) {
    onLog(`Image ${tag} is already in the engine; not rebuilding.`);
    return { tag, id: existing, built: false };
  }
  onLog(`Building ${tag} from ${input.entries.length} context entries${input.what === "dependencies" ? " (node_modules)" : ""}`);
  const context = packContext(input.entries, {
    [dockerfileName]: input.dockerfile,
    // The builder's own ignore file: keeps the generated files out of COPY. The user's patterns were applied already.
    ".dockerignore": `${dockerfileName}\n.dockerignore\n`,
  });
  await runBuild(docker, context, { t: tag, dockerfile: dockerfileName, rm: true, forcerm: true, labels: { "io.stackyard.image": input.what } }, onLog);
  const id = await inspectId(docker, tag);
  if (!id) throw new ImageBuildError(`The engine finished building ${tag} but has no image by that name.`, undefined, "");
  return { tag, id, built: true };
}

/** Streams a build, line by line to `onLog`, and throws with the failing step and its output. */
async function runBuild(docker: Docker, context: Readable, buildOptions: Docker.ImageBuildOptions, onLog: (line: string) => void): Promise<void> {
  let contextError: Error | undefined;
  context.on("error", (error: Error) => (contextError = error));
  let step: string | undefined;
  let stepOutput: string[] = [];
  let text = "";
  const emit = (line: string): void => {
    onLog(line);
    if (/^Step \d+\/\d+ : /.test(line)) {
      step = line;
      stepOutput = [];
    } else if (!/^ ---> |^Removing intermediate container /.test(line)) stepOutput.push(line);
  };
  let failure: string | undefined;
  let pending = "";
  try {
    const stream = (await docker.buildImage(context as unknown as NodeJS.ReadableStream, buildOptions)) as NodeJS.ReadableStream;
    for await (const chunk of stream) {
      pending += chunk.toString();
      const messages = pending.split("\n");
      pending = messages.pop() ?? "";
      for (const message of messages) {
        if (!message.trim()) continue;
        const event = JSON.parse(message) as { stream?: string; status?: string; error?: string };
        if (event.stream) {
          text += event.stream;
          const lines = text.split("\n");
          text = lines.pop() ?? "";
          for (const line of lines) emit(line.replace(/\r$/, ""));
        } else if (event.status) onLog(event.status);
        if (event.error) failure = event.error;
      }
    }
  } catch (error) {
    failure = contextError ? `reading the build context failed: ${contextError.message}` : (error as Error).message;
  }
  if (text) emit(text);
  if (contextError && !failure) failure = `reading the build context failed: ${contextError.message}`;
  if (failure === undefined) return;
  const output = stepOutput
    .filter((l) => l.trim())
    .slice(-60)
    .join("\n");
  throw new ImageBuildError(
    `Image build of ${buildOptions.t} failed${step ? ` at ${step}` : ""}\n${failure.trim()}${output ? `\nOutput of that step:\n${output.replace(/^/gm, "  ")}` : ""}`,
    step,
    output,
    {
      hint: contextError
        ? "A file in the build context changed while it was sent; run the build again."
        : "Fix the failing step: a command in your Dockerfile, or a package in settings.docker.requirements / required_integrations that cannot be installed.",
    },
  );
}
