import type { ArtifactRecord, RunRecord, StepRunRecord } from "@stackyard/core";
import type { DashboardSource, SnapshotSummary } from "../source.js";
import { mapIdsOf, readRunSteps } from "./map-steps.js";

/** One value on both sides; `same` compares their JSON. */
export interface ComparedValue {
  key: string;
  a: unknown;
  b: unknown;
  same: boolean;
}

/** One step on both sides (absent on a side whose pipeline has no such step). */
export interface ComparedStep {
  stepId: string;
  a: { status: string; durationMs: number | null; attempt: number; cached: boolean } | null;
  b: { status: string; durationMs: number | null; attempt: number; cached: boolean } | null;
}

/** One output's content hash on both sides. */
export interface ComparedOutput {
  stepId: string;
  output: string;
  a: { sha256: string; size: number } | null;
  b: { sha256: string; size: number } | null;
  same: boolean;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function values(a: Record<string, unknown>, b: Record<string, unknown>): ComparedValue[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.map((key) => ({ key, a: a[key] ?? null, b: b[key] ?? null, same: same(a[key], b[key]) }));
}

/** A run's config as the comparison shows it: the stack's components, the cache switch and each step's parameters. */
function config(run: RunRecord, snapshot: SnapshotSummary | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { stack: run.stack, orchestrator: run.orchestrator };
  if (!snapshot) return out;
  out.enable_cache = snapshot.enableCache;
  for (const [type, c] of Object.entries(snapshot.stack.components)) out[type] = `${c.name} (${c.flavor})`;
  for (const step of snapshot.steps) for (const [k, v] of Object.entries(step.parameters)) out[`${step.id}.${k}`] = v;
  return out;
}

function durationMs(step: StepRunRecord): number | null {
  return step.started && step.ended ? Date.parse(step.ended) - Date.parse(step.started) : null;
}

interface Side {
  run: RunRecord;
  snapshot: SnapshotSummary | undefined;
  steps: StepRunRecord[];
  artifacts: Map<string, ArtifactRecord>;
}

async function side(source: DashboardSource, run: RunRecord): Promise<Side> {
  const [snapshot, artifacts] = await Promise.all([source.getSnapshot(run), source.listArtifacts(run.id, { items: false })]);
  // A map step compares as one step: its items stay out.
  const { steps } = await readRunSteps(source, run.id, mapIdsOf(snapshot));
  const byId = new Map(artifacts.map((a) => [a.id, a]));
  // A cached step's outputs were recorded by the run it reused them from.
  for (const runId of new Set(steps.flatMap((s) => (s.cachedFrom ? [s.cachedFrom.runId] : [])))) {
    for (const a of await source.listArtifacts(runId, { items: false })) byId.set(a.id, a);
  }
  return { run, snapshot, steps, artifacts: byId };
}

/**
 * Two runs side by side: pipeline parameters, config (stack, cache, step
 * parameters), each step's status and duration, and each output's sha256.
 * Steps follow the order of the first run's snapshot, then any the second
 * run alone has; a map step's items are not listed.
 */
export async function compareRuns(source: DashboardSource, runA: RunRecord, runB: RunRecord) {
  const [a, b] = await Promise.all([side(source, runA), side(source, runB)]);
  const order = [
    ...new Set([
      ...(a.snapshot?.steps.map((s) => s.id) ?? []),
      ...a.steps.map((s) => s.stepId),
      ...(b.snapshot?.steps.map((s) => s.id) ?? []),
      ...b.steps.map((s) => s.stepId),
    ]),
  ];
  const stepOf = (s: Side, id: string) => s.steps.find((x) => x.stepId === id);
  const view = (step: StepRunRecord | undefined) =>
    step ? { status: step.status, durationMs: durationMs(step), attempt: step.attempt, cached: step.cachedFrom !== undefined } : null;
  const outputs: ComparedOutput[] = [];
  for (const stepId of order) {
    const sa = stepOf(a, stepId);
    const sb = stepOf(b, stepId);
    const names = [...new Set([...Object.keys(sa?.outputs ?? {}), ...Object.keys(sb?.outputs ?? {})])].sort();
    for (const output of names) {
      const art = (s: Side, step: StepRunRecord | undefined) => {
        const record = step?.outputs[output] ? s.artifacts.get(step.outputs[output]) : undefined;
        return record ? { sha256: record.sha256, size: record.size } : null;
      };
      const oa = art(a, sa);
      const ob = art(b, sb);
      outputs.push({ stepId, output, a: oa, b: ob, same: oa !== null && ob !== null && oa.sha256 === ob.sha256 });
    }
  }
  const { pid: _pa, host: _ha, ...publicA } = runA;
  const { pid: _pb, host: _hb, ...publicB } = runB;
  return {
    a: publicA,
    b: publicB,
    parameters: values(a.snapshot?.pipeline.parameters ?? {}, b.snapshot?.pipeline.parameters ?? {}),
    config: values(config(runA, a.snapshot), config(runB, b.snapshot)),
    steps: order.map((stepId): ComparedStep => ({ stepId, a: view(stepOf(a, stepId)), b: view(stepOf(b, stepId)) })),
    outputs,
  };
}
