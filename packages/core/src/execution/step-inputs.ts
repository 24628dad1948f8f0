import { createHash } from "node:crypto";
import type { BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import { StepFailedError } from "../errors/errors.js";
import { createArtifactReader, loadChecked } from "../materializers/artifact-io.js";
import { type MaterializerImporter, resolveMaterializer } from "../materializers/registry.js";
import type { PipelineSnapshot, SnapshotStep } from "../pipeline/snapshot.js";
import type { ArtifactRecord, RunStore, StepRunRecord } from "../store/run-store.js";
import { canonicalJson } from "./cache-key.js";
import { elementIndices, itemCount, itemId } from "./map-items.js";

/**
 * Output artifacts of the steps of one run that finished in this process,
 * by step id and output name, and the lists map steps go over, by artifact
 * id. Shared by the steps of a run so that a downstream step need not read
 * its inputs back from the store, nor each item of a map the whole list.
 */
export interface RunMemo {
  readonly outputs: Map<string, Readonly<Record<string, ArtifactRecord>>>;
  readonly lists?: Map<string, Promise<readonly unknown[]>>;
}

/** An empty {@link RunMemo}, one per run. */
export function createRunMemo(): RunMemo {
  return { outputs: new Map(), lists: new Map() };
}

/** What resolving a step's inputs needs. */
export interface StepInputContext {
  snapshot: PipelineSnapshot;
  runId: string;
  store: RunStore;
  artifactStore: BaseArtifactStore;
  memo?: RunMemo | undefined;
  sourceRoot?: string | undefined;
  importModule?: MaterializerImporter | undefined;
}

/** One input of a step run, as resolved: an artifact, an element of a mapped list, or the items of a map step collected. */
export type ResolvedInput =
  | { kind: "one"; artifact: ArtifactRecord }
  | { kind: "element"; artifact: ArtifactRecord; index: number; value: unknown }
  | { kind: "collect"; artifacts: ArtifactRecord[] };

/** What a map step goes over in one mapped input: the values of a list artifact, or the artifacts of a collected map. */
export type MappedList = { kind: "values"; artifact: ArtifactRecord; values: readonly unknown[] } | { kind: "artifacts"; artifacts: ArtifactRecord[] };

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function materializerOptions(ctx: { sourceRoot?: string | undefined; importModule?: MaterializerImporter | undefined }): {
  sourceRoot?: string;
  importModule?: MaterializerImporter;
} {
  const out: { sourceRoot?: string; importModule?: MaterializerImporter } = {};
  if (ctx.sourceRoot !== undefined) out.sourceRoot = ctx.sourceRoot;
  if (ctx.importModule !== undefined) out.importModule = ctx.importModule;
  return out;
}

const lengthOf = (list: MappedList): number => (list.kind === "values" ? list.values.length : list.artifacts.length);

/**
 * The inputs of step `spec` (item `item` of it when it is a map step), from
 * the run's memo when the upstream step ran in this process, else from the store.
 *
 * @throws StepFailedError naming the input when an upstream output is missing, or a mapped one is not a list.
 */
export async function resolveStepInputs(
  spec: SnapshotStep,
  stepId: string,
  item: number | undefined,
  ctx: StepInputContext,
): Promise<Record<string, ResolvedInput>> {
  const inputs: Record<string, ResolvedInput> = {};
  for (const [key, external] of Object.entries(spec.external ?? {})) {
    if (!external.artifact) {
      throw new StepFailedError(stepId, `Input '${key}' of step '${stepId}' (artifact '${external.name}') was not resolved when run ${ctx.runId} started`);
    }
    inputs[key] = { kind: "one", artifact: external.artifact };
  }
  const mapped = item === undefined || !spec.map ? undefined : await mappedLists(spec, ctx);
  const indices = mapped ? elementIndices(spec.map!, lengthsOf(mapped), item!) : undefined;
  if (mapped && item! >= itemCount(spec.id, spec.map!, lengthsOf(mapped))) {
    throw new StepFailedError(
      stepId,
      `Map step '${spec.id}' has no item ${item} in run ${ctx.runId} (it has ${itemCount(spec.id, spec.map!, lengthsOf(mapped))})`,
    );
  }
  const fromStore = new Map<string, StepRunRecord | undefined>();
  for (const [key, wiring] of Object.entries(spec.inputs)) {
    const list = mapped?.[key];
    if (list) {
      const index = indices![key]!;
      inputs[key] =
        list.kind === "values"
          ? { kind: "element", artifact: list.artifact, index, value: list.values[index] }
          : { kind: "one", artifact: list.artifacts[index]! };
    } else if (wiring.collect) {
      inputs[key] = { kind: "collect", artifacts: await collectedArtifacts(wiring.step, wiring.output, ctx) };
    } else {
      inputs[key] = { kind: "one", artifact: await upstreamArtifact(key, wiring, stepId, ctx, fromStore) };
    }
  }
  return inputs;
}

async function upstreamArtifact(
  key: string,
  wiring: { step: string; output: string },
  stepId: string,
  ctx: StepInputContext,
  fromStore: Map<string, StepRunRecord | undefined>,
): Promise<ArtifactRecord> {
  let artifact = ctx.memo?.outputs.get(wiring.step)?.[wiring.output];
  if (!artifact) {
    if (!fromStore.has(wiring.step)) fromStore.set(wiring.step, await ctx.store.getStepRun(ctx.runId, wiring.step));
    const artifactId = fromStore.get(wiring.step)?.outputs[wiring.output];
    artifact = artifactId === undefined ? undefined : await ctx.store.getArtifact(artifactId);
  }
  if (!artifact) {
    throw new StepFailedError(
      stepId,
      `Input '${key}' of step '${stepId}' needs output '${wiring.output}' of step '${wiring.step}', which run ${ctx.runId} has not produced`,
    );
  }
  return artifact;
}

function lengthsOf(lists: Readonly<Record<string, MappedList>>): Record<string, number> {
  return Object.fromEntries(Object.entries(lists).map(([key, list]) => [key, lengthOf(list)]));
}

/**
 * The lists a map step goes over, by mapped input: loaded once per run and
 * process (the run's memo keeps them), so its items need not each read them.
 */
export async function mappedLists(spec: SnapshotStep, ctx: StepInputContext): Promise<Record<string, MappedList>> {
  const lists: Record<string, MappedList> = {};
  const fromStore = new Map<string, StepRunRecord | undefined>();
  for (const key of spec.map?.inputs ?? []) {
    const wiring = spec.inputs[key]!;
    if (wiring.collect) {
      lists[key] = { kind: "artifacts", artifacts: await collectedArtifacts(wiring.step, wiring.output, ctx) };
      continue;
    }
    const artifact = await upstreamArtifact(key, wiring, spec.id, ctx, fromStore);
    let values = ctx.memo?.lists?.get(artifact.id);
    if (!values) {
      values = loadList(artifact, key, wiring, spec.id, ctx);
      ctx.memo?.lists?.set(artifact.id, values);
    }
    lists[key] = { kind: "values", artifact, values: await values };
  }
  return lists;
}

async function loadList(artifact: ArtifactRecord, key: string, wiring: { step: string; output: string }, stepId: string, ctx: StepInputContext) {
  const materializer = await resolveMaterializer(artifact.materializer, materializerOptions(ctx));
  let value: unknown;
  try {
    value = await loadChecked(materializer, createArtifactReader(ctx.artifactStore, artifact.uri, artifact));
  } catch (error) {
    throw new StepFailedError(stepId, `Map step '${stepId}' could not load the list of input '${key}' from ${artifact.uri}: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (!Array.isArray(value)) {
    throw new StepFailedError(
      stepId,
      `Map step '${stepId}' maps input '${key}' over output '${wiring.output}' of step '${wiring.step}', which is not a list (it holds ${value === null ? "null" : typeof value})`,
    );
  }
  return value as readonly unknown[];
}

/** The number of items of map step `spec` in this run. */
export async function mapItemCount(spec: SnapshotStep, ctx: StepInputContext): Promise<number> {
  return itemCount(spec.id, spec.map!, lengthsOf(await mappedLists(spec, ctx)));
}

/**
 * The artifacts of output `output` of the items of map step `mapStepId`
 * that succeeded, in item order: what a `collect()` input receives.
 */
export async function collectedArtifacts(mapStepId: string, output: string, ctx: StepInputContext): Promise<ArtifactRecord[]> {
  const spec = ctx.snapshot.steps.find((s) => s.id === mapStepId);
  if (!spec?.map) throw new StepFailedError(mapStepId, `Step '${mapStepId}' is not a map step of snapshot ${ctx.snapshot.id}`);
  const count = await mapItemCount(spec, ctx);
  const artifacts: ArtifactRecord[] = [];
  for (let i = 0; i < count; i++) {
    const id = itemId(mapStepId, i);
    let artifact = ctx.memo?.outputs.get(id)?.[output];
    if (!artifact) {
      const record = await ctx.store.getStepRun(ctx.runId, id);
      if (!record || (record.status !== "completed" && record.status !== "cached")) continue; // a failed item the map tolerated
      const artifactId = record.outputs[output];
      artifact = artifactId === undefined ? undefined : await ctx.store.getArtifact(artifactId);
      if (!artifact) throw new StepFailedError(mapStepId, `Item '${id}' of run ${ctx.runId} completed without its output '${output}'`);
    }
    artifacts.push(artifact);
  }
  return artifacts;
}

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * What goes into a step's cache key per input: the content hash and
 * materializer of an artifact; for a mapped element, the hash of the element
 * itself (so an item whose element did not change is reused when others
 * did); for a collected list, the hashes of its items in order.
 */
export function cacheKeyInputs(inputs: Readonly<Record<string, ResolvedInput>>): Record<string, { sha256: string; materializer: string }> {
  const out: Record<string, { sha256: string; materializer: string }> = {};
  for (const [key, input] of Object.entries(inputs)) {
    if (input.kind === "one") out[key] = input.artifact;
    else if (input.kind === "element") out[key] = { sha256: sha256(elementText(input)), materializer: `${input.artifact.materializer}[]` };
    else out[key] = { sha256: sha256(input.artifacts.map((a) => `${a.sha256}:${a.materializer}`).join(",")), materializer: "collect" };
  }
  return out;
}

function elementText(input: { artifact: ArtifactRecord; index: number; value: unknown }): string {
  try {
    const text = canonicalJson(input.value);
    if (text !== undefined) return text;
  } catch {
    // Not JSON (a custom materializer's value): fall back to the list and the position.
  }
  return `${input.artifact.sha256}#${input.index}`;
}

/** Input name to the id of the artifact consumed (`name[i]` for each item of a collected input), as a step run records it. */
export function consumedArtifactIds(inputs: Readonly<Record<string, ResolvedInput>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, input] of Object.entries(inputs)) {
    if (input.kind !== "collect") out[key] = input.artifact.id;
    else for (const [i, artifact] of input.artifacts.entries()) out[`${key}[${i}]`] = artifact.id;
  }
  return out;
}

/** URIs of every artifact a step's inputs read: what its confined artifact store lets it read. */
export function inputUris(inputs: Readonly<Record<string, ResolvedInput>>): string[] {
  return Object.values(inputs).flatMap((input) => (input.kind === "collect" ? input.artifacts.map((a) => a.uri) : [input.artifact.uri]));
}

/** The values a step function receives, loaded through their materializers and checked against their hashes. */
export async function loadStepInputs(inputs: Readonly<Record<string, ResolvedInput>>, stepId: string, ctx: StepInputContext): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const [key, input] of Object.entries(inputs)) {
    if (input.kind === "element") values[key] = structuredCloneIfPossible(input.value);
    else if (input.kind === "one") values[key] = await loadOne(key, input.artifact, stepId, ctx);
    else {
      const list: unknown[] = [];
      for (const artifact of input.artifacts) list.push(await loadOne(key, artifact, stepId, ctx));
      values[key] = list;
    }
  }
  return values;
}

/** Items of one map share the loaded list: each gets its own copy of its element. */
function structuredCloneIfPossible(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

async function loadOne(key: string, artifact: ArtifactRecord, stepId: string, ctx: StepInputContext): Promise<unknown> {
  const materializer = await resolveMaterializer(artifact.materializer, materializerOptions(ctx));
  try {
    return await loadChecked(materializer, createArtifactReader(ctx.artifactStore, artifact.uri, artifact));
  } catch (error) {
    throw new StepFailedError(
      stepId,
      `Input '${key}' of step '${stepId}' could not be loaded from ${artifact.uri} with materializer '${artifact.materializer}': ${errorText(error)}`,
      { cause: error },
    );
  }
}
