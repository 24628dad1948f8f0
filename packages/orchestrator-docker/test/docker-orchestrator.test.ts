import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalArtifactStore, MemoryRunStore, type PipelineSnapshot, type SnapshotStep, type SubmitContext } from "@stackyard/core";
import { type DockerEngine, dockerClient, ensureBaseImage, ensureDockerEngine, ensureRegistry } from "@stackyard/tools/engines";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRunThroughDashboard } from "../../dashboard/test/dashboard-server.js";
import { dockerOrchestratorFlavor } from "../src/index.js";
import { RUN_LABEL } from "../src/step-container.js";
import { type CliResult, cli, cliAsync, newProject, ok, registerDockerStack, removeProject } from "./harness.js";

const training = ["./pipelines/training.ts#trainingPipeline", "-c", "configs/probe.yaml"];

interface Described {
  id: string;
  name: string;
  status: string;
  stack: string;
  error?: string;
  steps: Array<{ stepId: string; status: string; error?: string; started?: string; ended?: string; inputs?: Record<string, string> }>;
  artifacts: Array<{ step: string; output: string; uri: string; sha256: string; artifact: string; metadata?: Record<string, unknown> }>;
  metadata?: Record<string, unknown>;
}

let engine: DockerEngine;
let registry: Awaited<ReturnType<typeof ensureRegistry>> | undefined;
let docker: Docker;
let nodeImage: string;
let dir: string;

function runName(result: CliResult): string {
  const match = /as run '([^']+)'/.exec(result.stdout + result.stderr);
  if (!match) throw new Error(`no run name in:\n${result.stdout}\n${result.stderr}`);
  return match[1]!;
}

function describeRun(name: string): Described {
  return JSON.parse(ok(cli(dir, ["runs", "describe", name, "--json"]), "runs describe").stdout) as Described;
}

async function containersOf(runId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } });
}

function shaByOutput(run: Described): Record<string, string> {
  return Object.fromEntries(run.artifacts.map((a) => [`${a.step}.${a.output}`, a.sha256]));
}

beforeAll(async () => {
  engine = await ensureDockerEngine();
  docker = dockerClient(engine.dockerHost);
  nodeImage = (await ensureBaseImage(docker)).nodeImage;
  registry = await ensureRegistry();
  dir = newProject("docker");
  registerDockerStack(dir, engine.dockerHost, nodeImage, [`--environment={"GREETING":"hi"}`]);
}, 600_000);

afterAll(async () => {
  if (dir) removeProject(dir);
  await registry?.stop();
  await engine?.stop();
});

describe("docker orchestrator, through the stackyard CLI", () => {
  it("runs the quickstart in containers with the same artifacts as the local stack", async () => {
    const local = ok(cli(dir, ["run", ...training, "--stack", "default", "--no-cache"]), "local run");
    const onDocker = ok(cli(dir, ["run", ...training, "--no-cache"]), "docker run");
    expect(onDocker.stdout + onDocker.stderr).toMatch(/Built image stackyard:[0-9a-f]{16}/);
    // Step output streamed to the client with the step name in front.
    expect(onDocker.stdout + onDocker.stderr).toMatch(/train_model \| trained 50 trees on 120 samples/);

    const localRun = describeRun(runName(local));
    const dockerRun = describeRun(runName(onDocker));
    expect(dockerRun.status).toBe("completed");
    expect(dockerRun.stack).toBe("docker_stack");
    expect(dockerRun.steps.map((s) => s.status)).toEqual(["completed", "completed", "completed", "completed"]);
    expect(Object.keys(shaByOutput(dockerRun)).sort()).toEqual([
      "evaluate_model.accuracy",
      "evaluate_model.confusion_matrix",
      "evaluate_model.report",
      "load_data.dataset",
      "split_data.test",
      "split_data.train",
      "train_model.model",
    ]);
    expect(shaByOutput(dockerRun)).toEqual(shaByOutput(localRun));
    // The same records as a local run: named versions, metadata, consumed inputs.
    const version = (run: Described, output: string) => run.artifacts.find((a) => a.output === output)!.artifact;
    expect(version(dockerRun, "model")).toMatch(/^iris_model:\d+$/);
    expect(Number(version(dockerRun, "model").split(":")[1])).toBe(Number(version(localRun, "model").split(":")[1]) + 1);
    expect(dockerRun.metadata).toEqual(localRun.metadata);
    expect(dockerRun.metadata?.test_samples).toBe(30);
    expect(dockerRun.artifacts.find((a) => a.output === "report")?.metadata).toEqual(localRun.artifacts.find((a) => a.output === "report")?.metadata);
    const inputsOf = (run: Described) => Object.keys(run.steps.find((s) => s.stepId === "evaluate_model")?.inputs ?? {}).sort();
    expect(inputsOf(dockerRun)).toEqual(["model", "test"]);
    expect(inputsOf(localRun)).toEqual(["model", "test"]);

    const listed = JSON.parse(ok(cli(dir, ["runs", "list", "--json"])).stdout) as Array<{ name: string; status: string }>;
    expect(listed.find((r) => r.name === dockerRun.name)?.status).toBe("completed");
    const logs = ok(cli(dir, ["runs", "logs", dockerRun.name])).stdout;
    expect(logs).toContain("trained 50 trees on 120 samples");
    expect(logs).toContain("loaded 150 samples of 3 classes");

    // Files written in the containers belong to the user who ran the client.
    const model = dockerRun.artifacts.find((a) => a.step === "train_model")!;
    expect(statSync(model.uri).uid).toBe(process.getuid!());
    expect(await containersOf(dockerRun.id)).toEqual([]);

    // The dashboard shows the docker run as it shows a local one: every route of its pages answers.
    const seen = await readRunThroughDashboard(dir, dockerRun.name);
    expect(seen).toMatchObject({ status: "completed", stack: "docker_stack", pages: [200, 200, 200, 200] });
    expect(Object.keys(seen.steps).sort()).toEqual(["evaluate_model", "load_data", "split_data", "train_model"]);
    for (const step of Object.values(seen.steps)) expect(step.status).toBe("completed");
    expect(seen.steps.train_model!.logs).toContain("trained 50 trees on 120 samples");
    expect(seen.steps.evaluate_model!.outputs.accuracy).toEqual({ kind: "json", text: expect.stringMatching(/^0\.\d+$|^1$/) });
    expect(seen.versions["train_model.model"]).toBe(`${version(dockerRun, "model")} from ${dockerRun.name}`);
  }, 600_000);

  it("reuses the image on a second run without code changes", () => {
    // The build context is the whole repository: a first run here picks up whatever changed in it since.
    ok(cli(dir, ["run", ...training, "--no-cache"]), "docker run");
    const second = ok(cli(dir, ["run", ...training, "--no-cache"]), "second docker run");
    const out = second.stdout + second.stderr;
    expect(out).toMatch(/Reusing image stackyard:[0-9a-f]{16}/);
    expect(out).not.toMatch(/^Building /m);
  }, 300_000);

  it("runs independent steps in parallel containers", () => {
    const result = ok(cli(dir, ["run", "./pipelines/probe.ts#parallelPipeline", "-c", "configs/probe.yaml"]), "parallel run");
    const run = describeRun(runName(result));
    const [a, b] = run.steps.map((s) => ({ start: Date.parse(s.started!), end: Date.parse(s.ended!) }));
    expect(run.steps).toHaveLength(2);
    // Each sleeps 3 s; run one after the other they could not overlap.
    expect(a!.start).toBeLessThan(b!.end);
    expect(b!.start).toBeLessThan(a!.end);
    expect(result.stdout + result.stderr).toMatch(/sleeper_2 \| slept 3000 ms/);
  }, 300_000);

  it("runs each item of a map step in its own container, collecting the same outputs as the local stack", async () => {
    const sweep = ["run", "./pipelines/sweep.ts#sweepPipeline", "-c", "configs/probe.yaml", "-p", "trees=[10,25]", "--no-cache"];
    const local = describeRun(runName(ok(cli(dir, [...sweep, "--stack", "default"]), "local sweep")));
    const since = Math.floor(Date.now() / 1000);
    const result = ok(cli(dir, sweep), "docker sweep");
    const run = describeRun(runName(result));
    const items = run.steps.filter((s) => s.stepId.startsWith("score_candidate["));
    expect(items.map((s) => `${s.stepId}:${s.status}`).sort()).toEqual([0, 1, 2, 3].map((i) => `score_candidate[${i}]:completed`));
    expect(run.steps.find((s) => s.stepId === "score_candidate")?.status).toBe("completed");
    // The collected list and every item's output are byte for byte those of the local run.
    const shas = (r: Described) =>
      Object.fromEntries(r.artifacts.filter((a) => a.step.startsWith("score_candidate") || a.step === "pick_best").map((a) => [a.step, a.sha256]));
    expect(Object.keys(shas(run))).toHaveLength(5);
    expect(shas(run)).toEqual(shas(local));
    // One container per item (and one each for the steps that ran), as the engine saw them created.
    const events = await docker.getEvents({
      since,
      until: Math.ceil(Date.now() / 1000) + 1,
      filters: { type: ["container"], event: ["create"], label: [`${RUN_LABEL}=${run.id}`] },
    });
    const created = (
      await new Promise<string>((resolve) => {
        let text = "";
        events.on("data", (chunk: Buffer) => (text += chunk.toString()));
        events.on("end", () => resolve(text));
      })
    )
      .split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes["io.stackyard.step"]);
    expect(created.filter((id) => id?.startsWith("score_candidate[")).sort()).toEqual([0, 1, 2, 3].map((i) => `score_candidate[${i}]`));
    expect(result.stdout + result.stderr).toMatch(/score_candidate\[3\] \| 25 trees, max_features 0\.8: accuracy/);
  }, 600_000);

  it("retries a failed run in containers only for what failed: the finished step and items start no container", async () => {
    const created = async (runId: string, since: number): Promise<string[]> => {
      const events = await docker.getEvents({
        since,
        until: Math.ceil(Date.now() / 1000) + 1,
        filters: { type: ["container"], event: ["create"], label: [`${RUN_LABEL}=${runId}`] },
      });
      const text = await new Promise<string>((resolve) => {
        let all = "";
        events.on("data", (chunk: Buffer) => (all += chunk.toString()));
        events.on("end", () => resolve(all));
      });
      return text
        .split("\n")
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes["io.stackyard.step"]!)
        .sort();
    };
    const flakyRun = ["run", "./pipelines/probe.ts#flakyMapPipeline", "-c", "configs/probe.yaml", "--run-name", "flaky-docker"];
    ok(cli(dir, ["orchestrator", "update", "docker_orch", `--environment={"GREETING":"hi","FLAKY_ITEMS":"2"}`]), "flaky on");
    try {
      expect(cli(dir, flakyRun).code).toBe(1);
    } finally {
      ok(cli(dir, ["orchestrator", "update", "docker_orch", `--environment={"GREETING":"hi"}`]), "flaky off");
    }
    const failed = describeRun("flaky-docker");
    expect(failed.steps.find((s) => s.stepId === "flaky_square[1]")?.status).toBe("failed");
    const finishedItems = failed.steps.filter((s) => s.stepId.startsWith("flaky_square[") && s.status === "completed").map((s) => s.stepId);
    const since = Math.floor(Date.now() / 1000);
    const retried = ok(cli(dir, ["runs", "retry", "flaky-docker"]), "retry");
    expect(retried.stderr).toContain("Retrying pipeline 'flaky_map' as run 'flaky-docker-retry'");
    const run = describeRun("flaky-docker-retry");
    expect(run.status).toBe("completed");
    const sum = run.artifacts.find((a) => a.step === "sum_all")!;
    expect(JSON.parse(readFileSync(join(sum.uri, "data.json"), "utf8"))).toBe(30);
    // Containers only for the items that had not finished and the collector.
    const expected = ["flaky_square[0]", "flaky_square[1]", "flaky_square[2]", "flaky_square[3]"].filter((id) => !finishedItems.includes(id));
    expect(await created(run.id, since)).toEqual([...expected, "sum_all"].sort());
  }, 600_000);

  it("enforces cpu and memory limits and passes config and settings environment", async () => {
    const result = ok(cli(dir, ["run", "./pipelines/probe.ts#limitsPipeline", "-c", "configs/probe.yaml"]), "limits run");
    const line = /limits (\{.*\})/.exec(result.stderr)?.[1];
    expect(line, result.stderr).toBeDefined();
    const seen = JSON.parse(line!) as Record<string, string | number | null>;
    expect(seen.memory_max).toBe(String(300 * 1024 * 1024));
    expect(seen.cpu_max).toBe("150000 100000");
    expect(seen.uid).toBe(process.getuid!());
    expect(seen.greeting).toBe("hi");
    expect(seen.step_setting).toBe("yes");
  }, 300_000);

  it("gives a step neither the project's store nor its secrets file: only the artifact folder is mounted, and the host records the step", () => {
    ok(
      cli(dir, [
        "service-connector",
        "register",
        "probe_conn",
        "--type",
        "aws",
        "--auth_method=secret-key",
        "--region=eu-west-1",
        "--access_key_id=AKIAPROBEPROBEPROBE",
        "--secret_access_key=probe-s3cret-value",
      ]),
      "connector register",
    );
    expect(readFileSync(join(dir, ".stackyard", "secrets.json"), "utf8")).toContain("probe-s3cret-value");
    const storeBefore = readFileSync(join(dir, ".stackyard", "stackyard.db"));
    const result = ok(cli(dir, ["run", "./pipelines/probe.ts#storePipeline", "-c", "configs/probe.yaml", "--param", `project=${dir}`]), "store probe run");
    const line = /store-probe (\{.*\})/.exec(result.stderr + result.stdout)?.[1];
    expect(line, result.stderr).toBeDefined();
    expect(result.stdout + result.stderr).not.toContain("probe-s3cret-value");
    const seen = JSON.parse(line!) as Record<string, unknown>;
    expect(seen).toMatchObject({
      host_store: "missing",
      host_secrets: "missing",
      image_store: "missing",
      image_secrets: "missing",
      store_write: "ENOENT",
      store_variable: null,
      artifact_store_keys: ["path"],
      // Read-only but for its own run's folder: no shared record, snapshot or other run to rewrite.
      // (Making a new folder on the read-only mount fails with ENOENT, writing into an existing one with EROFS.)
      writes: {
        snapshots: "EROFS",
        cache: expect.stringMatching(/^(EROFS|ENOENT)$/),
        other_run: expect.stringMatching(/^(EROFS|ENOENT)$/),
        own_run: "written",
      },
    });
    // The artifact folder (and its run's folder over it) is all of the project the container has, at its host path and where the image has the project.
    const mounts = seen.mounts as string[];
    expect(mounts).toContain(join(dir, ".stackyard", "artifacts"));
    expect(
      mounts.every((point) => point.endsWith("/.stackyard/artifacts") || /\/\.stackyard\/artifacts\/runs\/[0-9a-f-]+$/.test(point)),
      mounts.join(", "),
    ).toBe(true);
    expect(existsSync(join(dir, ".stackyard", "artifacts", "snapshots", "from-a-step.json"))).toBe(false);
    // The host's store and secrets are as they were, and the step's record came back into the store.
    expect(readFileSync(join(dir, ".stackyard", "stackyard.db")).subarray(0, 16)).toEqual(storeBefore.subarray(0, 16));
    expect(readFileSync(join(dir, ".stackyard", "secrets.json"), "utf8")).toContain("probe-s3cret-value");
    const run = describeRun(runName(result));
    expect(run.status).toBe("completed");
    expect(run.steps.map((s) => [s.stepId, s.status])).toEqual([["store_probe", "completed"]]);
    expect(run.artifacts.map((a) => a.output)).toEqual(["seen"]);
    const logs = ok(cli(dir, ["runs", "logs", run.name, "--step", "store_probe"]), "runs logs").stdout;
    expect(logs).toContain("store-probe {");
    ok(cli(dir, ["service-connector", "delete", "probe_conn"]), "connector delete");
  }, 300_000);

  it("fails a step killed for memory with the limit in the error, and removes its container", async () => {
    const result = cli(dir, ["run", "./pipelines/probe.ts#oomPipeline", "-c", "configs/probe.yaml"]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout + result.stderr).toContain("out of memory: limit 256 MiB");
    const run = describeRun(runName(result));
    expect(run.status).toBe("failed");
    expect(run.steps[0]).toMatchObject({ stepId: "hog", status: "failed", error: "out of memory: limit 256 MiB" });
    expect(await containersOf(run.id)).toEqual([]);
  }, 300_000);

  it("reports a failing step with its exit code and error, skips what depends on it, and removes containers", async () => {
    const result = cli(dir, ["run", "./pipelines/probe.ts#failingPipeline", "-c", "configs/probe.yaml"]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain("boom | about to fail");
    const run = describeRun(runName(result));
    expect(run.steps.find((s) => s.stepId === "boom")).toMatchObject({ status: "failed" });
    expect(run.error).toMatch(/exit code 1: .*boom from the step/);
    expect(run.steps.find((s) => s.stepId === "sleeper")?.status).toBe("skipped");
    expect(ok(cli(dir, ["runs", "logs", run.name])).stdout).toContain("about to fail");
    expect(await containersOf(run.id)).toEqual([]);
  }, 300_000);

  it("pushes the image to the stack's container registry and runs the pushed name", async () => {
    ok(cli(dir, ["container-registry", "flavor", "register", "./flavors/plain-registry.ts#plainRegistryFlavor"]), "flavor register");
    ok(cli(dir, ["container-registry", "register", "local_registry", "-f", "plain", `--uri=${registry!.address}`]), "registry register");
    ok(cli(dir, ["stack", "register", "registry_stack", "-o", "docker_orch", "-a", "default", "-c", "local_registry"]), "stack register");
    const result = ok(cli(dir, ["run", "./pipelines/probe.ts#limitsPipeline", "-c", "configs/probe.yaml", "--stack", "registry_stack"]), "run with registry");
    const pushed = /pushed as (127\.0\.0\.1:5001\/stackyard):([0-9a-f]{16})/.exec(result.stdout + result.stderr);
    expect(pushed, result.stderr).not.toBeNull();
    const tags = (await (await fetch(`http://${registry!.address}/v2/stackyard/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain(pushed![2]);
    expect(describeRun(runName(result)).status).toBe("completed");
  }, 300_000);

  it("stops a run on Ctrl-C: kills its container and marks its steps stopped", async () => {
    const child = cliAsync(dir, ["run", "./pipelines/probe.ts#slowPipeline", "-c", "configs/probe.yaml"]);
    const deadline = Date.now() + 120_000;
    while (!/sleeper: running/.test(child.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(child.output()).toMatch(/sleeper: running/);
    // While its container runs, the client's store has the step's record under way, copied from the artifact store (what `runs describe` and the dashboard show).
    const name = /as run '([^']+)'/.exec(child.output())![1]!;
    const liveStep = () => describeRun(name).steps.find((s) => s.stepId === "sleeper");
    let live = liveStep();
    while (live?.status !== "running" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      live = liveStep();
    }
    expect(live).toMatchObject({ status: "running", started: expect.any(String) });
    process.kill(child.pid, "SIGINT");
    const result = await child.done;
    expect(result.code).toBe(1);
    const run = describeRun(runName(result));
    expect(run.status).toBe("stopped");
    expect(run.steps.map((s) => [s.stepId, s.status])).toEqual(
      expect.arrayContaining([
        ["sleeper", "stopped"],
        ["sleeper_2", "stopped"],
      ]),
    );
    expect(await containersOf(run.id)).toEqual([]);
  }, 300_000);

  it("names the engine address when no engine answers", () => {
    ok(cli(dir, ["orchestrator", "register", "nowhere", "-f", "docker", "--docker_host=unix:///nonexistent/docker.sock", `--parent_image=${nodeImage}`]));
    ok(cli(dir, ["stack", "register", "nowhere_stack", "-o", "nowhere", "-a", "default"]));
    const result = cli(dir, ["run", "./pipelines/probe.ts#parallelPipeline", "--stack", "nowhere_stack"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("unix:///nonexistent/docker.sock");
    expect(result.stderr).toContain("DOCKER_HOST");
    expect(result.stderr).toContain("--docker_host=");
  }, 120_000);

  it("names a parent image the engine does not have", () => {
    ok(
      cli(dir, [
        "orchestrator",
        "register",
        "no_parent",
        "-f",
        "docker",
        `--docker_host=${engine.dockerHost}`,
        "--parent_image=stackyard/missing-parent:0",
        "--network_mode=host",
      ]),
    );
    ok(cli(dir, ["stack", "register", "no_parent_stack", "-o", "no_parent", "-a", "default"]));
    const result = cli(dir, ["run", "./pipelines/probe.ts#parallelPipeline", "--stack", "no_parent_stack"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("stackyard/missing-parent:0");
  }, 120_000);

  it("puts steps on the engine's bridge network unless told otherwise, and fails before building on an engine without one", () => {
    ok(cli(dir, ["orchestrator", "register", "bridged", "-f", "docker", `--docker_host=${engine.dockerHost}`, `--parent_image=${nodeImage}`]));
    ok(cli(dir, ["stack", "register", "bridged_stack", "-o", "bridged", "-a", "default"]));
    const described = JSON.parse(ok(cli(dir, ["orchestrator", "describe", "bridged", "--json"])).stdout) as { config: { network_mode: string } };
    expect(described.config.network_mode).toBe("bridge");
    // The test engine runs with --bridge=none: no step may start, nothing is built.
    const result = cli(dir, ["run", "./pipelines/probe.ts#parallelPipeline", "-c", "configs/probe.yaml", "--stack", "bridged_stack"]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain("network 'bridge' (network_mode)");
    expect(result.stderr).toContain("--network_mode=host");
    expect(result.stdout + result.stderr).not.toMatch(/Building |Reusing image|sleeper: running/);
  }, 120_000);

  // Last: it adds files to the project, which changes the image's content hash.
  it("shows the failing Dockerfile step when the image build fails", () => {
    writeFileSync(join(dir, "Dockerfile.broken"), `FROM ${nodeImage}\nRUN echo checking the toolchain && exit 3\n`);
    writeFileSync(join(dir, "configs/broken_build.yaml"), "settings:\n  docker:\n    dockerfile: Dockerfile.broken\n    dockerignore: docker.ignore\n");
    const result = cli(dir, ["run", "./pipelines/probe.ts#parallelPipeline", "-c", "configs/broken_build.yaml"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Image build of stackyard:\S+ failed at Step \d+\/\d+ : RUN echo checking the toolchain && exit 3/);
    expect(result.stderr).toContain("checking the toolchain");
  }, 300_000);
});

/** A docker orchestrator made from `config`, and a one-step snapshot and submit context around a step with `settings`, without an engine. */
async function orchestratorWith(config: Record<string, unknown>, settings: Record<string, unknown> = {}) {
  const Orchestrator = await dockerOrchestratorFlavor.implementation();
  const orchestrator = new Orchestrator({
    id: "n",
    name: "net",
    flavor: "docker",
    config: dockerOrchestratorFlavor.configSchema.parse(config),
    sourceRoot: dir,
  });
  const step = { id: "s", name: "s", settings, resources: {} } as unknown as SnapshotStep;
  const snapshot = { stack: { components: {} }, pipeline: { name: "p" }, steps: [step] } as unknown as PipelineSnapshot;
  const warnings: string[] = [];
  const context = {
    runId: "r",
    sourceRoot: dir,
    stack: { artifactStore: new LocalArtifactStore({ id: "a", name: "default", flavor: "local", config: { path: ".stackyard/artifacts" }, sourceRoot: dir }) },
    stepEnvironment: () => ({}),
    stepCommand: () => ["true"],
    events: { warn: (message: string) => warnings.push(message) },
    signal: new AbortController().signal,
  } as unknown as SubmitContext;
  const container = () => orchestrator.containerOptions(snapshot, step, { image: "i", sourceRoot: "/app" }, context);
  return { orchestrator, snapshot, context, warnings, container };
}

describe("the network of a step container", () => {
  it("is the engine's bridge network unless the config or the step's settings choose another", async () => {
    const networkOf = async (config: Record<string, unknown>, settings: Record<string, unknown> = {}) =>
      (await orchestratorWith(config, settings)).container().HostConfig?.NetworkMode;
    expect(await networkOf({})).toBe("bridge");
    expect(await networkOf({ network_mode: "host" })).toBe("host");
    expect(await networkOf({}, { "orchestrator.docker": { network_mode: "host" } })).toBe("host");
    expect(await networkOf({ network_mode: "host" }, { orchestrator: { network_mode: "none" } })).toBe("none");
  });
});

describe("what a step container gets of the project", () => {
  it("is the local artifact folder and the artifact store's description, never the client's store; a root holding .stackyard is refused", async () => {
    const { context, container } = await orchestratorWith({});
    const artifacts = join(dir, ".stackyard", "artifacts");
    Object.assign(context, { stepEnvironment: () => ({ STACKYARD_STORE: join(dir, ".stackyard", "stackyard.db"), STACKYARD_RUN_ID: "r" }) });
    const options = container();
    expect(options.Env!.filter((e) => e.startsWith("STACKYARD_STORE="))).toEqual([]);
    expect(options.Env).toContain("STACKYARD_RUN_ID=r");
    const variable = options.Env!.find((e) => e.startsWith("STACKYARD_ARTIFACT_STORE="))!;
    expect(JSON.parse(variable.slice("STACKYARD_ARTIFACT_STORE=".length))).toMatchObject({
      flavor_source: "@stackyard/core#localArtifactStoreFlavor",
      config: { path: artifacts },
    });
    expect(options.HostConfig!.Binds).toEqual([`${artifacts}:${artifacts}:ro`, `${artifacts}/runs/r:${artifacts}/runs/r`]);
    expect(options.Env).toContain("STACKYARD_STEP_RECORDS=run");
    Object.assign(context.stack, {
      artifactStore: new LocalArtifactStore({ id: "a", name: "whole", flavor: "local", config: { path: "." }, sourceRoot: dir }),
    });
    expect(() => container()).toThrow(`Artifact store 'whole' is rooted at ${dir}, which holds ${join(dir, ".stackyard")}`);
  });
});

describe("secret environment values of step containers", () => {
  it("are kept with the secrets, masked, and never in the store, the snapshot or the artifacts", () => {
    // An engine that does not answer: the run stores its snapshot, warns, then fails to connect.
    ok(
      cli(dir, [
        "orchestrator",
        "register",
        "docker_secret",
        "-f",
        "docker",
        "--docker_host=tcp://127.0.0.1:1",
        `--environment={"API_TOKEN":"plain"}`,
        `--secret_environment={"DB_PASSWORD":"s3cret-pa55word"}`,
      ]),
      "register",
    );
    ok(cli(dir, ["stack", "register", "secret_stack", "-o", "docker_secret", "-a", "default"]), "stack register");
    const described = JSON.parse(ok(cli(dir, ["orchestrator", "describe", "docker_secret", "--json"]), "describe").stdout);
    expect(described.config.secret_environment).toBe("********");
    // Not from the cache: earlier tests ran the same pipeline, and a fully cached run submits nothing.
    const run = cli(dir, ["run", ...training, "--stack", "secret_stack", "--no-cache"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("Environment variable 'API_TOKEN' of");
    expect(run.stdout + run.stderr).not.toContain("s3cret-pa55word");
    const stored = readdirSync(join(dir, ".stackyard"), { recursive: true, encoding: "utf8" })
      .map((file) => join(dir, ".stackyard", file))
      .filter((file) => statSync(file).isFile());
    expect(stored.some((file) => file.includes("snapshots"))).toBe(true);
    for (const file of stored) {
      if (!file.endsWith("secrets.json")) expect(readFileSync(file).includes("s3cret-pa55word"), file).toBe(false);
    }
    expect(readFileSync(join(dir, ".stackyard", "secrets.json"), "utf8")).toContain("s3cret-pa55word");
    ok(cli(dir, ["stack", "delete", "secret_stack"]), "stack delete");
  });

  it("reach the container's environment, and plain values whose names look secret are warned about", async () => {
    const { orchestrator, snapshot, context, warnings, container } = await orchestratorWith(
      { docker_host: "tcp://127.0.0.1:1", environment: { GREETING: "hi", API_TOKEN: "plain" }, secret_environment: { DB_PASSWORD: "s3cret" } },
      { "orchestrator.docker": { environment: { SIGNING_KEY: "plain" } } },
    );
    expect(container().Env).toEqual(expect.arrayContaining(["GREETING=hi", "API_TOKEN=plain", "DB_PASSWORD=s3cret"]));
    await orchestrator.submit(snapshot, context).catch(() => undefined); // no engine at that address: the warnings come first
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("Environment variable 'API_TOKEN' of");
    expect(warnings[0]).toContain("--secret_environment=@FILE");
    expect(warnings[1]).toContain("Environment variable 'SIGNING_KEY' of");
  });
});

describe("stop() on a run whose client is gone", () => {
  it("kills and removes the run's containers found by label and marks unfinished steps stopped", async () => {
    const Orchestrator = await dockerOrchestratorFlavor.implementation();
    const config = dockerOrchestratorFlavor.configSchema.parse({ docker_host: engine.dockerHost, parent_image: nodeImage });
    const orchestrator = new Orchestrator({ id: "o1", name: "stopper", flavor: "docker", config, sourceRoot: dir });
    const runId = `stop-test-${Date.now()}`;
    const container = await docker.createContainer({
      Image: nodeImage,
      Cmd: ["node", "-e", "setTimeout(() => {}, 600000)"],
      Labels: { [RUN_LABEL]: runId },
      HostConfig: { NetworkMode: "none" },
    });
    await container.start();
    const store = new MemoryRunStore();
    await store.putStepRun({ runId, stepId: "long", stepName: "long", status: "running", attempt: 1, outputs: {} });
    await orchestrator.stop!({ id: runId } as never, { store, stack: {} as never });
    expect(await containersOf(runId)).toEqual([]);
    expect((await store.getStepRun(runId, "long"))?.status).toBe("stopped");
  }, 120_000);
});
