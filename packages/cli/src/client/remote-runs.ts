import {
  ArtifactStoreRunStore,
  asRemoteRunLister,
  type BaseArtifactStore,
  type BaseOrchestrator,
  isFinalStatus,
  MAP_METADATA_KEY,
  MapProgressReader,
  type PipelineSnapshot,
  type RemoteRun,
  type RunRecord,
  type RunStatus,
  readStepState,
  recordStepResult,
  type Stack,
  type StepResultFile,
  type StepRunRecord,
  unfinishedStepStatus,
} from "@stackyard/core";
import { instantiateComponent } from "../flavors/load-component.js";
import { FlavorRegistry } from "../flavors/registry.js";
import type { Project } from "../store/open-project.js";
import type { SqliteRunStore } from "../store/sqlite-run-store.js";
import { readSnapshot } from "./remote-step.js";

/** How long a look at the orchestrator may take by default; `STACKYARD_REMOTE_TIMEOUT_MS` sets another. */
export const DEFAULT_REMOTE_TIMEOUT_MS = 5000;

/** The time bound of a look at the orchestrator: `STACKYARD_REMOTE_TIMEOUT_MS` when it is a whole number of milliseconds, else the default. */
export function remoteTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.STACKYARD_REMOTE_TIMEOUT_MS?.trim();
  return raw && /^\d+$/.test(raw) && Number(raw) > 0 ? Number(raw) : DEFAULT_REMOTE_TIMEOUT_MS;
}

/** Runs recorded here as still going, beyond the listing's reach, asked about on one look at most. */
const STILL_GOING_LIMIT = 50;

/** What {@link syncRemoteRuns} did. */
export interface RemoteSyncResult {
  /** Runs new to this store, recorded now. */
  imported: number;
  /** Runs whose status changed. */
  updated: number;
  /** Said once when the orchestrator could not be asked in time (naming it and the error). */
  warning?: string | undefined;
  /** The orchestrator ran out of time: what it found is recorded, the next look finds the rest. */
  partial?: boolean | undefined;
  /** Runs of the page to show whose details could not be read in time (they are not shown; the next look reads them). */
  undescribed?: number | undefined;
}

/** The runs `runs list` shows: their details are read (when the orchestrator listed them without) before they are shown. */
export interface RemoteShowQuery {
  limit: number;
  pipeline?: string | undefined;
  status?: RunStatus | undefined;
  tag?: string | undefined;
}

/** Options of {@link syncRemoteRuns}. */
export interface RemoteSyncOptions {
  /** The stack whose orchestrator is asked (default: the active stack). */
  stack?: string | undefined;
  /** Milliseconds the look may take once the components are loaded (default {@link remoteTimeoutMs}). */
  timeoutMs?: number | undefined;
  /** Read the step records of at most this many of the newest new or changed runs now (the others when described). Default 50. */
  stepsFor?: number | undefined;
  /** The page `runs list` shows: runs on it recorded from the orchestrator's listing alone are described now. */
  show?: RemoteShowQuery | undefined;
  /** A run id or name asked for (`runs describe`, `logs`): described now when it is recorded without details, or looked for among those runs. */
  lookFor?: string | undefined;
}

/** Access keys and secrets never reach the terminal, even inside an SDK's error message. */
function redact(text: string): string {
  let out = text.replace(/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, "[redacted]");
  for (const name of ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"]) {
    const value = process.env[name];
    if (value && value.length >= 8) out = out.split(value).join("[redacted]");
  }
  return out;
}

/** What {@link loadListingStack} made. */
interface ListingStack {
  /** The orchestrator, and the artifact store once {@link ListingStack.artifactStore} loaded it (reading it before throws). */
  stack: Stack;
  orchestratorId: string;
  /** Makes the artifact store, once: only when something is to be read from it (an unchanged listing reads nothing). */
  artifactStore(): Promise<BaseArtifactStore>;
}

/**
 * A stack's orchestrator, made, with its artifact store made on first use
 * (nothing else of the stack is loaded). Undefined when the stack has no
 * orchestrator that lists runs.
 */
async function loadListingStack(project: Project, stackName: string): Promise<ListingStack | undefined> {
  const row = project.config.getStack(stackName);
  const orchestratorId = row.components.orchestrator;
  const artifactStoreId = row.components.artifact_store;
  if (!orchestratorId || !artifactStoreId) return undefined;
  const orchestratorRow = project.config.getComponentById(orchestratorId);
  const artifactStoreRow = project.config.getComponentById(artifactStoreId);
  if (!orchestratorRow || !artifactStoreRow) return undefined;
  const registry = new FlavorRegistry(project.config, project.paths.sourceRoot);
  const orchestrator = await instantiateComponent<BaseOrchestrator>(project, orchestratorRow, registry);
  if (!orchestrator.listRuns) return undefined;
  let made: BaseArtifactStore | undefined;
  let making: Promise<BaseArtifactStore> | undefined;
  const stack = {
    name: stackName,
    orchestrator,
    get artifactStore(): BaseArtifactStore {
      if (!made) throw new Error(`The artifact store of stack '${stackName}' is not loaded while its runs are listed`);
      return made;
    },
  } as Stack;
  return {
    stack,
    orchestratorId,
    artifactStore: async () => {
      making ??= instantiateComponent<BaseArtifactStore>(project, artifactStoreRow, registry);
      made = await making;
      return made;
    },
  };
}

/**
 * The snapshot as this project reads it: its stack's components are this
 * stack's (by type), so that the run's artifact store and orchestrator load
 * from this project's components (ids differ between projects).
 */
function localiseSnapshot(project: Project, stackName: string, snapshot: PipelineSnapshot): PipelineSnapshot {
  const ids = project.config.getStack(stackName).components;
  const components = { ...snapshot.stack.components };
  for (const [type, component] of Object.entries(components)) {
    const id = (ids as Record<string, string | undefined>)[type];
    const row = id ? project.config.getComponentById(id) : undefined;
    if (component && row) components[type as keyof typeof components] = { ...component, id: row.id, name: row.name };
  }
  return { ...snapshot, stack: { ...snapshot.stack, name: stackName, components } };
}

/** Rejects after `ms`, aborting `controller`. */
function deadline(ms: number, controller: AbortController, what: string): { promise: Promise<never>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`${what} did not answer within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  void promise.catch(() => {});
  return { promise, clear: () => clearTimeout(timer) };
}

/**
 * Asks the stack's orchestrator (when it lists runs: `listRuns`) for the
 * runs this store does not know or knows with another status, and records
 * them: a new run from its execution (name, status, times, origin) and the
 * snapshot it names in the artifact store (pipeline, steps); a changed run's
 * status and end. An orchestrator that lists runs without their details
 * (`detailsPending`, Step Functions) has them recorded from the listing
 * alone, not shown until described: only the runs of the page to show
 * ({@link RemoteSyncOptions.show}) or the run asked for
 * ({@link RemoteSyncOptions.lookFor}) are described now (`describeRuns`);
 * an execution found not to be Stackyard's is dropped and never shown.
 * The step records the runs' containers wrote into the
 * artifact store are copied for the newest of them ({@link RemoteSyncOptions.stepsFor});
 * the others' when they are described. Bounded in time (from once the
 * orchestrator and artifact store are loaded): the orchestrator is asked to
 * stop at 60% of it and what it found is recorded; when it cannot be asked
 * in time, resolves with a warning and records nothing more.
 */
export async function syncRemoteRuns(project: Project, store: SqliteRunStore, options: RemoteSyncOptions = {}): Promise<RemoteSyncResult> {
  const stackName = options.stack ?? project.config.activeStackName();
  const timeoutMs = options.timeoutMs ?? remoteTimeoutMs();
  let label = `the orchestrator of stack '${stackName}'`;
  // Loading the components is this machine's work, not the look: the time bound starts after it
  // (and an import is never cut short, which would leave the process unable to exit cleanly).
  let loaded: Awaited<ReturnType<typeof loadListingStack>>;
  try {
    loaded = await loadListingStack(project, stackName);
  } catch (error) {
    return {
      imported: 0,
      updated: 0,
      warning: `Could not load ${label}: ${redact((error as Error).message ?? String(error))}. Showing the runs recorded here.`,
    };
  }
  if (!loaded) return { imported: 0, updated: 0 };
  const started = Date.now();
  const controller = new AbortController();
  const timer = deadline(timeoutMs, controller, "it");
  try {
    const { stack, orchestratorId } = loaded;
    // Made when first needed: an unchanged listing never loads it (nor its SDK).
    const artifactStore = () => loaded.artifactStore();
    label = `orchestrator '${stack.orchestrator.name}' (${stack.orchestrator.flavor})`;
    const lister = asRemoteRunLister(stack.orchestrator as BaseOrchestrator<unknown>)!;
    const known = store.knownOrchestratorRuns();
    // The orchestrator is asked to stop at 60% of the time, so that what it found in time is recorded in the rest.
    const ask = new AbortController();
    controller.signal.addEventListener("abort", () => ask.abort(controller.signal.reason), { once: true });
    const soft = setTimeout(
      () => ask.abort(new Error(`it did not answer within ${Math.round(timeoutMs * 0.6)} ms`)),
      Math.max(0, timeoutMs * 0.6 - (Date.now() - started)),
    );
    let remote: RemoteRun[];
    try {
      remote = await Promise.race([
        lister.listRuns({ known: (arn) => known.get(arn)?.status as RunStatus | undefined, signal: ask.signal }, { stack, store }),
        timer.promise,
      ]);
    } finally {
      clearTimeout(soft);
    }
    let partial = ask.signal.aborted;
    const fresh = remote.filter((r) => !known.has(r.orchestratorRunId));
    const changed = remote.filter((r) => known.has(r.orchestratorRunId));
    const snapshots = new Map<string, PipelineSnapshot | undefined>();
    const snapshotOf = async (uri: string | undefined): Promise<PipelineSnapshot | undefined> => {
      if (!uri) return undefined;
      if (!snapshots.has(uri)) {
        const snapshot = await Promise.race([
          artifactStore()
            .then((as) => readSnapshot(as, uri))
            .catch(() => undefined),
          timer.promise,
        ]);
        const local = snapshot && localiseSnapshot(project, stackName, snapshot);
        if (local) await store.saveSnapshot(local, uri);
        snapshots.set(uri, local);
      }
      return snapshots.get(uri);
    };
    for (const r of fresh) if (!r.detailsPending) await snapshotOf(r.snapshotUri);
    const records = fresh.map((r) => runRecordOf(r, stackName, stack.orchestrator.name, r.detailsPending ? undefined : snapshots.get(r.snapshotUri ?? "")));
    const pendingIds = new Set(fresh.filter((r) => r.detailsPending).map((r) => r.runId));
    let imported = store.importRuns(records, undefined, pendingIds);
    let updated = 0;
    const toRead: RunRecord[] = records.filter((r) => !pendingIds.has(r.id));
    /** Records a known run's new status and end; its steps are read again. */
    const statusChanged = async (id: string, r: RemoteRun) => {
      await store.updateRun(id, { status: r.status, ...(r.ended ? { ended: r.ended } : {}) });
      store.setStepsPending(id, true);
      updated++;
      const run = await store.getRun(id);
      if (run && !store.importedRun(run.id)?.detailsPending) toRead.push(run);
    };
    for (const r of changed) {
      const mine = known.get(r.orchestratorRunId)!;
      if (mine.foreign) {
        store.updateForeignStatus(r.orchestratorRunId, r.status);
        continue;
      }
      // A run this machine drives records itself.
      if (mine.pid) continue;
      await statusChanged(mine.id, r);
    }
    // Runs recorded from the listing alone are described when they are to be shown or asked for
    // (DescribeExecution is one call per run: a long history is never described all at once).
    let undescribed = 0;
    if (lister.describeRuns && (options.show || options.lookFor !== undefined)) {
      const describer = new AbortController();
      controller.signal.addEventListener("abort", () => describer.abort(controller.signal.reason), { once: true });
      const stop = setTimeout(() => describer.abort(new Error("out of time")), Math.max(0, timeoutMs * 0.7 - (Date.now() - started)));
      try {
        const describe = async (ids: readonly string[]): Promise<number> => {
          const runs = (await Promise.all(ids.map((id) => store.getRun(id)))).filter((r): r is RunRecord => !!r?.orchestratorRunId);
          const byArn = new Map(runs.map((r) => [r.orchestratorRunId!, r]));
          const found = await lister.describeRuns!([...byArn.keys()], { stack, signal: describer.signal }).catch((error: unknown) => {
            if (describer.signal.aborted) return new Map<string, RemoteRun | null>();
            throw error;
          });
          for (const [arn, details] of found) {
            const run = byArn.get(arn);
            if (!run) continue;
            if (details === null) {
              store.markForeign(run.id, arn, stackName, run.status);
              if (pendingIds.has(run.id)) imported--;
              continue;
            }
            const { id: _, ...record } = runRecordOf(
              { ...details, runId: run.id, started: details.started || run.started || run.created },
              stackName,
              stack.orchestrator.name,
              await snapshotOf(details.snapshotUri),
            );
            await store.completeDetails(run.id, { tags: [], ...record });
            const now = await store.getRun(run.id);
            if (now) toRead.push(now);
          }
          return found.size;
        };
        if (options.show) {
          // The listing stops at its first page with nothing new or changed: a run recorded here as
          // still going that is older than that page is asked about on its own, so it does not stay
          // running here after it ended.
          const listed = new Set(remote.map((r) => r.orchestratorRunId));
          const going = [...known]
            .filter(([arn, k]) => !listed.has(arn) && !k.foreign && !k.pid && !isFinalStatus(k.status as RunStatus))
            .slice(0, STILL_GOING_LIMIT);
          if (going.length) {
            const found = await lister
              .describeRuns(
                going.map(([arn]) => arn),
                { stack, signal: describer.signal },
              )
              .catch(() => new Map());
            for (const [arn, details] of found as Map<string, RemoteRun | null>) {
              const mine = known.get(arn);
              if (mine && details && details.status !== mine.status) await statusChanged(mine.id, details);
            }
          }
          const query = { ...options.show, withPendingDetails: true };
          for (;;) {
            const page = await store.listRuns(query);
            const ids = store.pendingDetails(page.map((r) => r.id));
            if (!ids.length) break;
            if (describer.signal.aborted || !(await describe(ids))) {
              undescribed = ids.length;
              break;
            }
          }
        }
        if (options.lookFor !== undefined) {
          const asked = await store.getRun(options.lookFor);
          if (asked) {
            if (store.importedRun(asked.id)?.detailsPending) await describe([asked.id]);
          } else {
            // Asked by name: the runs not yet described are looked through, newest first, until it is found.
            for (let ids = store.pendingDetails().slice(0, 64); ids.length; ids = store.pendingDetails().slice(0, 64)) {
              if (describer.signal.aborted || !(await describe(ids))) break;
              if (await store.getRun(options.lookFor)) break;
            }
          }
        }
      } finally {
        clearTimeout(stop);
      }
      partial ||= undescribed > 0;
    }
    // Step records of the newest runs, while time is left; the others' when described.
    toRead.sort((a, b) => (b.started ?? b.created).localeCompare(a.started ?? a.created));
    // (Out of time here is no failure: the runs are recorded, the steps of the others are read when described.)
    const reading = toRead.slice(0, options.stepsFor ?? 50).filter((run) => store.importedRun(run.id));
    let next = 0;
    const reader = async () => {
      for (let i = next++; i < reading.length && Date.now() - started < timeoutMs * 0.8; i = next++) {
        await importSteps(store, await artifactStore(), reading[i]!);
      }
    };
    await Promise.race([Promise.all(Array.from({ length: Math.min(8, reading.length) }, reader)), timer.promise]).catch(() => {});
    store.recordRemoteSync(stackName, orchestratorId, { imported, updated });
    return { imported, updated, ...(partial ? { partial } : {}), ...(undescribed ? { undescribed } : {}) };
  } catch (error) {
    const message = redact((error as Error).message ?? String(error));
    return { imported: 0, updated: 0, warning: `Could not list the runs of ${label}: ${message}. Showing the runs recorded here.` };
  } finally {
    timer.clear();
    controller.abort();
  }
}

/** A new remote run's record. */
function runRecordOf(remote: RemoteRun, stackName: string, orchestratorName: string, snapshot: PipelineSnapshot | undefined): RunRecord {
  const snapshotId = snapshot?.id ?? /snapshots\/([^/]+)\.json$/.exec(remote.snapshotUri ?? "")?.[1] ?? "";
  return {
    id: remote.runId,
    name: remote.runName ?? remote.runId,
    pipeline: snapshot?.pipeline.name ?? remote.pipeline ?? remote.deployment ?? "(unknown)",
    snapshotId,
    snapshotUri: remote.snapshotUri ?? "",
    stack: stackName,
    orchestrator: orchestratorName,
    status: remote.status,
    orchestratorRunId: remote.orchestratorRunId,
    created: remote.started,
    started: remote.started,
    ...(remote.ended ? { ended: remote.ended } : {}),
    ...(snapshot?.tags?.length ? { tags: [...snapshot.tags] } : {}),
    ...(remote.deployment !== undefined ? { deployment: remote.deployment } : {}),
    ...(remote.deploymentVersion !== undefined ? { deploymentVersion: remote.deploymentVersion } : {}),
    ...(remote.schedule !== undefined ? { schedule: remote.schedule } : {}),
  };
}

/**
 * A step's record as its container wrote it in the artifact store: its result
 * file once over (see `readStepState`), else whatever record it has, as a
 * record still to be settled.
 */
async function readStep(
  artifactStore: BaseArtifactStore,
  records: ArtifactStoreRunStore,
  runId: string,
  stepId: string,
): Promise<{ file?: StepResultFile; live?: StepRunRecord }> {
  const state = await readStepState(artifactStore, runId, stepId);
  if (state.file || state.live) return state;
  const step = await records.getStepRun(runId, stepId).catch(() => undefined);
  return step ? { live: step } : {};
}

/**
 * Copies an imported run's step records from the artifact store (what the
 * step containers wrote: results with their artifacts, or the record of a
 * step under way), map items included. Once the run is over, the run is
 * marked as read.
 */
export async function importSteps(store: SqliteRunStore, artifactStore: BaseArtifactStore, run: RunRecord): Promise<void> {
  const snapshot = await store.getSnapshot(run.snapshotId);
  if (!snapshot) {
    // Nothing tells which steps it has: the run shows as its execution says.
    store.setStepsPending(run.id, false);
    return;
  }
  const records = new ArtifactStoreRunStore(artifactStore);
  let complete = true;
  const copy = async (stepId: string): Promise<StepRunRecord | undefined> => {
    const current = await store.getStepRun(run.id, stepId);
    if (current && isFinalStatus(current.status)) return current;
    const { file, live } = await readStep(artifactStore, records, run.id, stepId);
    if (file) {
      await recordStepResult(store, file.step, file.artifacts);
      return file.step;
    }
    complete = false;
    if (live) await store.putStepRun(live);
    return live;
  };
  const settled = await Promise.all(snapshot.steps.map((step) => copy(step.id)));
  const maps = snapshot.steps.filter((step, i) => step.map && settled[i]);
  if (maps.length) {
    // One listing of the run's folder; only the item records that are new since the last look are read.
    const progress = new MapProgressReader({ artifactStore, store, runId: run.id, mapStepIds: maps.map((step) => step.id) });
    await progress.read();
    for (const step of maps) {
      const items = Number((settled[snapshot.steps.indexOf(step)]!.metadata?.[MAP_METADATA_KEY] as { items?: unknown } | undefined)?.items ?? Number.NaN);
      if (!Number.isSafeInteger(items) || items <= 0) continue;
      for (let i = 0; i < items && complete; i++) {
        const item = progress.item(step.id, i);
        if (!item || !isFinalStatus(item.status)) complete = false;
      }
    }
  }
  if (run.status === "failed" || run.status === "stopped") {
    // Settled as a run driven here is: what has no final record now never will.
    await Promise.all(
      snapshot.steps.map(async (step, i) => {
        const record = settled[i];
        if (record && isFinalStatus(record.status)) return;
        await store.putStepRun({
          ...(record ?? { runId: run.id, stepId: step.id, stepName: step.name, attempt: 0, outputs: {} }),
          ...unfinishedStepStatus(run.status, record !== undefined),
          ended: run.ended ?? new Date().toISOString(),
        });
      }),
    );
  }
  // Once the run is over its containers wrote all they will: what is missing now never ran.
  store.setStepsPending(run.id, !complete && !isFinalStatus(run.status));
}

/**
 * Brings an imported run's steps up to date before it is shown: a run
 * recorded from the orchestrator's listing alone is described first
 * (undefined when its execution turns out not to be Stackyard's); its step
 * records are read when they were not yet, or again while it runs (with its
 * status, from the orchestrator). Runs started here are left as they are.
 */
export async function refreshImportedRun(project: Project, store: SqliteRunStore, run: RunRecord): Promise<RunRecord | undefined> {
  let mark = store.importedRun(run.id);
  let synced = false;
  if (mark?.detailsPending) {
    synced = true;
    // Recorded from the orchestrator's listing alone: described first (it may turn out not to be Stackyard's).
    const result = await syncRemoteRuns(project, store, { stack: run.stack, stepsFor: 0, lookFor: run.id });
    if (result.warning) process.stderr.write(`Warning: ${result.warning}\n`);
    mark = store.importedRun(run.id);
    if (!mark) return undefined;
    run = (await store.getRun(run.id)) ?? run;
    if (mark.detailsPending) return run;
  }
  const active = !isFinalStatus(run.status);
  if (!mark || (!mark.stepsPending && !active)) return run;
  const loaded = await loadListingStack(project, run.stack).catch(() => undefined);
  if (!loaded) return run;
  let current = run;
  if (active && !synced && loaded.stack.orchestrator.listRuns) {
    const result = await syncRemoteRuns(project, store, { stack: run.stack, stepsFor: 0 });
    if (result.warning) process.stderr.write(`Warning: ${result.warning}\n`);
    current = (await store.getRun(run.id)) ?? run;
  }
  await importSteps(store, await loaded.artifactStore(), current);
  return current;
}
