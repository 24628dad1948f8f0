import type { PipelineSnapshot } from "@stackyard/core";
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { type BuildImageOptions, type BuiltImage, defaultParentImage, ImageBuildError, prepareStepImages } from "../src/index.js";

/** An engine that knows only the images given, with their config. */
function fakeEngine(images: Record<string, { Env?: string[]; WorkingDir?: string }>): Docker {
  return {
    getImage: (name: string) => ({
      inspect: async () => {
        const config = images[name];
        if (!config) throw Object.assign(new Error(`(HTTP code 404) no such image - No such image: ${name}`), { statusCode: 404 });
        return { Id: `sha256:${name}`, Config: config };
      },
    }),
  } as unknown as Docker;
}

function snapshot(steps: Array<{ id: string; docker?: Record<string, unknown> }>, docker?: Record<string, unknown>) {
  return {
    settings: docker ? { docker } : {},
    steps: steps.map((s) => ({ id: s.id, settings: s.docker ? { docker: s.docker } : {} })),
  } as unknown as Pick<PipelineSnapshot, "steps" | "settings">;
}

/** Records what was asked of it and answers with a tag per target repository. */
function recordingBuild(failures: Error[] = []) {
  const calls: BuildImageOptions[] = [];
  const build = async (options: BuildImageOptions): Promise<BuiltImage> => {
    calls.push(options);
    const failure = failures.shift();
    if (failure) throw failure;
    const repository = (options.settings as { target_repository: string }).target_repository;
    return { image: `registry.example/${repository}:0123456789abcdef`, tag: `${repository}:0123456789abcdef`, built: true, pushed: true };
  };
  return { calls, build };
}

function recordingEvents() {
  const info: string[] = [];
  const warn: string[] = [];
  return { info, warn, events: { info: (m: string) => info.push(m), warn: (m: string) => warn.push(m) } };
}

const contextChanged = () =>
  new ImageBuildError(
    "Image build of stackyard:abc failed\nreading the build context failed: app/model.bin changed or vanished while the build context was sent (Size mismatch); run the build again",
    undefined,
    "",
  );

describe("prepareStepImages", () => {
  const docker = fakeEngine({
    "stackyard:0123456789abcdef": { Env: ["PATH=/usr/bin", "STACKYARD_SOURCE_ROOT=/app/project"], WorkingDir: "/app/project" },
    "gpu:0123456789abcdef": { WorkingDir: "/srv/pipeline" },
  });

  it("builds one image per distinct settings.docker, step settings over the pipeline's, and says which image each step runs", async () => {
    const { calls, build } = recordingBuild();
    const { info, events } = recordingEvents();
    const images = await prepareStepImages({
      docker,
      snapshot: snapshot([{ id: "load" }, { id: "train", docker: { target_repository: "gpu" } }, { id: "evaluate" }], { requirements: ["left-pad"] }),
      sourceRoot: "/project",
      local: true,
      events,
      build,
    });
    expect(calls.map((c) => (c.settings as { target_repository: string }).target_repository)).toEqual(["stackyard", "gpu"]);
    expect(Object.fromEntries(images)).toEqual({
      load: { image: "registry.example/stackyard:0123456789abcdef", sourceRoot: "/app/project" },
      train: { image: "registry.example/gpu:0123456789abcdef", sourceRoot: "/srv/pipeline" },
      evaluate: { image: "registry.example/stackyard:0123456789abcdef", sourceRoot: "/app/project" },
    });
    expect(images.get("load")).toBe(images.get("evaluate"));
    expect(info.filter((l) => l.startsWith("Built image"))).toEqual([
      expect.stringMatching(/^Built image stackyard:0123456789abcdef, pushed as registry\.example\/stackyard:0123456789abcdef \(\d+\.\d s\)$/),
      expect.stringMatching(/^Built image gpu:0123456789abcdef, pushed as registry\.example\/gpu:0123456789abcdef \(\d+\.\d s\)$/),
    ]);
  });

  it("builds on the client's Node image unless a parent image is configured, and passes the build's options through", async () => {
    const { calls, build } = recordingBuild();
    const { events } = recordingEvents();
    const registry = { uri: "registry.example" } as unknown as BuildImageOptions["registry"];
    await prepareStepImages({ docker, snapshot: snapshot([{ id: "a" }]), sourceRoot: "/project", local: true, events, build });
    await prepareStepImages({
      docker,
      snapshot: snapshot([{ id: "a" }]),
      sourceRoot: "/project",
      parentImage: "local/node:20",
      pullParentImage: true,
      registry,
      local: true,
      events,
      build,
    });
    expect(defaultParentImage()).toBe(`node:${process.versions.node}-bookworm-slim`);
    expect(calls[0]).toMatchObject({ parentImage: defaultParentImage(), sourceRoot: "/project", docker });
    expect(calls[1]).toMatchObject({ parentImage: "local/node:20", pullParentImage: true, registry });
  });

  it("builds again when a file changed while the context was sent, at most three times, warning each time", async () => {
    const retried = recordingBuild([contextChanged(), contextChanged()]);
    const first = recordingEvents();
    const images = await prepareStepImages({
      docker,
      snapshot: snapshot([{ id: "a" }]),
      sourceRoot: "/p",
      local: true,
      events: first.events,
      build: retried.build,
    });
    expect(retried.calls).toHaveLength(3);
    expect(images.get("a")?.image).toBe("registry.example/stackyard:0123456789abcdef");
    expect(first.warn).toEqual([
      expect.stringMatching(/app\/model\.bin changed or vanished .*; building again$/),
      expect.stringMatching(/app\/model\.bin changed or vanished .*; building again$/),
    ]);

    const exhausted = recordingBuild([contextChanged(), contextChanged(), contextChanged()]);
    const second = recordingEvents();
    await expect(
      prepareStepImages({ docker, snapshot: snapshot([{ id: "a" }]), sourceRoot: "/p", local: true, events: second.events, build: exhausted.build }),
    ).rejects.toThrow(/changed or vanished/);
    expect(exhausted.calls).toHaveLength(3);
  });

  it("does not build again after any other failure", async () => {
    const failing = recordingBuild([new ImageBuildError("Image build of stackyard:abc failed at Step 3/5 : RUN npm install", "Step 3/5", "")]);
    const { warn, events } = recordingEvents();
    await expect(prepareStepImages({ docker, snapshot: snapshot([{ id: "a" }]), sourceRoot: "/p", local: true, events, build: failing.build })).rejects.toThrow(
      ImageBuildError,
    );
    expect(failing.calls).toHaveLength(1);
    expect(warn).toEqual([]);
  });

  it("needs the image in the engine when the steps run there, not when they run elsewhere", async () => {
    const prebuilt = async (options: BuildImageOptions): Promise<BuiltImage> => {
      const image = (options.settings as { image: string }).image;
      return { image, tag: image, built: false, pushed: false };
    };
    const { events } = recordingEvents();
    const input = { docker, snapshot: snapshot([{ id: "a" }], { image: "elsewhere/prebuilt:1" }), sourceRoot: "/p", events, build: prebuilt };
    expect((await prepareStepImages({ ...input, local: false })).get("a")).toEqual({ image: "elsewhere/prebuilt:1", sourceRoot: undefined });
    await expect(prepareStepImages({ ...input, local: true })).rejects.toThrow(/No such image: elsewhere\/prebuilt:1/);
  });

  it("hands secret-looking-file warnings to events.warn and build output to events.info", async () => {
    const chatty = async (options: BuildImageOptions): Promise<BuiltImage> => {
      options.onLog?.("Step 1/4 : FROM local/node");
      options.onWarning?.(".env goes into the image");
      return { image: "stackyard:0123456789abcdef", tag: "stackyard:0123456789abcdef", built: false, pushed: false };
    };
    const { info, warn, events } = recordingEvents();
    await prepareStepImages({ docker, snapshot: snapshot([{ id: "a" }]), sourceRoot: "/p", local: true, events, build: chatty });
    expect(info[0]).toBe("Step 1/4 : FROM local/node");
    expect(info[1]).toMatch(/^Reusing image stackyard:0123456789abcdef \(/);
    expect(warn).toEqual([".env goes into the image"]);
  });
});
