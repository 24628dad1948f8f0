import type { ArtifactRecord, RunRecord } from "@stackyard/core";
import type { DashboardSource } from "../source.js";
import { mapIdsOf, readRunSteps } from "./map-steps.js";

/** Largest JSON output read for a chart value: a number is a few bytes. */
const SCALAR_BYTES = 64;

/** One run of a pipeline as its chart plots it. */
export interface SeriesPoint {
  id: string;
  name: string;
  status: string;
  created: string;
  durationMs: number | null;
  /**
   * Numeric values by key: `meta:<key>` for numeric run metadata (e.g. `meta:accuracy`),
   * `param:<name>` for pipeline parameters, `output:<step>.<output>` for JSON number outputs.
   */
  values: Record<string, number>;
}

/** A run's numeric metadata, pipeline parameters and JSON number outputs (cached outputs read from the run that made them), map items left out. */
async function numericValues(source: DashboardSource, run: RunRecord): Promise<Record<string, number>> {
  const values: Record<string, number> = {};
  for (const [key, value] of Object.entries(run.metadata ?? {})) if (typeof value === "number" && Number.isFinite(value)) values[`meta:${key}`] = value;
  const snapshot = await source.getSnapshot(run);
  // A map's items are no chart values: 10,000 of them would be 10,000 reads per run.
  const { steps } = await readRunSteps(source, run.id, mapIdsOf(snapshot));
  for (const [key, value] of Object.entries(snapshot?.pipeline.parameters ?? {})) if (typeof value === "number") values[`param:${key}`] = value;
  if (!source.readOutput) return values;
  const artifacts = new Map<string, ArtifactRecord>();
  for (const runId of new Set([run.id, ...steps.flatMap((s) => (s.cachedFrom ? [s.cachedFrom.runId] : []))])) {
    for (const a of await source.listArtifacts(runId, { items: false })) artifacts.set(a.id, a);
  }
  for (const step of steps) {
    for (const [output, artifactId] of Object.entries(step.outputs)) {
      const artifact = artifacts.get(artifactId);
      if (artifact?.materializer !== "json" || artifact.dataType !== "number" || artifact.size > SCALAR_BYTES) continue;
      const producer = artifact.runId === run.id ? run : await source.getRun(artifact.runId);
      const head = producer && (await source.readOutput(producer, artifact, SCALAR_BYTES).catch(() => undefined));
      if (!head) continue;
      const value = Number(JSON.parse(Buffer.from(head.bytes).toString("utf8")));
      if (Number.isFinite(value)) values[`output:${step.stepId}.${output}`] = value;
    }
  }
  return values;
}

/**
 * A pipeline's newest `limit` runs, oldest first, each with its duration and
 * numeric values, and the keys of the values some run has (for the chart's menu).
 */
export async function pipelineSeries(source: DashboardSource, pipeline: string, limit: number) {
  const runs = (await source.listRuns({ pipeline, limit, offset: 0 })).reverse();
  const points: SeriesPoint[] = [];
  for (const run of runs) {
    points.push({
      id: run.id,
      name: run.name,
      status: run.status,
      created: run.created,
      durationMs: run.started && run.ended ? Date.parse(run.ended) - Date.parse(run.started) : null,
      values: await numericValues(source, run),
    });
  }
  // Run metadata first (what a user logs to compare runs by), then outputs, then parameters.
  const rank = (key: string) => (key.startsWith("meta:") ? 0 : key.startsWith("output:") ? 1 : 2);
  const metrics = [...new Set(points.flatMap((p) => Object.keys(p.values)))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return { pipeline, runs: points, metrics };
}
