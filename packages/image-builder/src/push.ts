import type { BaseContainerRegistry } from "@stackyard/core";
import type Docker from "dockerode";
import { ImagePushError } from "./errors.js";

/** Splits `repo/name:tag` (a registry host with a port is not mistaken for a tag). */
export function splitImageName(image: string): { repository: string; tag: string } {
  const colon = image.lastIndexOf(":");
  if (colon > image.lastIndexOf("/")) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: "latest" };
}

/** Where a pushed image went. */
export interface PushedImage {
  /** `<registry uri>/<repository>:<tag>`: the name containers pull. */
  image: string;
  /** The manifest digest the registry reported, when it did. */
  digest: string | undefined;
}

/**
 * Pushes a local image (`<repository>:<tag>`) to `registry`: makes sure the
 * repository exists (`prepareRepository`), gets push credentials, tags the
 * image `<registry uri>/<repository>:<tag>` and pushes it. Errors name the
 * image and the registry component.
 */
export async function pushImage(
  docker: Docker,
  image: string,
  registry: BaseContainerRegistry,
  onLog: (line: string) => void = () => {},
): Promise<PushedImage> {
  const { repository, tag } = splitImageName(image);
  const remote = registry.imageName(repository, tag);
  const fail = (reason: string, cause?: unknown): ImagePushError =>
    new ImagePushError(`Pushing ${image} to ${remote} (${registry.describe()}) failed: ${reason}`, {
      hint: `Check that the registry at ${registry.uri} is reachable from the Docker engine and that the credentials of ${registry.describe()} may push to '${repository}'.`,
      cause,
    });
  let digest: string | undefined;
  try {
    await registry.prepareRepository(repository);
    const auth = await registry.credentials();
    await docker.getImage(image).tag({ repo: `${registry.uri}/${repository}`, tag });
    // The engine wants an X-Registry-Auth header even for registries without auth.
    const stream = (await docker.getImage(remote).push({ authconfig: auth ?? {} } as Docker.ImagePushOptions)) as NodeJS.ReadableStream;
    let pending = "";
    let failure: string | undefined;
    for await (const chunk of stream) {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        const event = JSON.parse(line) as { status?: string; id?: string; error?: string; aux?: { Digest?: string } };
        if (event.error) failure = event.error;
        if (event.aux?.Digest) digest = event.aux.Digest;
        if (event.status && !event.status.startsWith("Pushing") && !event.status.startsWith("Preparing"))
          onLog(`${event.id ? `${event.id}: ` : ""}${event.status}`);
      }
    }
    if (failure) throw fail(failure);
  } catch (error) {
    if (error instanceof ImagePushError) throw error;
    throw fail((error as Error).message, error);
  }
  return { image: remote, digest };
}
