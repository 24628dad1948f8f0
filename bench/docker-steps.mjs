// Benchmark of the docker orchestrator (@stackyard/orchestrator-docker) on the
// real engine from tools/src/engines, through the built `stackyard` CLI:
//  - per-step container overhead: each extra step of a chain of trivial steps,
//    against a bare dockerode create/start/wait/remove of the same step command
//    (same image, environment and mounts). Target: at most 1.5x.
//  - a second run without code changes: image reuse time against the first
//    build's time. Target: at most 5%.
//  - a step container's start with the project's TypeScript compiled when the
//    image was built, against one that compiles it (a cold compile cache).
// Prints a markdown table. Timings are wall-clock: run it on an idle machine.
//
//   npx nx run-many -t build && npx tsx bench/docker-steps.mjs [--steps 6] [--reps 3]

import { RUN_LABEL } from "../packages/orchestrator-docker/src/step-container.ts";
import { cli, newProject, ok, registerDockerStack, removeProject } from "../packages/orchestrator-docker/test/harness.ts";
import { dockerClient, ensureBaseImage, ensureDockerEngine } from "../tools/src/engines/index.ts";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const steps = arg("steps", 6);
const reps = arg("reps", 3);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const seconds = (output, verb) => Number(new RegExp(`${verb} image \\S+.* \\(([0-9.]+) s\\)`).exec(output)?.[1]);

const engine = await ensureDockerEngine();
const docker = dockerClient(engine.dockerHost);
const { nodeImage } = await ensureBaseImage(docker);
const dir = newProject("bench-docker");
try {
  registerDockerStack(dir, engine.dockerHost, nodeImage);
  const run = (n) => ok(cli(dir, ["run", "./pipelines/probe.ts#chainPipeline", "-c", "configs/probe.yaml", "-p", `n=${n}`]), `chain of ${n}`);

  // A cold first build: forget the dependency images earlier builds left, so
  // the reuse below is measured against what a first build really costs.
  // Pipeline images are built FROM a dependency image: remove them first.
  const images = await docker.listImages();
  for (const pattern of [/^stackyard:/, /-deps:/]) {
    for (const image of images.filter((i) => (i.RepoTags ?? []).some((tag) => pattern.test(tag)))) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
  const first = run(1);
  const buildS = seconds(first.stdout + first.stderr, "Built");
  const second = run(1);
  const reuseS = seconds(second.stdout + second.stderr, "Reusing");

  // Orchestrated: the time one more step adds to a run.
  const one = [];
  const many = [];
  for (let i = 0; i < reps; i++) {
    one.push(run(1).ms);
    many.push(run(steps).ms);
  }
  const perStep = (median(many) - median(one)) / (steps - 1);

  // Bare: the same step command in the same image, with the same environment and
  // mounts, copied from a container the orchestrator made (on a stack that keeps them).
  ok(
    cli(dir, [
      "orchestrator",
      "register",
      "keep_orch",
      "-f",
      "docker",
      `--docker_host=${engine.dockerHost}`,
      `--parent_image=${nodeImage}`,
      "--network_mode=host",
      "--remove_containers=false",
    ]),
  );
  ok(cli(dir, ["stack", "register", "keep_stack", "-o", "keep_orch", "-a", "default"]));
  ok(cli(dir, ["run", "./pipelines/probe.ts#chainPipeline", "-c", "configs/probe.yaml", "-p", "n=1", "--stack", "keep_stack", "--run-name", "kept"]));
  const kept = JSON.parse(ok(cli(dir, ["runs", "describe", "kept", "--json"])).stdout);
  const [info] = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${kept.id}`] } });
  const made = await docker.getContainer(info.Id).inspect();
  await docker.getContainer(info.Id).remove({ force: true });
  const containers = [];
  const bare = [];
  // Every other bare run without the TypeScript the image compiled when it was built
  // (an empty STACKYARD_TS_PRECOMPILED): the step process compiles the project's files itself.
  const cold = [];
  for (let i = 0; i < reps * 4; i++) {
    const precompiled = i % 2 === 0;
    const started = performance.now();
    const container = await docker.createContainer({
      Image: made.Config.Image,
      Cmd: made.Config.Cmd,
      Env: [...made.Config.Env.filter((e) => precompiled || !e.startsWith("STACKYARD_TS_PRECOMPILED=")), ...(precompiled ? [] : ["STACKYARD_TS_PRECOMPILED="])],
      User: made.Config.User,
      WorkingDir: made.Config.WorkingDir,
      HostConfig: { NetworkMode: made.HostConfig.NetworkMode, Binds: made.HostConfig.Binds },
    });
    await container.start();
    const { StatusCode } = await container.wait();
    await container.remove({ force: true });
    if (StatusCode !== 0) throw new Error(`bare step run exited ${StatusCode}`);
    (precompiled ? bare : cold).push(performance.now() - started);
    containers.push(container.id);
  }
  const bareMs = median(bare);
  const coldMs = median(cold);
  const ratio = perStep / bareMs;
  const reuseShare = reuseS / buildS;

  console.log(`\n| measure | value | target | met |`);
  console.log(`|---|---|---|---|`);
  console.log(`| first build (image of the project) | ${buildS.toFixed(1)} s | | |`);
  console.log(
    `| second run, no code change: image reuse | ${reuseS.toFixed(2)} s (${(reuseShare * 100).toFixed(1)}% of the build) | <= 5% | ${reuseShare <= 0.05 ? "yes" : "no"} |`,
  );
  console.log(`| per extra step, orchestrated (median of ${reps}, chain of ${steps} vs 1) | ${perStep.toFixed(0)} ms | | |`);
  console.log(`| bare docker create/start/wait/remove of the same step (median of ${bare.length}) | ${bareMs.toFixed(0)} ms | | |`);
  console.log(`| orchestrated / bare | ${ratio.toFixed(2)}x | <= 1.5x | ${ratio <= 1.5 ? "yes" : "no"} |`);
  console.log(
    `| bare step without the image's precompiled TypeScript (compiled in the container; median of ${cold.length}) | ${coldMs.toFixed(0)} ms (precompiled: ${bareMs.toFixed(0)} ms, ${(coldMs - bareMs).toFixed(0)} ms saved) | precompiled faster | ${bareMs < coldMs ? "yes" : "no"} |`,
  );
} finally {
  removeProject(dir);
  await engine.stop();
}
