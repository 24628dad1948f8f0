// Benchmark of the AWS Step Functions compiler: compile time and definition
// size for 1,000- and 5,000-step DAGs, a pipeline with a 10,000-item map step,
// and how much parallelism the series-parallel plan keeps on random DAGs.
//
//   npx tsx bench/asl-compile.mjs            (from the repository root; loads the TypeScript sources)
//   npx tsx bench/asl-compile.mjs --quick    (fewer seeds and repetitions)
import {
  buildStepDag,
  compileStateMachine,
  criticalPathLength,
  planSchedule,
  ServiceLimitError,
  scheduleLength,
} from "../packages/orchestrator-aws-stepfunctions/src/compiler/index.ts";

const quick = process.argv.includes("--quick");
const REPEAT = quick ? 2 : 5;
const SEEDS = quick ? 10 : 50;

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const sid = (i) => `step_${i}`;

/** A chain with a side step every 10 steps that the next chain step also waits for. */
function chainish(n) {
  const steps = [];
  let last = null;
  for (let i = 0; i < n; i++) {
    if (i % 10 === 9 && last) {
      steps.push({ id: sid(i), upstream: [steps[steps.length - 1].id] });
      continue;
    }
    const upstream = last ? [last] : [];
    if (steps.length && steps[steps.length - 1].id !== last) upstream.push(steps[steps.length - 1].id);
    steps.push({ id: sid(i), upstream });
    last = sid(i);
  }
  return steps;
}
/** One source, n - 2 parallel steps, one sink. */
function wide(n) {
  const middle = Array.from({ length: n - 2 }, (_, i) => ({ id: sid(i), upstream: ["source"] }));
  return [{ id: "source", upstream: [] }, ...middle, { id: "sink", upstream: middle.map((s) => s.id) }];
}
/** Each step depends on up to 3 of the 20 steps before it. */
function random(n, seed) {
  const rng = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const deps = new Set();
    const count = i === 0 ? 0 : Math.floor(rng() * 4);
    for (let k = 0; k < count; k++) deps.add(sid(Math.max(0, i - 1 - Math.floor(rng() * Math.min(i, 20)))));
    return { id: sid(i), upstream: [...deps] };
  });
}

function snapshot(steps) {
  return {
    version: 1,
    id: "bench",
    created: new Date(0).toISOString(),
    pipeline: { name: "bench", source: "./bench.ts#bench", parameters: {} },
    run_name_template: "bench",
    enable_cache: false,
    settings: {},
    steps: steps.map((s, i) => ({
      id: s.id,
      name: s.id,
      code_hash: "0",
      upstream: s.upstream,
      inputs: {},
      parameters: {},
      outputs: {},
      settings: {},
      resources: {},
      // One step in ten retries (the schema's default is no retry).
      retry: { max_retries: i % 10 === 0 ? 2 : 0, delay: 5, backoff: 2 },
      enable_cache: false,
      ...(s.map ? { map: s.map, inputs: { in_0: { step: s.upstream[0], output: "output" } } } : {}),
    })),
    stack: { name: "bench", components: {} },
  };
}

const options = {
  stateMachineName: "stackyard-bench",
  clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/stackyard",
  taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/stackyard-step:3",
  containerName: "step",
  subnets: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
  securityGroups: ["sg-0123456789abcdef0"],
  snapshotUri: "s3://stackyard-artifacts/snapshots/0123456789abcdef.json",
  environment: { STACKYARD_ARTIFACT_STORE: "s3://stackyard-artifacts", AWS_REGION: "eu-west-1" },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x, d = 1) => x.toFixed(d);

console.log(`Node ${process.version}; median of ${REPEAT} runs\n`);
console.log("shape     steps  result  compile ms  plan ms  definition bytes  shared  states  parallel  depth");
for (const n of [1000, 5000]) {
  for (const [shape, make] of [
    ["chainish", chainish],
    ["wide", wide],
    ["random", (k) => random(k, 1)],
  ]) {
    const snap = snapshot(make(n));
    const times = [];
    const planTimes = [];
    let outcome;
    for (let r = 0; r < REPEAT; r++) {
      const t0 = performance.now();
      try {
        const compiled = compileStateMachine(snap, options);
        outcome = { ok: true, bytes: compiled.stats.definitionBytes, stats: compiled.stats };
      } catch (error) {
        if (!(error instanceof ServiceLimitError)) throw error;
        outcome = { ok: false, bytes: error.actual, message: error.message };
      }
      times.push(performance.now() - t0);
      const t1 = performance.now();
      planSchedule(buildStepDag(snap.steps));
      planTimes.push(performance.now() - t1);
    }
    console.log(
      [
        shape.padEnd(8),
        String(n).padStart(6),
        (outcome.ok ? "ok" : "LIMIT").padStart(7),
        fmt(median(times)).padStart(11),
        fmt(median(planTimes)).padStart(8),
        String(outcome.bytes).padStart(17),
        (outcome.ok ? outcome.stats.sharedParameters : "-").padStart(7),
        String(outcome.ok ? outcome.stats.states : "-").padStart(7),
        String(outcome.ok ? outcome.stats.parallelStates : "-").padStart(9),
        String(outcome.ok ? outcome.stats.maxParallelDepth : "-").padStart(6),
      ].join(" "),
    );
    if (!outcome.ok) console.log(`          -> ${outcome.message}`);
  }
}

// A map step compiles to a fixed handful of states whatever its item count
// (known only at run time): 100 static steps and one map of (at run time)
// 10,000 items, with the Distributed Map taken above the default threshold.
console.log("\nMap steps: 100 static steps in a chain, then a map step (10,000 items at run time) and its collector");
console.log("\n| shared parameters | compile ms (median) | definition bytes | the map's own bytes | target: < 1,000 ms and < 102,400 bytes |");
console.log("|---|---|---|---|---|");
{
  const statics = chainish(100);
  const mapped = [
    ...statics,
    { id: "score", upstream: [statics[statics.length - 1].id], map: { inputs: ["in_0"], mode: "zip", concurrency: 64, tolerate: { percent: 1 } } },
    { id: "report", upstream: ["score"] },
  ];
  const mapSnapshot = snapshot(mapped);
  const withoutMap = snapshot([...statics, { id: "report", upstream: [statics[statics.length - 1].id] }]);
  for (const shared of ["inline", "input"]) {
    const mapOptions = { ...options, sharedParameters: shared, artifactStoreUri: "s3://stackyard-artifacts" };
    const times = [];
    let compiled;
    for (let r = 0; r < REPEAT; r++) {
      const t0 = performance.now();
      compiled = compileStateMachine(mapSnapshot, mapOptions);
      times.push(performance.now() - t0);
    }
    const base = compileStateMachine(withoutMap, mapOptions).stats.definitionBytes;
    const met = median(times) < 1000 && compiled.stats.definitionBytes < 102_400;
    console.log(
      `| ${shared} | ${fmt(median(times))} | ${compiled.stats.definitionBytes} | ${compiled.stats.definitionBytes - base} | ${met ? "met" : "not met"} |`,
    );
  }
  console.log("\nThe map's size does not depend on its item count (known at run time only). Inline, the 100 static Task states alone take about 105 KB.");
}

console.log(`\nParallelism kept on random DAGs (${SEEDS} seeds each; weighted: step durations uniform in 1..10)`);
console.log("steps  maxDeps  SP share  unit ratio mean/max  weighted ratio mean/max  concurrency kept mean/min");
for (const n of [100, 1000]) {
  for (const maxDeps of [2, 3, 5]) {
    let sp = 0;
    const unit = [];
    const weighted = [];
    const kept = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rng = prng(seed * 31 + maxDeps);
      const steps = Array.from({ length: n }, (_, i) => {
        const deps = new Set();
        const count = i === 0 ? 0 : Math.floor(rng() * (maxDeps + 1));
        for (let k = 0; k < count; k++) deps.add(sid(Math.max(0, i - 1 - Math.floor(rng() * Math.min(i, 20)))));
        return { id: sid(i), upstream: [...deps] };
      });
      const dag = buildStepDag(steps);
      const result = planSchedule(dag);
      if (result.seriesParallel) sp++;
      unit.push(scheduleLength(result.plan) / criticalPathLength(dag));
      const durations = new Map(steps.map((s) => [s.id, 1 + Math.floor(rng() * 10)]));
      const d = (id) => durations.get(id);
      weighted.push(scheduleLength(result.plan, d) / criticalPathLength(dag, d));
      kept.push(result.concurrentPairs === 0 ? 1 : 1 - result.addedOrderings / result.concurrentPairs);
    }
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(
      [
        String(n).padStart(5),
        String(maxDeps).padStart(8),
        `${fmt((100 * sp) / SEEDS, 0)}%`.padStart(9),
        `${fmt(mean(unit), 3)} / ${fmt(Math.max(...unit), 3)}`.padStart(20),
        `${fmt(mean(weighted), 3)} / ${fmt(Math.max(...weighted), 3)}`.padStart(24),
        `${fmt(mean(kept), 3)} / ${fmt(Math.min(...kept), 3)}`.padStart(26),
      ].join(" "),
    );
  }
}
