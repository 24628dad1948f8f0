import { PipelineDefinitionError, type SnapshotStep } from "@stackyard/core";

/**
 * A pipeline's step DAG in a form the compiler can work with: steps renumbered
 * in a topological order (every edge goes from a lower to a higher index), with
 * the transitive closure stored as bitsets.
 */
export interface StepDag {
  /** Step ids, in topological order (index = node number). */
  readonly ids: readonly string[];
  /** Node number of each step id. */
  readonly index: ReadonlyMap<string, number>;
  /** Direct predecessors of each node (from `upstream`, duplicates removed). */
  readonly preds: readonly (readonly number[])[];
  /** Direct successors of each node. */
  readonly succs: readonly (readonly number[])[];
  /** Number of 32-bit words in one bitset row. */
  readonly words: number;
  /** `desc[v * words ...]`: bitset of every node reachable from v (v excluded). */
  readonly desc: Uint32Array;
  /** `anc[v * words ...]`: bitset of every node that reaches v (v excluded). */
  readonly anc: Uint32Array;
}

/**
 * The shape of the compiled state machine: a series/parallel tree whose leaves
 * are steps. `series` children run one after the other, `parallel` children run
 * at the same time (one Parallel state branch each).
 */
export type SchedulePlan =
  | { readonly kind: "step"; readonly id: string }
  | { readonly kind: "series"; readonly children: readonly SchedulePlan[] }
  | { readonly kind: "parallel"; readonly children: readonly SchedulePlan[] };

/** What {@link planSchedule} found while decomposing the DAG. */
export interface PlanResult {
  /** The series/parallel tree. */
  readonly plan: SchedulePlan;
  /** True when the DAG is series-parallel: the plan orders exactly the pairs the DAG orders. */
  readonly seriesParallel: boolean;
  /**
   * Pairs of steps that the DAG leaves unordered but the plan orders (the
   * price of fitting a non-series-parallel DAG into nested Parallel states).
   */
  readonly addedOrderings: number;
  /** Pairs of steps the DAG leaves unordered (could run concurrently). */
  readonly concurrentPairs: number;
  /** Number of non-series-parallel cuts the planner had to make. */
  readonly forcedCuts: number;
}

type StepLike = Pick<SnapshotStep, "id" | "upstream">;

/**
 * Builds the DAG of a snapshot's steps, checking that ids are unique, every
 * upstream id exists and there is no cycle.
 *
 * @throws PipelineDefinitionError naming the offending step.
 */
export function buildStepDag(steps: readonly StepLike[]): StepDag {
  const n = steps.length;
  if (n === 0) throw new PipelineDefinitionError("The pipeline has no steps: nothing to compile into a state machine");
  const original = new Map<string, number>();
  steps.forEach((step, i) => {
    if (original.has(step.id)) throw new PipelineDefinitionError(`Step id '${step.id}' appears twice in the snapshot`);
    original.set(step.id, i);
  });
  const predsOrig: number[][] = steps.map((step) => {
    const seen = new Set<number>();
    for (const up of step.upstream) {
      const u = original.get(up);
      if (u === undefined) {
        throw new PipelineDefinitionError(`Step '${step.id}' depends on '${up}', which is not a step of this pipeline`);
      }
      if (u === original.get(step.id)) throw new PipelineDefinitionError(`Step '${step.id}' depends on itself`);
      seen.add(u);
    }
    return [...seen];
  });
  // Kahn's algorithm; ties broken by snapshot order so the result is stable.
  const indeg = new Int32Array(n);
  const succOrig: number[][] = Array.from({ length: n }, () => []);
  predsOrig.forEach((ps, v) => {
    indeg[v] = ps.length;
    for (const p of ps) succOrig[p]!.push(v);
  });
  const order: number[] = [];
  const heap = new MinHeap();
  for (let v = 0; v < n; v++) if (indeg[v] === 0) heap.push(v);
  while (heap.size > 0) {
    const v = heap.pop();
    order.push(v);
    for (const s of succOrig[v]!) if (--indeg[s]! === 0) heap.push(s);
  }
  if (order.length < n) {
    const stuck = steps.filter((_, i) => indeg[i]! > 0).map((s) => s.id);
    throw new PipelineDefinitionError(`The steps form a cycle: ${stuck.slice(0, 10).join(", ")}${stuck.length > 10 ? ", ..." : ""} depend on each other`);
  }
  const rank = new Int32Array(n);
  for (const [i, orig] of order.entries()) rank[orig] = i;
  const ids = order.map((orig) => steps[orig]!.id);
  const index = new Map(ids.map((id, i) => [id, i] as const));
  const preds = order.map((orig) => predsOrig[orig]!.map((p) => rank[p]!).sort((a, b) => a - b));
  const succs: number[][] = Array.from({ length: n }, () => []);
  for (const [v, ps] of preds.entries()) for (const p of ps) succs[p]!.push(v);

  const words = (n + 31) >>> 5;
  const anc = new Uint32Array(n * words);
  const desc = new Uint32Array(n * words);
  for (let v = 0; v < n; v++) {
    const row = v * words;
    for (const p of preds[v]!) {
      anc[row + (p >>> 5)]! |= 1 << (p & 31);
      const prow = p * words;
      const last = p >>> 5; // ancestors of p are all < p
      for (let w = 0; w <= last; w++) anc[row + w]! |= anc[prow + w]!;
    }
  }
  for (let v = n - 1; v >= 0; v--) {
    const row = v * words;
    for (const s of succs[v]!) {
      desc[row + (s >>> 5)]! |= 1 << (s & 31);
      const srow = s * words;
      for (let w = s >>> 5; w < words; w++) desc[row + w]! |= desc[srow + w]!;
    }
  }
  return { ids, index, preds, succs, words, desc, anc };
}

/** True when step `a` must finish before step `b` starts (directly or transitively). */
export function reaches(dag: StepDag, a: number, b: number): boolean {
  return (dag.desc[a * dag.words + (b >>> 5)]! & (1 << (b & 31))) !== 0;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Decomposes the DAG into a series/parallel tree (see docs/compiler.md):
 *
 * 1. a single step is a leaf;
 * 2. a set whose steps fall into several weakly connected components is a
 *    parallel composition of the components;
 * 3. a connected set is cut between ASAP levels where every step before the
 *    cut reaches every step after it (a series cut); all series cuts are taken;
 * 4. a connected set with no series cut is not series-parallel: it is cut at the
 *    ASAP or ALAP level boundary that orders the fewest DAG-unordered pairs.
 *
 * Every cut keeps all DAG edges, so the plan respects every dependency; on a
 * series-parallel DAG rule 4 never fires and the plan orders exactly the
 * pairs the DAG orders.
 */
export function planSchedule(dag: StepDag): PlanResult {
  const n = dag.ids.length;
  const { words, anc, desc, preds, succs } = dag;
  const stamp = new Int32Array(n);
  let epoch = 0;
  const level = new Int32Array(n);
  const height = new Int32Array(n);
  const ancCount = new Int32Array(n);
  const descCount = new Int32Array(n);
  const parent = new Int32Array(n);
  let addedOrderings = 0;
  let forcedCuts = 0;

  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };

  const plan = (set: Int32Array): SchedulePlan => {
    if (set.length === 1) return { kind: "step", id: dag.ids[set[0]!]! };
    const mark = ++epoch;
    for (const v of set) {
      stamp[v] = mark;
      parent[v] = v;
    }
    // Weakly connected components of the induced subgraph.
    let components = set.length;
    for (const v of set) {
      for (const p of preds[v]!) {
        if (stamp[p] !== mark) continue;
        const a = find(p);
        const b = find(v);
        if (a !== b) {
          parent[Math.max(a, b)] = Math.min(a, b);
          components--;
        }
      }
    }
    if (components > 1) {
      const groups = new Map<number, number[]>();
      for (const v of set) {
        const root = find(v);
        let g = groups.get(root);
        if (!g) groups.set(root, (g = []));
        g.push(v);
      }
      return { kind: "parallel", children: [...groups.values()].map((g) => plan(Int32Array.from(g))) };
    }
    return cut(set, mark);
  };

  const cut = (set: Int32Array, mark: number): SchedulePlan => {
    // ASAP level (longest path from a source of the set) and height (to a sink).
    let maxLevel = 0;
    for (const v of set) {
      let l = 0;
      for (const p of preds[v]!) if (stamp[p] === mark && level[p]! + 1 > l) l = level[p]! + 1;
      level[v] = l;
      if (l > maxLevel) maxLevel = l;
    }
    for (let i = set.length - 1; i >= 0; i--) {
      const v = set[i]!;
      let h = 0;
      for (const s of succs[v]!) if (stamp[s] === mark && height[s]! + 1 > h) h = height[s]! + 1;
      height[v] = h;
    }
    // Ancestors and descendants of each step inside the set.
    const lo = set[0]! >>> 5;
    const hi = set[set.length - 1]! >>> 5;
    const mask = new Uint32Array(hi - lo + 1);
    for (const v of set) mask[(v >>> 5) - lo]! |= 1 << (v & 31);
    for (const v of set) {
      const row = v * words;
      let a = 0;
      let d = 0;
      const vw = v >>> 5;
      for (let w = lo; w <= vw; w++) a += popcount(anc[row + w]! & mask[w - lo]!);
      for (let w = vw; w <= hi; w++) d += popcount(desc[row + w]! & mask[w - lo]!);
      ancCount[v] = a;
      descCount[v] = d;
    }
    // Pairs the cut after level L orders without the DAG asking for it, for
    // ASAP levels (key = level) and ALAP levels (key = maxLevel - height).
    const scoreCuts = (key: (v: number) => number) => {
      const sizes = new Float64Array(maxLevel + 1);
      const delta = new Float64Array(maxLevel + 1);
      for (const v of set) {
        const k = key(v);
        sizes[k]! += 1;
        delta[k]! += descCount[v]! - ancCount[v]!;
      }
      const forced = new Float64Array(maxLevel);
      let before = 0;
      let reach = 0;
      for (let l = 0; l < maxLevel; l++) {
        before += sizes[l]!;
        reach += delta[l]!;
        forced[l] = before * (set.length - before) - reach;
      }
      return { forced, sizes };
    };
    const asap = scoreCuts((v) => level[v]!);
    const seriesCuts: number[] = [];
    for (let l = 0; l < maxLevel; l++) if (asap.forced[l] === 0) seriesCuts.push(l);
    const split = (key: (v: number) => number, bounds: number[]): SchedulePlan[] => {
      const blocks: number[][] = Array.from({ length: bounds.length + 1 }, () => []);
      const blockOf = new Int32Array(maxLevel + 1);
      for (let k = 0, b = 0; k <= maxLevel; k++) {
        blockOf[k] = b;
        if (b < bounds.length && k === bounds[b]) b++;
      }
      for (const v of set) blocks[blockOf[key(v)]!]!.push(v);
      return blocks.map((block) => plan(Int32Array.from(block)));
    };
    if (seriesCuts.length > 0) {
      return series(split((v) => level[v]!, seriesCuts));
    }
    // Not series-parallel here: take the cheapest level cut.
    const alap = scoreCuts((v) => maxLevel - height[v]!);
    let best = { forced: Infinity, imbalance: Infinity, l: 0, alap: false };
    for (const [isAlap, scores] of [
      [false, asap],
      [true, alap],
    ] as const) {
      let before = 0;
      for (let l = 0; l < maxLevel; l++) {
        before += scores.sizes[l]!;
        const forced = scores.forced[l]!;
        const imbalance = Math.abs(set.length - 2 * before);
        if (forced < best.forced || (forced === best.forced && imbalance < best.imbalance)) {
          best = { forced, imbalance, l, alap: isAlap };
        }
      }
    }
    addedOrderings += best.forced;
    forcedCuts++;
    const key = best.alap ? (v: number) => maxLevel - height[v]! : (v: number) => level[v]!;
    return series(split(key, [best.l]));
  };

  const root = plan(Int32Array.from({ length: n }, (_, i) => i));
  let orderedPairs = 0;
  for (let v = 0; v < n; v++) {
    const row = v * words;
    for (let w = v >>> 5; w < words; w++) orderedPairs += popcount(desc[row + w]!);
  }
  return {
    plan: root,
    seriesParallel: forcedCuts === 0,
    addedOrderings,
    concurrentPairs: (n * (n - 1)) / 2 - orderedPairs,
    forcedCuts,
  };
}

function series(children: SchedulePlan[]): SchedulePlan {
  const flat: SchedulePlan[] = [];
  for (const child of children) {
    if (child.kind === "series") flat.push(...child.children);
    else flat.push(child);
  }
  return flat.length === 1 ? flat[0]! : { kind: "series", children: flat };
}

/**
 * Length of the plan's critical path: a step takes `duration(id)` (1 by
 * default), a series takes the sum of its children, a parallel the maximum.
 */
export function scheduleLength(plan: SchedulePlan, duration: (id: string) => number = () => 1): number {
  switch (plan.kind) {
    case "step":
      return duration(plan.id);
    case "series":
      return plan.children.reduce((sum, child) => sum + scheduleLength(child, duration), 0);
    case "parallel":
      return plan.children.reduce((max, child) => Math.max(max, scheduleLength(child, duration)), 0);
  }
}

/** Length of the DAG's critical path, with `duration(id)` per step (1 by default). */
export function criticalPathLength(dag: StepDag, duration: (id: string) => number = () => 1): number {
  const finish = new Float64Array(dag.ids.length);
  let longest = 0;
  for (let v = 0; v < dag.ids.length; v++) {
    let start = 0;
    for (const p of dag.preds[v]!) if (finish[p]! > start) start = finish[p]!;
    finish[v] = start + duration(dag.ids[v]!);
    if (finish[v]! > longest) longest = finish[v]!;
  }
  return longest;
}

/** A small binary min-heap of numbers (Kahn's algorithm in snapshot order). */
class MinHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= value) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = value;
  }
  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]! < a[l]! ? r : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
