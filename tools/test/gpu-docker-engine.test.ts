/**
 * docs/gpu.md on a real Docker engine without GPUs: the engine keeps the
 * device request the Docker orchestrator sends for `gpu_count`, and refuses
 * to start the container with the message the guide quotes.
 */
import { resourceLimits } from "@stackyard/orchestrator-docker/implementation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DockerEngine, dockerClient, ensureBaseImage, ensureDockerEngine } from "../src/engines/index.js";

let engine: DockerEngine;
let debianImage: string;

beforeAll(async () => {
  engine = await ensureDockerEngine();
  ({ debianImage } = await ensureBaseImage(dockerClient(engine.dockerHost)));
}, 600_000);
afterAll(async () => {
  await engine?.stop();
});

describe("a GPU step's container on an engine without GPUs", () => {
  it("is created with the device request, and refused at start with the engine's message", async () => {
    const docker = dockerClient(engine.dockerHost);
    const limits = resourceLimits({ id: "train", resources: { gpu_count: 1, cpu_count: 1, memory: "64MiB" } });
    const container = await docker.createContainer({ Image: debianImage, Cmd: ["true"], HostConfig: { NetworkMode: "none", ...limits } });
    try {
      const inspected = await container.inspect();
      expect(inspected.HostConfig.DeviceRequests).toMatchObject([{ Driver: "", Count: 1, Capabilities: [["gpu"]] }]);
      expect(inspected.HostConfig.NanoCpus).toBe(1_000_000_000);
      const started = await container.start().then(
        () => undefined,
        (error: Error) => error,
      );
      expect(started?.message).toMatch(/could not select device driver "" with capabilities: \[\[gpu\]\]/);
    } finally {
      await container.remove({ force: true });
    }
  });
});
