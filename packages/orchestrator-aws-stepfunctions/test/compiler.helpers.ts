// Test-only helpers for the Step Functions compiler tests: snapshots, DAG
// generators, and a checker that reads the compiled ASL back into a
// happens-before relation.
import { createRequire } from "node:module";
import { type PipelineSnapshot, pipelineSnapshotSchema, type ResourceSettings } from "@stackyard/core";
import type { CompileOptions } from "../src/compiler/index.js";

export interface StepSpec {
  id: string;
  upstream: string[];
  resources?: ResourceSettings;
  retry?: { max_retries?: number; delay?: number; backoff?: number };
  /** Makes it a map step over its first input (`in_0`). */
  map?: { concurrency?: number; tolerate?: { count: number } | { percent: number } };
}

/** A valid PipelineSnapshot (parsed by core's zod schema) with the given steps. */
export function makeSnapshot(steps: StepSpec[], name = "test_pipeline"): PipelineSnapshot {
  return pipelineSnapshotSchema.parse({
    version: 1,
    id: "snap-0001",
    created: "2025-01-01T00:00:00.000Z",
    pipeline: { name, source: "./pipeline.ts#testPipeline", parameters: {} },
    run_name_template: "{pipeline}-{date}",
    enable_cache: false,
    settings: {},
    steps: steps.map((s) => ({
      id: s.id,
      name: s.id.replace(/_\d+$/, ""),
      code_hash: "0".repeat(64),
      upstream: s.upstream,
      inputs: Object.fromEntries(s.upstream.map((u, i) => [`in_${i}`, { step: u, output: "output" }])),
      parameters: {},
      outputs: { output: { materializer: "json" } },
      settings: {},
      resources: s.resources ?? {},
      retry: { max_retries: 0, delay: 1, backoff: 2, ...s.retry },
      enable_cache: false,
      ...(s.map ? { map: { inputs: ["in_0"], mode: "zip", ...s.map } } : {}),
    })),
    stack: {
      name: "aws_stack",
      components: {
        orchestrator: {
          id: "c1",
          name: "sfn",
          flavor: "aws_step_functions",
          flavor_source: "@stackyard/orchestrator-aws-stepfunctions#stepFunctionsOrchestratorFlavor",
          config: {},
        },
      },
    },
  });
}

export const baseOptions: CompileOptions = {
  stateMachineName: "stackyard-test",
  clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/stackyard",
  taskDefinitionArn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/stackyard-step:3",
  containerName: "step",
  launchType: "FARGATE",
  subnets: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
  securityGroups: ["sg-0123456789abcdef0"],
  assignPublicIp: false,
  image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/stackyard:abc123",
  snapshotUri: "s3://stackyard-artifacts/snapshots/snap-0001.json",
  environment: { STACKYARD_ARTIFACT_STORE: "s3://stackyard-artifacts", AWS_REGION: "eu-west-1" },
};

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sid = (i: number): string => `step_${i}`;

export function chain(n: number): StepSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: sid(i), upstream: i ? [sid(i - 1)] : [] }));
}

export function diamond(): StepSpec[] {
  return [
    { id: "load", upstream: [] },
    { id: "left", upstream: ["load"] },
    { id: "right", upstream: ["load"] },
    { id: "join", upstream: ["left", "right"] },
  ];
}

/** One source, `width` parallel steps, one sink. */
export function fanOut(width: number): StepSpec[] {
  return [
    { id: "source", upstream: [] },
    ...Array.from({ length: width }, (_, i) => ({ id: sid(i), upstream: ["source"] })),
    { id: "sink", upstream: Array.from({ length: width }, (_, i) => sid(i)) },
  ];
}

/** Fan-out of fan-outs: source -> a_i -> b_ij -> join_i -> sink. */
export function nestedFanOutIn(outer: number, inner: number): StepSpec[] {
  const steps: StepSpec[] = [{ id: "source", upstream: [] }];
  for (let i = 0; i < outer; i++) {
    steps.push({ id: `a_${i}`, upstream: ["source"] });
    for (let j = 0; j < inner; j++) steps.push({ id: `b_${i}_${j}`, upstream: [`a_${i}`] });
    steps.push({ id: `join_${i}`, upstream: Array.from({ length: inner }, (_, j) => `b_${i}_${j}`) });
  }
  steps.push({ id: "sink", upstream: Array.from({ length: outer }, (_, i) => `join_${i}`) });
  return steps;
}

type SpTree = { kind: "leaf" } | { kind: "s" | "p"; children: SpTree[] };

/** A random series-parallel DAG with `n` steps, built from a random series/parallel expression. */
export function randomSeriesParallel(rng: () => number, n: number): StepSpec[] {
  const build = (size: number, depth: number): SpTree => {
    if (size === 1) return { kind: "leaf" };
    const parts = Math.min(size, 2 + Math.floor(rng() * 3));
    const sizes = Array.from({ length: parts }, () => 1);
    for (let rest = size - parts; rest > 0; rest--) sizes[Math.floor(rng() * parts)]! += 1;
    return { kind: depth % 2 === 0 ? (rng() < 0.5 ? "s" : "p") : rng() < 0.5 ? "p" : "s", children: sizes.map((s) => build(s, depth + 1)) };
  };
  const steps: StepSpec[] = [];
  // Returns [sources, sinks] of the emitted sub-DAG; `after` = the steps it must follow.
  const emit = (tree: SpTree, after: string[]): string[] => {
    if (tree.kind === "leaf") {
      const id = sid(steps.length);
      steps.push({ id, upstream: after });
      return [id];
    }
    if (tree.kind === "p") return tree.children.flatMap((child) => emit(child, after));
    let sinks = after;
    for (const child of tree.children) sinks = emit(child, sinks);
    return sinks;
  };
  emit(build(n, 0), []);
  return steps;
}

/** A random DAG: each step depends on up to `maxDeps` earlier steps within a window. */
export function randomDag(rng: () => number, n: number, maxDeps = 3, window = 12): StepSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const deps = new Set<string>();
    const count = i === 0 ? 0 : Math.floor(rng() * (maxDeps + 1));
    for (let k = 0; k < count; k++) deps.add(sid(Math.max(0, i - 1 - Math.floor(rng() * Math.min(i, window)))));
    return { id: sid(i), upstream: [...deps] };
  });
}

/** Shuffles the steps (the compiler must not rely on snapshot order). */
export function shuffled<T>(rng: () => number, items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---------------------------------------------------------------------------
// Reading a compiled definition back.

type Asl = { StartAt: string; States: Record<string, AslState> };
type AslState = {
  Type: string;
  Next?: string;
  End?: boolean;
  Branches?: Asl[];
  Parameters?: { Overrides?: { ContainerOverrides?: { "Command.$"?: string }[] } };
};

/** Unquotes the string literals of an intrinsic call: `States.Array('a', 'b\'c', $$.X)` -> ["a", "b'c"]. */
export function intrinsicStrings(expression: string): string[] {
  return [...expression.matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1]!.replace(/\\(.)/g, "$1"));
}

/** The step id a Task state runs, read from its command (`--step ID`). */
export function stepOfTask(state: AslState): string {
  const command = state.Parameters?.Overrides?.ContainerOverrides?.[0]?.["Command.$"];
  if (!command) throw new Error("Task state without Command.$");
  const args = intrinsicStrings(command);
  const at = args.indexOf("--step");
  if (at < 0) throw new Error(`no --step in ${command}`);
  return args[at + 1]!;
}

/**
 * Walks the main path of a definition (Next chains, Parallel branches; Catch
 * paths ignored) and gives each step a position path: chain index, branch
 * index, chain index, ... Two steps are ordered when their paths first differ
 * at a chain index.
 */
export function positions(definition: unknown): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const walk = (machine: Asl, prefix: number[]): void => {
    let name: string | undefined = machine.StartAt;
    let index = 0;
    const seen = new Set<string>();
    while (name !== undefined) {
      if (seen.has(name)) throw new Error(`loop at ${name}`);
      seen.add(name);
      const state: AslState | undefined = machine.States[name];
      if (!state) throw new Error(`missing state ${name}`);
      if (state.Type === "Task") {
        const step = stepOfTask(state);
        if (out.has(step)) throw new Error(`step ${step} appears twice`);
        out.set(step, [...prefix, index]);
      } else if (state.Type === "Parallel") {
        for (const [b, branch] of state.Branches!.entries()) walk(branch, [...prefix, index, b]);
      } else {
        throw new Error(`unexpected ${state.Type} state ${name} on the main path`);
      }
      if (state.End) break;
      name = state.Next;
      index++;
    }
  };
  walk(definition as Asl, []);
  return out;
}

/** True when the compiled machine finishes step `a` before starting step `b`. */
export function before(pos: Map<string, number[]>, a: string, b: string): boolean {
  const pa = pos.get(a)!;
  const pb = pos.get(b)!;
  let k = 0;
  while (k < pa.length && k < pb.length && pa[k] === pb[k]) k++;
  if (k >= pa.length || k >= pb.length) throw new Error(`positions of ${a} and ${b} nest`);
  return k % 2 === 0 && pa[k]! < pb[k]!;
}

/** Every step exactly once, every DAG edge respected. Returns the positions. */
export function assertRespectsDag(definition: unknown, steps: StepSpec[]): Map<string, number[]> {
  const pos = positions(definition);
  const ids = steps.map((s) => s.id).sort();
  const found = [...pos.keys()].sort();
  if (JSON.stringify(ids) !== JSON.stringify(found)) throw new Error(`steps differ: expected ${ids.length}, found ${found.length}`);
  for (const step of steps) {
    for (const up of step.upstream) {
      if (!before(pos, up, step.id)) throw new Error(`edge ${up} -> ${step.id} not respected`);
    }
  }
  return pos;
}

/** Transitive closure of the DAG as a set of "a>b" keys (small DAGs only). */
export function closure(steps: StepSpec[]): Set<string> {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const anc = new Map<string, Set<string>>();
  const ancestors = (id: string): Set<string> => {
    let set = anc.get(id);
    if (set) return set;
    set = new Set();
    for (const up of byId.get(id)!.upstream) {
      set.add(up);
      for (const a of ancestors(up)) set.add(a);
    }
    anc.set(id, set);
    return set;
  };
  const out = new Set<string>();
  for (const s of steps) for (const a of ancestors(s.id)) out.add(`${a}>${s.id}`);
  return out;
}

export type AslValidator = (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

/** asl-validator (CommonJS, no types). It mutates its input, so give it a copy. */
export const aslValidator = createRequire(import.meta.url)("asl-validator") as AslValidator;

/** Validates a compiled definition's JSON with asl-validator, throwing its errors. */
export function assertValidAsl(json: string): void {
  const result = aslValidator(JSON.parse(json), { checkPaths: true, checkArn: true });
  if (!result.isValid) throw new Error(`asl-validator: ${result.errorsText("\n")}`);
}
