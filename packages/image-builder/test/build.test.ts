import { BaseContainerRegistry, EntrypointConfiguration, NotFoundError } from "@stackyard/core";
import { type DockerEngine, ensureBaseImage, ensureDockerEngine, ensureRegistry, type LocalRegistry, runContainer } from "@stackyard/tools/engines";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertEngineReachable, buildImage, connectDocker, EngineUnreachableError, ImageBuildError, ImagePushError } from "../src/index.js";
import { type Fixture, makeFixture } from "./fixture.js";

class TestRegistry extends BaseContainerRegistry {
  prepared: string[] = [];
  constructor(uri: string) {
    super({ id: "r1", name: "local_registry", flavor: "test", config: { uri }, sourceRoot: "." });
  }
  async credentials() {
    return undefined;
  }
  override async prepareRepository(repository: string) {
    this.prepared.push(repository);
  }
}

describe("buildImage against a real engine", () => {
  let engine: DockerEngine;
  let registry: LocalRegistry;
  let docker: Docker;
  let nodeImage: string;
  let fixture: Fixture;
  const log: string[] = [];

  beforeAll(async () => {
    engine = await ensureDockerEngine();
    docker = connectDocker(engine.dockerHost);
    ({ nodeImage } = await ensureBaseImage(docker));
    registry = await ensureRegistry();
    fixture = makeFixture();
  });

  afterAll(async () => {
    fixture?.remove();
    await registry?.stop();
    await engine?.stop();
  });

  const build = (settings: Record<string, unknown> = {}, extra: Partial<Parameters<typeof buildImage>[0]> = {}) =>
    buildImage({
      docker,
      sourceRoot: fixture.sourceRoot,
      settings: { target_repository: "stackyard-test", environment: { GREETING: "hi" }, ...settings },
      parentImage: nodeImage,
      cacheDir: fixture.cacheDir,
      onLog: (line) => log.push(line),
      ...extra,
    });

  it("builds an image in which `stackyard step run ...` runs from the source root", async () => {
    const result = await build();
    expect(result).toMatchObject({ built: true, pushed: false });
    expect(result.tag).toMatch(/^stackyard-test:[0-9a-f]{16}$/);
    expect(result.image).toBe(result.tag);
    expect(log.some((line) => /^Step \d+\/\d+ : COPY \. \/app/.test(line))).toBe(true);

    const command = EntrypointConfiguration.commandFor({ snapshot: "file:///snap.json", step: "train", run: "r1" });
    const run = await runContainer(docker, result.image, command);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ argv: command.slice(1), cwd: "/app/app", sourceRoot: "/app/app", greeting: "hi" });

    const lib = await runContainer(docker, result.image, ["node", "-e", "console.log(require('@fixture/lib'))"]);
    expect(lib.stdout).toBe("lib   ok\n");
  });

  it("leaves out what .dockerignore and the built-in excludes name", async () => {
    const { image } = await build();
    const probe = `const fs = require("fs"); console.log(JSON.stringify(["/app/app/pipeline.ts", "/app/secret.env", "/app/app/data", "/app/app/debug.log", "/app/.git", "/app/app/.stackyard", "/app/.stackyard-image.Dockerfile", "/app/.dockerignore"].map((p) => fs.existsSync(p))))`;
    const run = await runContainer(docker, image, ["node", "-e", probe]);
    expect(JSON.parse(run.stdout)).toEqual([true, false, false, false, false, false, false, false]);
  });

  it("leaves secret-looking files out of the image unless a ! line names them, and warns about each that goes in", async () => {
    const project = makeFixture();
    try {
      const secrets = [".env", "app/.env.local", ".npmrc", ".aws/credentials", "app/certs/tls.key", "app/id_rsa", "app/id_ed25519.pub", "app/secrets.json"];
      for (const file of secrets) project.write(file, "do-not-ship\n");
      project.write("app/certs/tls.pem", "brought back on purpose\n");
      project.write("app/api-token.txt", "named like a secret\n");
      project.write(".dockerignore", "secret.env\n!app/certs/tls.pem\n");
      const warnings: string[] = [];
      const lines: string[] = [];
      const result = await buildImage({
        docker,
        sourceRoot: project.sourceRoot,
        settings: { target_repository: "stackyard-test" },
        parentImage: nodeImage,
        cacheDir: project.cacheDir,
        onLog: (line) => lines.push(line),
        onWarning: (message) => warnings.push(message),
      });
      // Every file of the image under /app but node_modules, relative to /app.
      const walk = `const fs=require("fs"),path=require("path");const out=[];const w=(d)=>{for(const e of fs.readdirSync(d,{withFileTypes:true})){const p=path.join(d,e.name);if(e.name==="node_modules")continue;if(e.isDirectory())w(p);else out.push(path.relative("/app",p));}};w("/app");console.log(JSON.stringify(out.sort()));`;
      const run = await runContainer(docker, result.image, ["node", "-e", walk]);
      expect(run.exitCode, run.stderr).toBe(0);
      const files = JSON.parse(run.stdout) as string[];
      expect(files).toEqual(expect.arrayContaining(["app/pipeline.ts", "app/certs/tls.pem", "app/api-token.txt", "package.json"]));
      for (const file of secrets) expect(files).not.toContain(file);
      expect(files.filter((f) => f.startsWith(".aws"))).toEqual([]);
      expect(warnings, warnings.join("\n")).toHaveLength(2);
      expect(warnings[0]).toMatch(/^app\/api-token\.txt goes into the image, and its name says it may hold a secret/);
      expect(warnings[1]).toMatch(/^app\/certs\/tls\.pem goes into the image: a "!" line in .*\.dockerignore brings it back/);
      expect(lines.find((l) => l.startsWith("Left out of the image"))).toContain(".aws/, .env, .npmrc, app/.env.local, app/certs/tls.key");
    } finally {
      project.remove();
    }
  });

  it("gives the same tag for the same inputs without rebuilding, and a new tag for a changed file", async () => {
    const first = await build();
    const again = await build();
    expect(again).toEqual({ ...first, built: false });

    fixture.write("secret.env", "TOKEN=rotated\n"); // ignored: no new image
    expect((await build()).tag).toBe(first.tag);

    fixture.write("app/pipeline.ts", "export const answer = 43;\n");
    const changed = await build();
    expect(changed.built).toBe(true);
    expect(changed.tag).not.toBe(first.tag);
    fixture.write("app/pipeline.ts", "export const answer = 42;\n");
    expect(await build()).toEqual({ ...first, built: false });
  });

  it("installs nothing when every requirement is already in node_modules (offline)", async () => {
    log.length = 0;
    const result = await build({ requirements: ["left-pad@^1.3.0"] });
    expect(result.built).toBe(true);
    expect(log).toContain("stackyard: every required package is in node_modules; nothing to install");
  });

  it("fails a build with the failing step and its output", async () => {
    const error = await build({ requirements: ["left-pad", "not-in-node-modules"] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    const message = (error as ImageBuildError).message;
    expect((error as ImageBuildError).step).toMatch(/^Step \d+\/\d+ : RUN \["node","-e"/);
    expect(message).toMatch(/returned a non-zero code: 1/);
    expect(message).toContain("not-in-node-modules missing from node_modules and the parent image has no npm");
  });

  it("builds a user Dockerfile first and shows its failing RUN step", async () => {
    fixture.write("app/Dockerfile", `FROM ${nodeImage}\nRUN echo "preparing the model cache" && exit 7\n`);
    const error = await build({ dockerfile: "Dockerfile" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageBuildError);
    // The engine counts the build's LABEL as one more step.
    expect((error as ImageBuildError).step).toMatch(/^Step 2\/\d : RUN echo "preparing the model cache" && exit 7$/);
    expect((error as ImageBuildError).message).toContain("returned a non-zero code: 7");
    expect((error as ImageBuildError).output).toContain("preparing the model cache");

    fixture.write("app/Dockerfile", `FROM ${nodeImage}\nENV FROM_USER_DOCKERFILE=yes\n`);
    const result = await build({ dockerfile: "Dockerfile" });
    const run = await runContainer(docker, result.image, ["node", "-e", "console.log(process.env.FROM_USER_DOCKERFILE, process.cwd())"]);
    expect(run.stdout).toBe("yes /app/app\n");
  });

  describe("the dependency image", () => {
    // A second project next to the fixture's app/, sharing its node_modules.
    const buildProject = (sourceRoot: string, lines: string[]) =>
      buildImage({
        docker,
        sourceRoot,
        settings: { target_repository: "stackyard-test", environment: { GREETING: "hi" } },
        parentImage: nodeImage,
        cacheDir: fixture.cacheDir,
        onLog: (line) => lines.push(line),
      });
    const sent = (lines: string[], tag: string | undefined) => lines.some((l) => l.startsWith(`Building ${tag} `));
    const reused = (lines: string[], tag: string | undefined) => lines.includes(`Image ${tag} is already in the engine; not rebuilding.`);

    it("holds node_modules once for every project that shares them; a project change sends only the project's files", async () => {
      // Enough dependency files that copying them costs something next to the project's few files.
      for (let i = 0; i < 400; i++) fixture.write(`node_modules/heavy/lib/part-${i}.js`, `module.exports = ${JSON.stringify("x".repeat(8_000))};\n`);
      const firstLog: string[] = [];
      const first = await buildProject(fixture.sourceRoot, firstLog);
      expect(first.depsImage).toMatch(/^stackyard-test-deps:[0-9a-f]{16}$/);
      expect(sent(firstLog, first.depsImage)).toBe(true);

      fixture.write("second/.stackyard/config.json", "{}");
      fixture.write("second/pipeline.ts", "export const answer = 7;\n");
      const secondLog: string[] = [];
      const second = await buildProject(`${fixture.root}/second`, secondLog);
      expect(second.built).toBe(true);
      expect(second.tag).not.toBe(first.tag);
      expect(second.depsImage).toBe(first.depsImage);
      expect(reused(secondLog, first.depsImage)).toBe(true);
      expect(sent(secondLog, first.depsImage)).toBe(false);
      // The pipeline image's context has no node_modules entry.
      const building = secondLog.find((l) => l.startsWith(`Building ${second.tag} from `));
      const count = Number(/from (\d+) context entries/.exec(building ?? "")?.[1]);
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThan(30);

      // A project-file change: a new pipeline image on the same dependency image.
      fixture.write("second/pipeline.ts", "export const answer = 8;\n");
      const changedLog: string[] = [];
      const changed = await buildProject(`${fixture.root}/second`, changedLog);
      expect(changed.tag).not.toBe(second.tag);
      expect(changed.depsImage).toBe(first.depsImage);
      expect(sent(changedLog, first.depsImage)).toBe(false);

      const run = await runContainer(docker, changed.image, [
        "node",
        "-e",
        "console.log(require('heavy/lib/part-7.js').length, require('fs').readFileSync('pipeline.ts', 'utf8').trim(), process.cwd())",
      ]);
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe("8000 export const answer = 8; /app/second\n");
    });

    it("is rebuilt when something in node_modules changes", async () => {
      const before = await buildProject(fixture.sourceRoot, []);
      fixture.write("node_modules/left-pad/index.js", `module.exports = (s, n, c = "*") => String(s).padStart(n, c);\n`);
      const lines: string[] = [];
      const after = await buildProject(fixture.sourceRoot, lines);
      expect(after.depsImage).not.toBe(before.depsImage);
      expect(after.tag).not.toBe(before.tag);
      expect(sent(lines, after.depsImage)).toBe(true);
      const lib = await runContainer(docker, after.image, ["node", "-e", "console.log(require('@fixture/lib'))"]);
      expect(lib.stdout).toBe("lib **ok\n");
      fixture.write("node_modules/left-pad/index.js", `module.exports = (s, n, c = " ") => String(s).padStart(n, c);\n`);
      expect((await buildProject(fixture.sourceRoot, [])).depsImage).toBe(before.depsImage);
    });

    it("keeps workspace packages' own node_modules, and leaves out other test projects under .test-tmp", async () => {
      fixture.write("packages/lib/node_modules/only-in-lib/package.json", JSON.stringify({ name: "only-in-lib", version: "1.0.0", main: "index.js" }));
      fixture.write("packages/lib/node_modules/only-in-lib/index.js", `module.exports = "nested ok";\n`);
      fixture.write("packages/lib/nested.js", `module.exports = require("only-in-lib");\n`);
      fixture.write(".test-tmp/project-a/.stackyard/config.json", "{}");
      fixture.write(".test-tmp/project-a/pipeline.ts", "export const a = 1;\n");
      fixture.write(".test-tmp/project-b/pipeline.ts", "export const b = 1;\n");
      fixture.write(".test-tmp/stray.txt", "x\n");
      const result = await buildProject(`${fixture.root}/.test-tmp/project-a`, []);
      const probe = `const fs = require("fs"); console.log(require("@fixture/lib/nested.js"), JSON.stringify(["/app/.test-tmp/project-a/pipeline.ts", "/app/.test-tmp/project-b", "/app/.test-tmp/stray.txt", "/app/app/pipeline.ts"].map((p) => fs.existsSync(p))))`;
      const run = await runContainer(docker, result.image, ["node", "-e", probe]);
      expect(run.stderr).toBe("");
      expect(run.stdout).toBe(`nested ok [true,false,false,true]\n`);
      // Another project's change does not touch this one's image.
      fixture.write(".test-tmp/project-b/pipeline.ts", "export const b = 2;\n");
      expect((await buildProject(`${fixture.root}/.test-tmp/project-a`, [])).tag).toBe(result.tag);
    });
  });

  it("names a missing parent image and how to get it, without pulling", async () => {
    const error = await build({ parent_image: "stackyard/not-here:1.0" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).message).toBe(`Parent image 'stackyard/not-here:1.0' is not in the Docker engine at ${engine.dockerHost}.`);
    expect((error as NotFoundError).hint).toContain("docker pull stackyard/not-here:1.0");
  });

  it("pushes to a registry and the registry serves it", async () => {
    const target = new TestRegistry(registry.url);
    const result = await build({ target_repository: "stackyard-push-test" }, { registry: target });
    expect(result.pushed).toBe(true);
    expect(target.prepared).toEqual(["stackyard-push-test"]);
    const tag = result.tag.split(":")[1]!;
    expect(result.image).toBe(`${registry.address}/stackyard-push-test:${tag}`);
    const manifest = await fetch(`${registry.url}/v2/stackyard-push-test/manifests/${tag}`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(manifest.status).toBe(200);
  });

  it("reports a push to a registry that does not answer, naming it", async () => {
    const error = await build({}, { registry: new TestRegistry("127.0.0.1:5999") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePushError);
    expect((error as ImagePushError).message).toMatch(
      /^Pushing stackyard-test:[0-9a-f]{16} to 127\.0\.0\.1:5999\/stackyard-test:[0-9a-f]{16} \(container registry 'local_registry' \(flavor test\)\) failed: /,
    );
  });
});

describe("engine address", () => {
  it("names the address tried and how to set another", async () => {
    const address = "unix:///nonexistent/stackyard/docker.sock";
    const error = await assertEngineReachable(connectDocker(address), address).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineUnreachableError);
    expect((error as EngineUnreachableError).message).toMatch(/^No Docker engine answers at unix:\/\/\/nonexistent\/stackyard\/docker\.sock: /);
    expect((error as EngineUnreachableError).hint).toMatch(/DOCKER_HOST.*docker_host/);
  });

  it("connects to tcp addresses and falls back to DOCKER_HOST", () => {
    const modem = connectDocker("tcp://127.0.0.1:2375").modem as unknown as { host: string; port: number };
    expect([modem.host, modem.port]).toEqual(["127.0.0.1", 2375]);
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = "unix:///tmp/x.sock";
    try {
      expect((connectDocker().modem as unknown as { socketPath: string }).socketPath).toBe("/tmp/x.sock");
    } finally {
      if (saved === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = saved;
    }
  });
});
