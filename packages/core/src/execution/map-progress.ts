import type { ArtifactFileEntry, BaseArtifactStore } from "../artifact-store/base-artifact-store.js";
import type { StepOutcome } from "../orchestrator/base-orchestrator.js";
import { ArtifactStoreRunStore } from "../store/artifact-store-run-store.js";
import { type ArtifactRecord, isFinalStatus, type RunStore, type StepRunRecord } from "../store/run-store.js";
import { MAP_METADATA_KEY, parseItemId } from "./map-items.js";
import { recordStepResult, type StepResultFile } from "./run-step.js";

/**
 * A map step's items counted while they run: what {@link MapProgressReader}
 * keeps under `stackyard.map` on the map's record until the map ends (then
 * its orchestrator records the map's `MapSummary`).
 */
export interface MapLiveCounts {
  items: number;
  completed: number;
  cached: number;
  /** Indices of the items that failed, ascending. */
  failed: number[];
  stopped: number;
  /** Items under way (running, or waiting for a retry). */
  running: number;
  /** Items with no record yet. */
  notStarted: number;
}

/** What one {@link MapProgressReader.read} found new. */
export interface MapProgressUpdate {
  /** Map steps whose expand record was read for the first time, with their item count (undefined when the expand failed). */
  expanded: { stepId: string; items: number | undefined }[];
  /** Items whose status changed since the last read (recorded into the store), in item order. */
  items: StepOutcome[];
}

/** How many records are read from the artifact store at once. */
const READS = 16;

/** The file a record is in, by name: the end result or the record while under way. */
type RecordFiles = { result?: ArtifactFileEntry; record?: ArtifactFileEntry };

const tagOf = (file: ArtifactFileEntry): string => file.etag ?? `${file.size}:${file.modified?.getTime() ?? ""}`;

/**
 * Follows the map steps of a run that runs elsewhere (each item's step
 * process writing `runs/<run>/<map>[i]/record.json` while it runs and
 * `step.json` when it ends; the map's expand writing `runs/<run>/<map>/step.json`),
 * copying what they recorded into the client's store as it appears, so that
 * `runs describe`, the dashboard and a progress line count items while the
 * map runs.
 *
 * Each {@link read} lists the run's folder once ({@link BaseArtifactStore.listFiles}:
 * one request per 1,000 files on S3) and reads only the records that are new or
 * changed since the last read (by ETag, or size and time). Items already final
 * in the store are never read again, so a reader made afresh for each look
 * (a CLI command) costs one listing plus the records that changed since.
 */
export class MapProgressReader {
  private readonly records: ArtifactStoreRunStore;
  private readonly mapIds: ReadonlySet<string>;
  private readonly tags = new Map<string, string>();
  /** Every item's latest record, final or under way, by item id. */
  private readonly items = new Map<string, StepRunRecord>();
  /** Each map's expand record, once read. */
  private readonly maps = new Map<string, StepRunRecord>();
  /** The counts last written to each map's record. */
  private readonly written = new Map<string, string>();
  private seeded = false;

  constructor(
    private readonly options: {
      artifactStore: BaseArtifactStore;
      /** Where records are copied to (the client's store); without one, they are only counted. */
      store?: RunStore | undefined;
      runId: string;
      /** The run's map steps. */
      mapStepIds: Iterable<string>;
    },
  ) {
    this.records = new ArtifactStoreRunStore(options.artifactStore);
    this.mapIds = new Set(options.mapStepIds);
  }

  /**
   * Lists the run's folder, reads what is new, copies the final item records
   * (with their artifacts) and the records of items under way into the
   * store, and writes each running map's {@link MapLiveCounts} onto its record there.
   */
  async read(): Promise<MapProgressUpdate> {
    const { artifactStore, runId } = this.options;
    if (!this.seeded) await this.seed();
    const files = await artifactStore.listFiles(`runs/${runId}`);
    const byFolder = new Map<string, RecordFiles>();
    for (const file of files) {
      const slash = file.path.indexOf("/");
      const name = file.path.slice(slash + 1);
      if (slash < 0 || (name !== "step.json" && name !== "record.json")) continue;
      const folder = file.path.slice(0, slash);
      const entry = byFolder.get(folder) ?? {};
      if (name === "step.json") entry.result = file;
      else entry.record = file;
      byFolder.set(folder, entry);
    }
    const update: MapProgressUpdate = { expanded: [], items: [] };
    for (const mapStepId of this.mapIds) {
      if (this.maps.has(mapStepId)) continue;
      const record = await this.readMapRecord(mapStepId, byFolder.get(mapStepId));
      if (!record) continue;
      this.maps.set(mapStepId, record);
      update.expanded.push({ stepId: mapStepId, items: record.status === "failed" ? undefined : itemsOf(record) });
    }
    const pending = [...byFolder].filter(([folder]) => {
      const item = parseItemId(folder);
      return item !== undefined && this.mapIds.has(item.mapStepId) && !isFinal(this.items.get(folder));
    });
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < pending.length; i = next++) {
        const [stepId, found] = pending[i]!;
        const before = this.items.get(stepId);
        const record = await this.readItem(stepId, found);
        if (record && (record.status !== before?.status || record.attempt !== before.attempt)) {
          update.items.push({ stepId, status: record.status, ...(record.error ? { error: record.error } : {}) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(READS, pending.length) }, worker));
    update.items.sort((a, b) => parseItemId(a.stepId)!.index - parseItemId(b.stepId)!.index);
    await this.writeCounts();
    return update;
  }

  /** The item count of a map whose expand record was read (undefined before, or when the expand failed). */
  itemCount(mapStepId: string): number | undefined {
    const record = this.maps.get(mapStepId);
    return record && record.status !== "failed" ? itemsOf(record) : undefined;
  }

  /** The expand record of a map, once a read found it. */
  mapRecord(mapStepId: string): StepRunRecord | undefined {
    return this.maps.get(mapStepId);
  }

  /** Item `index`'s latest record as read: final, or under way. */
  item(mapStepId: string, index: number): StepRunRecord | undefined {
    return this.items.get(`${mapStepId}[${index}]`);
  }

  /** A map's items counted from what was read (items without a record count as not started). */
  counts(mapStepId: string): MapLiveCounts | undefined {
    const items = this.itemCount(mapStepId);
    if (items === undefined) return undefined;
    const counts: MapLiveCounts = { items, completed: 0, cached: 0, failed: [], stopped: 0, running: 0, notStarted: 0 };
    let recorded = 0;
    for (const [stepId, record] of this.items) {
      const item = parseItemId(stepId);
      if (item?.mapStepId !== mapStepId || item.index >= items) continue;
      recorded++;
      if (record.status === "completed") counts.completed++;
      else if (record.status === "cached") counts.cached++;
      else if (record.status === "failed") counts.failed.push(item.index);
      else if (record.status === "stopped" || record.status === "skipped") counts.stopped++;
      else counts.running++;
    }
    counts.failed.sort((a, b) => a - b);
    counts.notStarted = items - recorded;
    return counts;
  }

  /** Items the store already has final records of are never read again. */
  private async seed(): Promise<void> {
    this.seeded = true;
    const { store, runId } = this.options;
    if (!store) return;
    for (const record of await store.listStepRuns(runId)) {
      const item = parseItemId(record.stepId);
      if (item && this.mapIds.has(item.mapStepId) && isFinalStatus(record.status)) this.items.set(record.stepId, record);
    }
  }

  /** Reads `file` when it changed since the last read; undefined when it did not, or cannot be read (half-written). */
  private async readChanged<T>(file: ArtifactFileEntry | undefined, path: string): Promise<T | undefined> {
    if (!file) return undefined;
    const tag = tagOf(file);
    if (this.tags.get(path) === tag) return undefined;
    try {
      const value = JSON.parse((await this.options.artifactStore.readFile(path)).toString("utf8")) as T;
      this.tags.set(path, tag);
      return value;
    } catch {
      return undefined;
    }
  }

  private async readMapRecord(mapStepId: string, found: RecordFiles | undefined): Promise<StepRunRecord | undefined> {
    const base = `runs/${this.options.runId}/${mapStepId}`;
    const file = await this.readChanged<StepResultFile>(found?.result, `${base}/step.json`);
    const record = file?.step ?? (await this.readChanged<StepRunRecord>(found?.record, `${base}/record.json`));
    if (!record || itemsOf(record) === undefined) return record?.status === "failed" ? record : undefined;
    const { store } = this.options;
    const current = await store?.getStepRun(record.runId, record.stepId);
    // The client's own word on the map (its end) stands.
    if (store && !(current && isFinalStatus(current.status))) await recordStepResult(store, record, file?.artifacts ?? []);
    return record;
  }

  /**
   * An item's record: its result (`step.json`) when it ended, else its record
   * while under way, or the `cached` record of an item the cache answered for
   * (which writes no step.json), with the artifacts it reuses.
   */
  private async readItem(stepId: string, found: RecordFiles): Promise<StepRunRecord | undefined> {
    const { runId, store } = this.options;
    const base = `runs/${runId}/${stepId}`;
    const file = await this.readChanged<StepResultFile>(found.result, `${base}/step.json`);
    if (file && isFinalStatus(file.step.status)) return this.keep(file.step, file.artifacts);
    const record = await this.readChanged<StepRunRecord>(found.record, `${base}/record.json`);
    if (!record) return undefined;
    if (!isFinalStatus(record.status)) {
      const before = this.items.get(stepId);
      this.items.set(stepId, record);
      if (store && (record.status !== before?.status || record.attempt !== before.attempt)) await store.putStepRun(record);
      return record;
    }
    // Any other end comes with its step.json, written just after.
    if (record.status !== "cached") return undefined;
    const artifacts = await Promise.all(Object.values(record.outputs).map((id) => this.records.getArtifact(id).catch(() => undefined)));
    if (artifacts.some((a) => a === undefined)) {
      this.tags.delete(`${base}/record.json`);
      return undefined;
    }
    return this.keep(record, artifacts as ArtifactRecord[]);
  }

  private async keep(record: StepRunRecord, artifacts: readonly ArtifactRecord[]): Promise<StepRunRecord> {
    if (this.options.store) await recordStepResult(this.options.store, record, artifacts);
    this.items.set(record.stepId, record);
    return record;
  }

  /** Each running map's counts onto its record in the store, when they changed. */
  private async writeCounts(): Promise<void> {
    const { store, runId } = this.options;
    if (!store) return;
    for (const mapStepId of this.maps.keys()) {
      const counts = this.counts(mapStepId);
      if (!counts) continue;
      const key = JSON.stringify(counts);
      if (this.written.get(mapStepId) === key) continue;
      const current = await store.getStepRun(runId, mapStepId);
      if (!current || isFinalStatus(current.status)) continue;
      const previous = (current.metadata?.[MAP_METADATA_KEY] ?? {}) as Record<string, unknown>;
      await store.putStepRun({ ...current, metadata: { ...current.metadata, [MAP_METADATA_KEY]: { ...previous, ...counts } } });
      this.written.set(mapStepId, key);
    }
  }
}

const isFinal = (record: StepRunRecord | undefined): boolean => record !== undefined && isFinalStatus(record.status);

function itemsOf(record: StepRunRecord): number | undefined {
  const items = Number((record.metadata?.[MAP_METADATA_KEY] as { items?: unknown } | undefined)?.items ?? Number.NaN);
  return Number.isSafeInteger(items) && items >= 0 ? items : undefined;
}
