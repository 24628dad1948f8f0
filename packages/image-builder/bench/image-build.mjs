// First build vs unchanged rebuild of a small project fixture, on the real engine.
// Run from the repo root: npx tsx packages/image-builder/bench/image-build.mjs [rounds]
// Target: an unchanged rebuild takes at most 5% of a first build.
import { ensureBaseImage, ensureDockerEngine } from "@stackyard/tools/engines";
import { buildImage, connectDocker } from "../src/index.ts";
import { makeFixture } from "../test/fixture.ts";

const rounds = Number(process.argv[2] ?? 5);
const engine = await ensureDockerEngine();
const docker = connectDocker(engine.dockerHost);
const { nodeImage } = await ensureBaseImage(docker);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => {
  const start = performance.now();
  const result = await fn();
  return [performance.now() - start, result];
};

const firsts = [];
const seconds = [];
const tags = [];
try {
  for (let i = 0; i < rounds; i++) {
    const fixture = makeFixture(); // fresh content: the first build really builds
    try {
      const build = () => buildImage({ docker, sourceRoot: fixture.sourceRoot, parentImage: nodeImage, cacheDir: fixture.cacheDir, settings: { target_repository: "stackyard-bench" } });
      const [first, built] = await time(build);
      const [second, reused] = await time(build);
      if (!built.built || reused.built || reused.tag !== built.tag) throw new Error(`unexpected: ${JSON.stringify({ built, reused })}`);
      firsts.push(first);
      seconds.push(second);
      tags.push(built.tag);
    } finally {
      fixture.remove();
    }
  }
  const [f, s] = [median(firsts), median(seconds)];
  console.log(JSON.stringify({
    rounds,
    firstBuildMs: Math.round(f),
    unchangedRebuildMs: Math.round(s * 10) / 10,
    ratio: `${((s / f) * 100).toFixed(2)}%`,
    target: "<= 5%",
    firsts: firsts.map(Math.round),
    seconds: seconds.map((x) => Math.round(x * 10) / 10),
  }, null, 2));
} finally {
  for (const tag of tags) await docker.getImage(tag).remove().catch(() => {});
  await engine.stop();
}
