// The layout the orchestrators' integration tests build from: a project under
// <repo>/.test-tmp, this repository's root (its node_modules, with npm
// workspace links into packages/*) as the build context.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type DockerEngine, ensureBaseImage, ensureDockerEngine, repoRoot, runContainer } from "@stackyard/tools/engines";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, connectDocker } from "../src/index.js";

// Only what @stackyard/core needs at run time, so the test stays small: the
// workspace link node_modules/@stackyard/core -> ../../packages/core goes
// into the dependency image, packages/core/dist into the pipeline image.
const ignore = [
  "*",
  "!node_modules/@stackyard",
  "!node_modules/stackyard",
  "!node_modules/zod",
  "!node_modules/yaml",
  "!packages/core/package.json",
  "!packages/core/dist",
  "!.test-tmp",
  "**/*.map",
  "**/*.d.ts",
  "",
].join("\n");

describe("a project in this repository (workspace links)", () => {
  let engine: DockerEngine;
  let docker: Docker;
  let nodeImage: string;
  const projects: string[] = [];
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), "stackyard-image-cache-"));
  const tags: string[] = [];

  beforeAll(async () => {
    engine = await ensureDockerEngine();
    docker = connectDocker(engine.dockerHost);
    ({ nodeImage } = await ensureBaseImage(docker));
  });

  afterAll(async () => {
    for (const dir of projects) rmSync(dir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
    // The dependency image stays: other runs with the same node_modules reuse it.
    for (const tag of tags)
      await docker
        ?.getImage(tag)
        .remove()
        .catch(() => {});
    await engine?.stop();
  });

  const newProject = (): string => {
    const base = path.join(repoRoot, ".test-tmp");
    mkdirSync(base, { recursive: true });
    const dir = mkdtempSync(path.join(base, "image-builder-ws-"));
    projects.push(dir);
    mkdirSync(path.join(dir, ".stackyard"));
    writeFileSync(path.join(dir, "docker.ignore"), ignore);
    writeFileSync(path.join(dir, "pipeline.mjs"), `export const project = ${JSON.stringify(path.basename(dir))};\n`);
    return dir;
  };

  const build = (sourceRoot: string, log: string[]) =>
    buildImage({
      docker,
      sourceRoot,
      settings: { target_repository: "stackyard-ws-test", dockerignore: "docker.ignore" },
      parentImage: nodeImage,
      cacheDir,
      onLog: (line) => log.push(line),
    });

  it("resolves @stackyard/core from the source root through the workspace link, and shares the dependency image", async () => {
    const first = newProject();
    const firstLog: string[] = [];
    const built = await build(first, firstLog);
    tags.push(built.tag);
    expect(built.depsImage).toMatch(/^stackyard-ws-test-deps:[0-9a-f]{16}$/);
    const run = await runContainer(docker, built.image, [
      "node",
      "-e",
      "import('@stackyard/core').then((m) => console.log('ok', typeof m.Pipeline, process.cwd()))",
    ]);
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(`ok function /app/.test-tmp/${path.basename(first)}\n`);

    // A second project next to it: the same dependency image, nothing of node_modules sent, no other project inside.
    const second = newProject();
    const secondLog: string[] = [];
    const next = await build(second, secondLog);
    tags.push(next.tag);
    expect(next.built).toBe(true);
    expect(next.depsImage).toBe(built.depsImage);
    expect(secondLog).toContain(`Image ${built.depsImage} is already in the engine; not rebuilding.`);
    expect(secondLog.some((l) => l.startsWith(`Building ${built.depsImage} `))).toBe(false);
    const probe = `const fs = require("fs"); console.log(JSON.stringify([fs.readdirSync("/app/.test-tmp"), fs.existsSync("/app/node_modules/@stackyard/core/dist/index.js")]))`;
    const inside = await runContainer(docker, next.image, ["node", "-e", probe]);
    expect(JSON.parse(inside.stdout)).toEqual([[path.basename(second)], true]);
  });
});
