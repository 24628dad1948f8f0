// Image builds on the real engine: first build, rebuild after a project-file
// change, unchanged rebuild (and, with --repo, a second project next to the first).
//
// Run from the repo root:
//   npx tsx packages/image-builder/bench/image-build.mjs [rounds]          # small fixture project
//   npx tsx packages/image-builder/bench/image-build.mjs [rounds] --repo   # a project under <repo>/.test-tmp:
//                                                                          # the repo root (its node_modules) is the context
// Targets: an unchanged rebuild takes at most 5% of a first build; a rebuild
// after a project-file change sends no node_modules (the dependency image is reused).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ensureBaseImage, ensureDockerEngine, repoRoot } from "@stackyard/tools/engines";
import { buildImage, connectDocker } from "../src/index.ts";
import { makeFixture } from "../test/fixture.ts";

const args = process.argv.slice(2);
const repoMode = args.includes("--repo");
const verbose = args.includes("--verbose"); // print the build output with elapsed seconds
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? (repoMode ? 2 : 5));
const repository = repoMode ? "stackyard-bench-repo" : "stackyard-bench";
const engine = await ensureDockerEngine();
const docker = connectDocker(engine.dockerHost);
const { nodeImage } = await ensureBaseImage(docker);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const start = performance.now();
  const result = await fn();
  return [performance.now() - start, result];
};

/** A project under <repo>/.test-tmp, its context the repo root, tooling left out as the orchestrator tests do. */
function repoProject() {
  const base = path.join(repoRoot, ".test-tmp");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(path.join(base, "image-bench-"));
  const write = (relative, content) => {
    mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), content);
  };
  write("pipeline.ts", `export const answer = 42; // ${dir}\n`);
  write(
    "docker.ignore",
    [
      ".test-tmp",
      `!.test-tmp/${path.basename(dir)}`,
      ...[
        "nx",
        "@nx",
        "typescript",
        "@arethetypeswrong",
        "@rolldown",
        "prettier",
        "@napi-rs",
        "lightningcss*",
        "vite",
        "vitest",
        "@vitest",
        "rollup",
        "@rollup",
        "@types",
      ].map((m) => `node_modules/${m}`),
      "bench",
      "docs",
      "examples",
      "tools",
      "packages/*/src",
      "packages/*/test",
      "",
    ].join("\n"),
  );
  return { sourceRoot: dir, cacheDir: undefined, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const newProject = () => {
  if (repoMode) return repoProject();
  const fixture = makeFixture();
  return { sourceRoot: fixture.sourceRoot, cacheDir: fixture.cacheDir, write: (rel, text) => fixture.write(`app/${rel}`, text), remove: fixture.remove };
};

/** Removes this bench's images (pipeline images first: they sit on the dependency images). */
async function removeImages() {
  const images = await docker.listImages();
  const tags = images.flatMap((i) => i.RepoTags ?? []);
  for (const tag of tags.filter((t) => t.startsWith(`${repository}:`)))
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => {});
  for (const tag of tags.filter((t) => t.startsWith(`${repository}-deps:`)))
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => {});
}

const rows = { first: [], projectChange: [], unchanged: [], secondProject: [] };
try {
  for (let i = 0; i < rounds; i++) {
    await removeImages(); // a first build really builds, dependencies included
    const project = newProject();
    const other = repoMode ? newProject() : undefined;
    try {
      const build = (p) => () => {
        const started = performance.now();
        return buildImage({
          docker,
          sourceRoot: p.sourceRoot,
          parentImage: nodeImage,
          cacheDir: p.cacheDir,
          settings: { target_repository: repository, ...(repoMode ? { dockerignore: "docker.ignore" } : {}) },
          onLog: verbose ? (line) => console.error(`${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}`) : undefined,
        });
      };
      const [first, built] = await time(build(project));
      project.write("pipeline.ts", `export const answer = 43; // round ${i}\n`);
      const [change, changed] = await time(build(project));
      const [unchanged, reused] = await time(build(project));
      if (!built.built || !changed.built || reused.built || reused.tag !== changed.tag || changed.tag === built.tag) {
        throw new Error(`unexpected: ${JSON.stringify({ built, changed, reused })}`);
      }
      rows.first.push(first);
      rows.projectChange.push(change);
      rows.unchanged.push(unchanged);
      if (other) rows.secondProject.push((await time(build(other)))[0]);
    } finally {
      project.remove();
      other?.remove();
    }
  }
  const ms = (x) => (x === undefined ? undefined : x < 100 ? Math.round(x * 10) / 10 : Math.round(x));
  const [f, c, u] = [median(rows.first), median(rows.projectChange), median(rows.unchanged)];
  console.log(
    JSON.stringify(
      {
        mode: repoMode ? "repo (context: the repository root)" : "fixture",
        rounds,
        firstBuildMs: ms(f),
        projectChangeRebuildMs: ms(c),
        unchangedRebuildMs: ms(u),
        ...(repoMode ? { secondProjectFirstBuildMs: ms(median(rows.secondProject)) } : {}),
        projectChangeRatio: `${((c / f) * 100).toFixed(1)}%`,
        unchangedRatio: `${((u / f) * 100).toFixed(2)}%`,
        target: "unchanged <= 5% of a first build",
        all: Object.fromEntries(
          Object.entries(rows)
            .filter(([, v]) => v.length)
            .map(([k, v]) => [k, v.map(ms)]),
        ),
      },
      null,
      2,
    ),
  );
} finally {
  await removeImages();
  await engine.stop();
}
