import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DockerEngine,
  dockerClient,
  ensureBaseImage,
  ensureDockerEngine,
  ensureRegistry,
  followProgress,
  type LocalRegistry,
  runContainer,
} from "../src/engines/index.js";

describe("test engines", () => {
  let engine: DockerEngine;
  let registry: LocalRegistry;
  let docker: Docker;
  let nodeImage: string;

  beforeAll(async () => {
    engine = await ensureDockerEngine();
    docker = dockerClient(engine.dockerHost);
    ({ nodeImage } = await ensureBaseImage(docker));
    registry = await ensureRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
    await engine?.stop();
  });

  it("brings up a Docker engine that answers on its own socket", async () => {
    expect(engine.dockerHost).toMatch(/^(unix|tcp):\/\//);
    const version = await docker.version();
    expect(version.ApiVersion).toBeTruthy();
  });

  it("runs the host's Node in the node image with network none", async () => {
    expect(nodeImage).toBe(`stackyard/node:${process.versions.node}`);
    const result = await runContainer(docker, nodeImage, ["node", "-e", "console.log(42)"], { network: "none" });
    expect(result).toEqual({ exitCode: 0, stdout: "42\n", stderr: "" });
  });

  it("reports a failing container's exit code and stderr", async () => {
    const result = await runContainer(docker, nodeImage, ["node", "-e", "console.error('boom'); process.exit(3)"]);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toBe("boom\n");
  });

  it("accepts a push to the local registry and serves the image back", async () => {
    const repo = `${registry.address}/engines-test`;
    const tag = `t${Date.now()}`;
    await docker.getImage(nodeImage).tag({ repo, tag });
    await followProgress(docker, await docker.getImage(`${repo}:${tag}`).push({ authconfig: {} } as Docker.ImagePushOptions));

    const listed = (await (await fetch(`${registry.url}/v2/engines-test/tags/list`)).json()) as { tags: string[] };
    expect(listed.tags).toContain(tag);

    await docker.getImage(`${repo}:${tag}`).remove();
    await followProgress(docker, await docker.pull(`${repo}:${tag}`));
    const pulled = await docker.getImage(`${repo}:${tag}`).inspect();
    const original = await docker.getImage(nodeImage).inspect();
    expect(pulled.RootFS.Layers).toEqual(original.RootFS.Layers);
    await docker.getImage(`${repo}:${tag}`).remove();
  });
});
