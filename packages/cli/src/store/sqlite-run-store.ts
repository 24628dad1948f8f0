import type {
  ArtifactNameQuery,
  ArtifactNameSummary,
  ArtifactRecord,
  ArtifactSelector,
  MetadataRecord,
  MetadataTarget,
  PipelineSnapshot,
  RunQuery,
  RunRecord,
  RunStore,
  StepRunRecord,
  TagTarget,
} from "@stackyard/core";
import { ConflictError, NotFoundError } from "@stackyard/core/errors";
import type { Database } from "./database.js";

type Row = Record<string, unknown>;

// Core's FINAL_STATUSES, spelled out so that reading runs does not load core.
const FINAL = new Set(["completed", "cached", "failed", "skipped", "stopped"]);
const isFinalStatus = (status: string): boolean => FINAL.has(status);

const RUN_COLUMNS: Array<[keyof RunRecord, string]> = [
  ["id", "id"],
  ["name", "name"],
  ["pipeline", "pipeline"],
  ["snapshotId", "snapshot_id"],
  ["snapshotUri", "snapshot_uri"],
  ["stack", "stack"],
  ["orchestrator", "orchestrator"],
  ["status", "status"],
  ["orchestratorRunId", "orchestrator_run_id"],
  ["pid", "pid"],
  ["host", "host"],
  ["error", "error"],
  ["created", "created"],
  ["started", "started"],
  ["ended", "ended"],
  ["retryOf", "retry_of"],
  ["deployment", "deployment"],
  ["deploymentVersion", "deployment_version"],
  ["schedule", "schedule"],
];

/** A JSON column: undefined when empty. */
function fromJson<T>(value: unknown): T | undefined {
  return typeof value === "string" && value !== "" ? (JSON.parse(value) as T) : undefined;
}

/** A JSON column's value: null for nothing, an empty list or an empty object. */
function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value) ? value.length === 0 : typeof value === "object" && Object.keys(value).length === 0) return null;
  return JSON.stringify(value);
}

function toRun(row: Row): RunRecord {
  const run: Record<string, unknown> = {};
  for (const [key, column] of RUN_COLUMNS) if (row[column] !== null && row[column] !== undefined) run[key] = row[column];
  const tags = fromJson<string[]>(row.tags);
  const metadata = fromJson<MetadataRecord>(row.metadata);
  if (tags) run.tags = tags;
  if (metadata) run.metadata = metadata;
  return run as unknown as RunRecord;
}

function toStep(row: Row): StepRunRecord {
  return {
    runId: row.run_id as string,
    stepId: row.step_id as string,
    stepName: row.step_name as string,
    status: row.status as StepRunRecord["status"],
    attempt: row.attempt as number,
    cacheKey: (row.cache_key as string | null) ?? undefined,
    cachedFrom: row.cached_from ? (JSON.parse(row.cached_from as string) as StepRunRecord["cachedFrom"]) : undefined,
    outputs: JSON.parse(row.outputs as string) as Record<string, string>,
    inputs: fromJson(row.inputs),
    metadata: fromJson(row.metadata),
    runMetadata: fromJson(row.run_metadata),
    logUri: (row.log_uri as string | null) ?? undefined,
    error: (row.error as string | null) ?? undefined,
    started: (row.started as string | null) ?? undefined,
    ended: (row.ended as string | null) ?? undefined,
  };
}

function toArtifact(row: Row): ArtifactRecord {
  return {
    id: row.id as string,
    runId: row.run_id as string,
    stepId: row.step_id as string,
    output: row.output as string,
    uri: row.uri as string,
    materializer: row.materializer as string,
    dataType: row.data_type as string,
    size: row.size as number,
    sha256: row.sha256 as string,
    created: row.created as string,
    name: (row.name as string | null) ?? undefined,
    version: (row.version as number | null) ?? undefined,
    metadata: fromJson(row.metadata),
    tags: fromJson(row.tags),
    visualizations: fromJson(row.visualizations),
  };
}

/** An artifact's row values for the upsert. */
function artifactValues(artifact: ArtifactRecord): Record<string, unknown> {
  return {
    id: artifact.id,
    runId: artifact.runId,
    stepId: artifact.stepId,
    output: artifact.output,
    uri: artifact.uri,
    materializer: artifact.materializer,
    dataType: artifact.dataType,
    size: artifact.size,
    sha256: artifact.sha256,
    created: artifact.created,
    name: artifact.name ?? null,
    version: artifact.version ?? null,
    metadata: toJson(artifact.metadata),
    tags: toJson(artifact.tags),
    visualizations: toJson(artifact.visualizations),
  };
}

/**
 * The embedded store's {@link RunStore}: SQLite in WAL mode, so many
 * processes (parallel step containers, concurrent runs) record into one file.
 * Statements are prepared once per store.
 */
export class SqliteRunStore implements RunStore {
  private readonly statements;

  constructor(readonly db: Database) {
    this.statements = {
      putSnapshot: db.prepare("INSERT OR REPLACE INTO snapshots (id, pipeline, uri, body, created) VALUES (?, ?, ?, ?, ?)"),
      getSnapshot: db.prepare("SELECT body FROM snapshots WHERE id = ?"),
      createRun: db.prepare(
        `INSERT INTO runs (${RUN_COLUMNS.map(([, c]) => c).join(", ")}, tags, metadata) VALUES (${RUN_COLUMNS.map(([k]) => "@" + k).join(", ")}, @tags, @metadata)`,
      ),
      getRun: db.prepare("SELECT * FROM runs WHERE id = ?"),
      getRunByName: db.prepare("SELECT * FROM runs WHERE name = ? ORDER BY created DESC LIMIT 1"),
      getRunByPrefix: db.prepare("SELECT * FROM runs WHERE id LIKE ? ORDER BY created DESC LIMIT 2"),
      deleteRun: db.prepare("DELETE FROM runs WHERE id = ?"),
      putStep: db.prepare(
        // An upsert, not INSERT OR REPLACE: a step's record is written two or
        // three times, and replacing deletes and re-indexes the row each time.
        `INSERT INTO step_runs (run_id, step_id, step_name, status, attempt, cache_key, cached_from, outputs, inputs, metadata, run_metadata, log_uri, error, started, ended)
         VALUES (@runId, @stepId, @stepName, @status, @attempt, @cacheKey, @cachedFrom, @outputs, @inputs, @metadata, @runMetadata, @logUri, @error, @started, @ended)
         ON CONFLICT (run_id, step_id) DO UPDATE SET step_name = excluded.step_name, status = excluded.status, attempt = excluded.attempt,
           cache_key = excluded.cache_key, cached_from = excluded.cached_from, outputs = excluded.outputs, inputs = excluded.inputs,
           metadata = excluded.metadata, run_metadata = excluded.run_metadata, log_uri = excluded.log_uri, error = excluded.error, started = excluded.started, ended = excluded.ended`,
      ),
      putStepInput: db.prepare(
        "INSERT INTO step_inputs (artifact_id, run_id, step_id, input) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, step_id, input) DO UPDATE SET artifact_id = excluded.artifact_id",
      ),
      getRunMetadata: db.prepare("SELECT metadata FROM runs WHERE id = ?"),
      setRunMetadata: db.prepare("UPDATE runs SET metadata = ? WHERE id = ?"),
      getStep: db.prepare("SELECT * FROM step_runs WHERE run_id = ? AND step_id = ?"),
      listSteps: db.prepare("SELECT * FROM step_runs WHERE run_id = ? ORDER BY started IS NULL, started, step_id"),
      // Step ids never hold '[': one that does is a map's item (`score[3]`).
      listStepsWithoutItems: db.prepare("SELECT * FROM step_runs WHERE run_id = ? AND instr(step_id, '[') = 0 ORDER BY started IS NULL, started, step_id"),
      tallyItems: db.prepare(
        "SELECT substr(step_id, 1, instr(step_id, '[') - 1) AS map_id, status, count(*) AS n FROM step_runs WHERE run_id = ? AND instr(step_id, '[') > 0 GROUP BY 1, 2",
      ),
      listArtifactsWithoutItems: db.prepare("SELECT * FROM artifacts WHERE run_id = ? AND instr(step_id, '[') = 0 ORDER BY step_id, output"),
      // Versions count up per name in one statement, so concurrent writers
      // (SQLite serialises them) never take the same number. Recording an
      // artifact again keeps its name, version and tags.
      putArtifact: db.prepare(
        `INSERT INTO artifacts (id, run_id, step_id, output, uri, materializer, data_type, size, sha256, created, name, version, metadata, tags, visualizations)
         VALUES (@id, @runId, @stepId, @output, @uri, @materializer, @dataType, @size, @sha256, @created, @name,
           CASE WHEN @name IS NULL THEN NULL ELSE COALESCE(@version, (SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts WHERE name = @name)) END,
           @metadata, @tags, @visualizations)
         ON CONFLICT (id) DO UPDATE SET uri = excluded.uri, materializer = excluded.materializer, data_type = excluded.data_type,
           size = excluded.size, sha256 = excluded.sha256, metadata = COALESCE(excluded.metadata, artifacts.metadata),
           tags = COALESCE(artifacts.tags, excluded.tags), visualizations = COALESCE(excluded.visualizations, artifacts.visualizations)`,
      ),
      getArtifact: db.prepare("SELECT * FROM artifacts WHERE id = ?"),
      listArtifacts: db.prepare("SELECT * FROM artifacts WHERE run_id = ? ORDER BY step_id, output"),
      findCached: db.prepare("SELECT * FROM step_runs WHERE cache_key = ? AND status = 'completed' ORDER BY ended DESC LIMIT 1"),
    };
  }

  async saveSnapshot(snapshot: PipelineSnapshot, uri: string): Promise<void> {
    this.statements.putSnapshot.run(snapshot.id, snapshot.pipeline.name, uri, JSON.stringify(snapshot), snapshot.created);
  }

  async getSnapshot(id: string): Promise<PipelineSnapshot | undefined> {
    const row = this.statements.getSnapshot.get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as PipelineSnapshot);
  }

  async createRun(run: RunRecord): Promise<void> {
    const values: Record<string, unknown> = {};
    for (const [key] of RUN_COLUMNS) values[key] = run[key] ?? null;
    values.tags = toJson(run.tags);
    values.metadata = toJson(run.metadata);
    this.statements.createRun.run(values);
  }

  /** Finds a run by id, by a unique id prefix, or by name (the newest of that name). */
  async getRun(idOrName: string): Promise<RunRecord | undefined> {
    const byId = this.statements.getRun.get(idOrName) as Row | undefined;
    if (byId) return toRun(byId);
    const byName = this.statements.getRunByName.get(idOrName) as Row | undefined;
    if (byName) return toRun(byName);
    if (idOrName.length >= 6) {
      const byPrefix = this.statements.getRunByPrefix.all(`${idOrName}%`) as Row[];
      if (byPrefix.length === 1) return toRun(byPrefix[0]!);
    }
    return undefined;
  }

  async updateRun(id: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    const sets: string[] = [];
    const values: Record<string, unknown> = { id };
    for (const [key, column] of RUN_COLUMNS) {
      if (key === "id" || !(key in patch)) continue;
      sets.push(`${column} = @${key}`);
      values[key] = (patch as Record<string, unknown>)[key] ?? null;
    }
    for (const key of ["tags", "metadata"] as const) {
      if (!(key in patch)) continue;
      sets.push(`${key} = @${key}`);
      values[key] = toJson(patch[key]);
    }
    if (sets.length) this.db.prepare(`UPDATE runs SET ${sets.join(", ")} WHERE id = @id`).run(values);
  }

  /**
   * Runs, newest first. Imported runs whose details are still to be read
   * (see {@link importRuns}) are left out unless `withPendingDetails` is set:
   * then they are listed whatever `pipeline` and `tag` say, since neither is
   * known before they are described.
   */
  async listRuns(query: RunQuery & { withPendingDetails?: boolean } = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const pending = "EXISTS (SELECT 1 FROM imported_runs i WHERE i.run_id = runs.id AND i.details_pending = 1)";
    const described: string[] = [];
    if (query.pipeline) {
      described.push("pipeline = ?");
      values.push(query.pipeline);
    }
    if (query.tag) {
      described.push("EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE value = ?)");
      values.push(query.tag);
    }
    if (query.withPendingDetails) {
      if (described.length) where.push(`(${pending} OR (${described.join(" AND ")}))`);
    } else where.push(`NOT ${pending}`, ...described);
    if (query.status) {
      where.push("status = ?");
      values.push(query.status);
    }
    if (query.stack) {
      where.push("stack = ?");
      values.push(query.stack);
    }
    const limit = Math.max(1, Math.floor(query.limit ?? 1000));
    const offset = Math.max(0, Math.floor(query.offset ?? 0));
    const sql = `SELECT * FROM runs ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY created DESC LIMIT ${limit} OFFSET ${offset}`;
    return (this.db.prepare(sql).all(...values) as Row[]).map(toRun);
  }

  /**
   * Deletes a run's records. Refused while later runs reuse its outputs
   * through the cache, so that no run is left pointing at nothing.
   */
  async deleteRun(id: string): Promise<void> {
    const users = this.db
      .prepare("SELECT DISTINCT r.name FROM step_runs s JOIN runs r ON r.id = s.run_id WHERE s.run_id <> ? AND json_extract(s.cached_from, '$.runId') = ?")
      .all(id, id) as Array<{ name: string }>;
    if (users.length) {
      throw new ConflictError(`Runs ${users.map((u) => `'${u.name}'`).join(", ")} reuse outputs of this run through the cache`, {
        hint: "Delete those runs first.",
      });
    }
    const consumers = this.db
      .prepare(
        "SELECT DISTINCT r.name FROM step_inputs i JOIN artifacts a ON a.id = i.artifact_id JOIN runs r ON r.id = i.run_id WHERE a.run_id = ? AND i.run_id <> ?",
      )
      .all(id, id) as Array<{ name: string }>;
    if (consumers.length) {
      throw new ConflictError(`Runs ${consumers.map((u) => `'${u.name}'`).join(", ")} consumed artifact versions of this run`, {
        hint: "Delete those runs first; their lineage points at these versions.",
      });
    }
    this.statements.deleteRun.run(id);
  }

  async putStepRun(step: StepRunRecord): Promise<void> {
    if (!isFinalStatus(step.status) || (!step.inputs && !step.runMetadata)) this.writeStep(step);
    else this.db.transaction(() => this.writeStep(step)).immediate();
  }

  /** A step's artifacts and record in one transaction: one commit instead of one per row. */
  async putStepResult(step: StepRunRecord, artifacts: readonly ArtifactRecord[]): Promise<void> {
    this.db
      .transaction(() => {
        for (const artifact of artifacts) this.statements.putArtifact.run(artifactValues(artifact));
        this.writeStep(step);
      })
      .immediate();
  }

  /**
   * Writes a step's row and, once it is over, the index of the artifact
   * versions it consumed (its row holds them from the start) and the
   * metadata it logged on its run.
   */
  private writeStep(step: StepRunRecord): void {
    if (isFinalStatus(step.status)) {
      for (const [input, artifactId] of Object.entries(step.inputs ?? {})) this.statements.putStepInput.run(artifactId, step.runId, step.stepId, input);
      if (step.runMetadata && Object.keys(step.runMetadata).length) this.mergeRunMetadata(step.runId, step.runMetadata);
    }
    this.statements.putStep.run({
      runId: step.runId,
      stepId: step.stepId,
      stepName: step.stepName,
      status: step.status,
      attempt: step.attempt,
      cacheKey: step.cacheKey ?? null,
      cachedFrom: step.cachedFrom ? JSON.stringify(step.cachedFrom) : null,
      outputs: JSON.stringify(step.outputs),
      inputs: toJson(step.inputs),
      metadata: toJson(step.metadata),
      runMetadata: toJson(step.runMetadata),
      logUri: step.logUri ?? null,
      error: step.error ?? null,
      started: step.started ?? null,
      ended: step.ended ?? null,
    });
  }

  async getStepRun(runId: string, stepId: string): Promise<StepRunRecord | undefined> {
    const row = this.statements.getStep.get(runId, stepId) as Row | undefined;
    return row && toStep(row);
  }

  async listStepRuns(runId: string): Promise<StepRunRecord[]> {
    return (this.statements.listSteps.all(runId) as Row[]).map(toStep);
  }

  /** A run's step records without its map steps' items, in the order of {@link listStepRuns}. */
  async listStepRunsWithoutItems(runId: string): Promise<StepRunRecord[]> {
    return (this.statements.listStepsWithoutItems.all(runId) as Row[]).map(toStep);
  }

  /**
   * Per map step of a run, how many of its items have each status, counted
   * in SQL (no item record is read), with the indices of its first
   * `failedShown` failed items.
   */
  async tallyMapItems(runId: string, failedShown: number): Promise<Map<string, { counts: Record<string, number>; failedIndices: number[] }>> {
    const tallies = new Map<string, { counts: Record<string, number>; failedIndices: number[] }>();
    for (const row of this.statements.tallyItems.all(runId) as Array<{ map_id: string; status: string; n: number }>) {
      const tally = tallies.get(row.map_id) ?? { counts: {}, failedIndices: [] };
      tally.counts[row.status] = row.n;
      tallies.set(row.map_id, tally);
    }
    for (const [mapId, tally] of tallies) {
      if (tally.counts.failed) tally.failedIndices = this.mapItemPage(runId, mapId, ["failed"], failedShown, 0, "index").map((r) => Number(r.idx));
    }
    return tallies;
  }

  /**
   * A page of one map step's items in item order, only those whose status is
   * one of `statuses` when given, with how many match. Reads the page's
   * records only: the items are found by their ids' range in the primary key.
   */
  async listMapItems(
    runId: string,
    mapId: string,
    query: { statuses?: readonly string[] | undefined; limit: number; offset: number },
  ): Promise<{ items: StepRunRecord[]; total: number }> {
    const [where, params] = this.itemFilter(runId, mapId, query.statuses);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM step_runs WHERE ${where}`).get(...params) as { n: number }).n;
    const items = this.mapItemPage(runId, mapId, query.statuses, query.limit, query.offset, "*").map((row) => toStep(row as Row));
    return { items, total };
  }

  /** `score[0]` <= id < `score\`: the ids of map `score`'s items ('\\' follows '[' in code point order), and a status filter. */
  private itemFilter(runId: string, mapId: string, statuses: readonly string[] | undefined): [string, unknown[]] {
    const status = statuses?.length ? ` AND status IN (${statuses.map(() => "?").join(", ")})` : "";
    return [`run_id = ? AND step_id > ? AND step_id < ?${status}`, [runId, `${mapId}[`, `${mapId}\\`, ...(statuses ?? [])]];
  }

  private mapItemPage(runId: string, mapId: string, statuses: readonly string[] | undefined, limit: number, offset: number, columns: "*" | "index") {
    const [where, params] = this.itemFilter(runId, mapId, statuses);
    const index = `CAST(substr(step_id, ${mapId.length + 2}) AS INTEGER)`;
    return this.db
      .prepare(`SELECT ${columns === "*" ? "*" : `${index} AS idx`} FROM step_runs WHERE ${where} ORDER BY ${index} LIMIT ? OFFSET ?`)
      .all(...params, limit, offset) as Array<Record<string, unknown>>;
  }

  /** A run's artifact versions without those its map steps' items made. */
  async listArtifactsWithoutItems(runId: string): Promise<ArtifactRecord[]> {
    return (this.statements.listArtifactsWithoutItems.all(runId) as Row[]).map(toArtifact);
  }

  async putArtifact(artifact: ArtifactRecord): Promise<void> {
    this.statements.putArtifact.run(artifactValues(artifact));
  }

  async getArtifact(id: string): Promise<ArtifactRecord | undefined> {
    const row = this.statements.getArtifact.get(id) as Row | undefined;
    return row && toArtifact(row);
  }

  async listArtifacts(runId: string): Promise<ArtifactRecord[]> {
    return (this.statements.listArtifacts.all(runId) as Row[]).map(toArtifact);
  }

  async findCachedStep(cacheKey: string): Promise<StepRunRecord | undefined> {
    const row = this.statements.findCached.get(cacheKey) as Row | undefined;
    return row && toStep(row);
  }

  private mergeRunMetadata(runId: string, values: MetadataRecord): void {
    const row = this.statements.getRunMetadata.get(runId) as { metadata: string | null } | undefined;
    if (!row) return;
    this.statements.setRunMetadata.run(JSON.stringify({ ...fromJson<MetadataRecord>(row.metadata), ...values }), runId);
  }

  /** Merges metadata into a run, a step run or an artifact version, in one write transaction. */
  async logMetadata(target: MetadataTarget, values: MetadataRecord): Promise<void> {
    if (Object.keys(values).length === 0) return;
    const [table, where, keys, what] =
      "artifact" in target
        ? ["artifacts", "id = ?", [target.artifact], `artifact version '${target.artifact}'`]
        : "step" in target
          ? ["step_runs", "run_id = ? AND step_id = ?", [target.run, target.step], `step '${target.step}' of run '${target.run}'`]
          : ["runs", "id = ?", [target.run], `run '${target.run}'`];
    this.db
      .transaction(() => {
        const row = this.db.prepare(`SELECT metadata FROM ${table} WHERE ${where}`).get(...keys) as { metadata: string | null } | undefined;
        if (!row) throw new NotFoundError(`No ${what} in this store`);
        const merged = { ...fromJson<MetadataRecord>(row.metadata), ...values };
        this.db.prepare(`UPDATE ${table} SET metadata = ? WHERE ${where}`).run(JSON.stringify(merged), ...keys);
      })
      .immediate();
  }

  /** Adds and removes tags of a run or an artifact version, in one write transaction. */
  async tag(target: TagTarget, add: readonly string[], remove: readonly string[] = []): Promise<void> {
    const [table, id, what] = "artifact" in target ? ["artifacts", target.artifact, "artifact version"] : ["runs", target.run, "run"];
    this.db
      .transaction(() => {
        const row = this.db.prepare(`SELECT tags FROM ${table} WHERE id = ?`).get(id) as { tags: string | null } | undefined;
        if (!row) throw new NotFoundError(`No ${what} '${id}' in this store`);
        const tags = (fromJson<string[]>(row.tags) ?? []).filter((t) => !remove.includes(t));
        for (const t of add) if (!tags.includes(t)) tags.push(t);
        this.db.prepare(`UPDATE ${table} SET tags = ? WHERE id = ?`).run(toJson(tags), id);
      })
      .immediate();
  }

  async listArtifactNames(query: ArtifactNameQuery = {}): Promise<ArtifactNameSummary[]> {
    const where: string[] = ["a.name IS NOT NULL"];
    const values: unknown[] = [];
    if (query.name) {
      where.push("instr(a.name, ?) > 0");
      values.push(query.name);
    }
    if (query.tag) {
      where.push("EXISTS (SELECT 1 FROM artifacts t, json_each(t.tags) j WHERE t.name = a.name AND j.value = ?)");
      values.push(query.tag);
    }
    const limit = Math.max(1, Math.floor(query.limit ?? 1000));
    // The newest version of each name through the (name, version) index: one seek per name.
    const rows = this.db
      .prepare(
        `SELECT a.*, n.versions FROM (SELECT name, MAX(version) AS latest, COUNT(*) AS versions FROM artifacts WHERE name IS NOT NULL GROUP BY name) n
         JOIN artifacts a ON a.name = n.name AND a.version = n.latest WHERE ${where.join(" AND ")} ORDER BY a.name LIMIT ${limit}`,
      )
      .all(...values) as Row[];
    return rows.map((row) => ({ name: row.name as string, versions: row.versions as number, latest: toArtifact(row) }));
  }

  async listArtifactVersions(name: string, query: { limit?: number; offset?: number; tag?: string } = {}): Promise<ArtifactRecord[]> {
    const limit = Math.max(1, Math.floor(query.limit ?? 1000));
    const offset = Math.max(0, Math.floor(query.offset ?? 0));
    const tagged = query.tag ? "AND EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)" : "";
    const values: unknown[] = query.tag ? [name, query.tag] : [name];
    return (
      this.db.prepare(`SELECT * FROM artifacts WHERE name = ? ${tagged} ORDER BY version DESC LIMIT ${limit} OFFSET ${offset}`).all(...values) as Row[]
    ).map(toArtifact);
  }

  async findArtifactVersion(name: string, which: ArtifactSelector = {}): Promise<ArtifactRecord | undefined> {
    if (which.version !== undefined) {
      const row = this.db.prepare("SELECT * FROM artifacts WHERE name = ? AND version = ?").get(name, which.version) as Row | undefined;
      return row && toArtifact(row);
    }
    const query: { limit: number; tag?: string } = { limit: 1 };
    if (which.tag !== undefined && which.tag !== "latest") query.tag = which.tag;
    return (await this.listArtifactVersions(name, query))[0];
  }

  /** Status of every run with an orchestrator id, by that id: what `runs list` already knows of remote runs. */
  knownOrchestratorRuns(): Map<string, { id: string; status: string; pid?: number; foreign?: boolean }> {
    const rows = this.db.prepare("SELECT id, status, pid, orchestrator_run_id FROM runs WHERE orchestrator_run_id IS NOT NULL").all() as Row[];
    const known = new Map<string, { id: string; status: string; pid?: number; foreign?: boolean }>(
      rows.map((r) => [r.orchestrator_run_id as string, { id: r.id as string, status: r.status as string, ...(r.pid ? { pid: r.pid as number } : {}) }]),
    );
    // Executions found not to be Stackyard's: known, so that they are not listed as new again.
    for (const r of this.db.prepare("SELECT orchestrator_run_id, status FROM foreign_executions").all() as Row[]) {
      known.set(r.orchestrator_run_id as string, { id: "", status: r.status as string, foreign: true });
    }
    return known;
  }

  /**
   * Records runs another machine started (see `runs list`), in one
   * transaction, their steps still to be read. Runs whose ids are in
   * `detailsPending` were recorded from the orchestrator's listing alone:
   * they are not listed (see {@link listRuns}) until {@link completeDetails}
   * or {@link markForeign}. A run whose id this store already has is left as
   * it is. Returns how many were added.
   */
  importRuns(runs: readonly RunRecord[], imported = new Date().toISOString(), detailsPending: ReadonlySet<string> = new Set()): number {
    const insert = this.db.prepare("INSERT OR IGNORE INTO imported_runs (run_id, imported, steps_pending, details_pending) VALUES (?, ?, 1, ?)");
    const mark = { run: (id: string, at: string) => insert.run(id, at, detailsPending.has(id) ? 1 : 0) };
    const exists = this.db.prepare("SELECT 1 FROM runs WHERE id = ?");
    let added = 0;
    this.db
      .transaction(() => {
        for (const run of runs) {
          if (exists.get(run.id)) continue;
          const values: Record<string, unknown> = {};
          for (const [key] of RUN_COLUMNS) values[key] = run[key] ?? null;
          values.tags = toJson(run.tags);
          values.metadata = toJson(run.metadata);
          this.statements.createRun.run(values);
          mark.run(run.id, imported);
          added++;
        }
      })
      .immediate();
    return added;
  }

  /** Whether a run was imported from its orchestrator, and whether its step records and its details are still to be read. */
  importedRun(runId: string): { imported: string; stepsPending: boolean; detailsPending: boolean } | undefined {
    const row = this.db.prepare("SELECT imported, steps_pending, details_pending FROM imported_runs WHERE run_id = ?").get(runId) as Row | undefined;
    return row && { imported: row.imported as string, stepsPending: row.steps_pending === 1, detailsPending: row.details_pending === 1 };
  }

  /** The ids among `runIds` of runs imported from their orchestrator. */
  importedRunIds(runIds: readonly string[]): Set<string> {
    if (!runIds.length) return new Set();
    const rows = this.db.prepare(`SELECT run_id FROM imported_runs WHERE run_id IN (${runIds.map(() => "?").join(", ")})`).all(...runIds) as Row[];
    return new Set(rows.map((r) => r.run_id as string));
  }

  /** The ids among `runIds` (all when absent) of imported runs whose details are still to be read, newest first. */
  pendingDetails(runIds?: readonly string[]): string[] {
    if (runIds && !runIds.length) return [];
    const among = runIds ? ` AND r.id IN (${runIds.map(() => "?").join(", ")})` : "";
    const rows = this.db
      .prepare(`SELECT r.id FROM runs r JOIN imported_runs i ON i.run_id = r.id WHERE i.details_pending = 1${among} ORDER BY r.created DESC`)
      .all(...(runIds ?? [])) as Row[];
    return rows.map((r) => r.id as string);
  }

  /** An imported run's details, read from its orchestrator: recorded, and the run listed from now on. */
  async completeDetails(runId: string, patch: Partial<Omit<RunRecord, "id">>): Promise<void> {
    await this.updateRun(runId, patch);
    this.db.prepare("UPDATE imported_runs SET details_pending = 0 WHERE run_id = ?").run(runId);
  }

  /**
   * An imported run whose execution turned out not to be Stackyard's: its
   * record is removed and the execution kept as known (by orchestrator id),
   * so that it is neither shown nor described again.
   */
  markForeign(runId: string, orchestratorRunId: string, stack: string, status: string): void {
    this.db
      .transaction(() => {
        this.db.prepare("DELETE FROM imported_runs WHERE run_id = ?").run(runId);
        this.db.prepare("DELETE FROM runs WHERE id = ?").run(runId);
        this.db
          .prepare("INSERT OR REPLACE INTO foreign_executions (orchestrator_run_id, stack, status, found) VALUES (?, ?, ?, ?)")
          .run(orchestratorRunId, stack, status, new Date().toISOString());
      })
      .immediate();
  }

  /** The status of an execution that is not Stackyard's, as last listed. */
  updateForeignStatus(orchestratorRunId: string, status: string): void {
    this.db.prepare("UPDATE foreign_executions SET status = ? WHERE orchestrator_run_id = ?").run(status, orchestratorRunId);
  }

  /** Marks an imported run's step records as read (or to be read again). */
  setStepsPending(runId: string, pending: boolean): void {
    this.db.prepare("UPDATE imported_runs SET steps_pending = ? WHERE run_id = ?").run(pending ? 1 : 0, runId);
  }

  /** Records a look at a stack's orchestrator: when, and what it brought. */
  recordRemoteSync(stack: string, orchestratorId: string, counts: { imported: number; updated: number }): void {
    this.db
      .prepare(
        `INSERT INTO remote_sync (stack, orchestrator_id, synced, imported, updated) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (stack, orchestrator_id) DO UPDATE SET synced = excluded.synced, imported = excluded.imported, updated = excluded.updated`,
      )
      .run(stack, orchestratorId, new Date().toISOString(), counts.imported, counts.updated);
  }

  /** The last look at a stack's orchestrator, if any. */
  lastRemoteSync(stack: string, orchestratorId: string): { synced: string; imported: number; updated: number } | undefined {
    const row = this.db.prepare("SELECT synced, imported, updated FROM remote_sync WHERE stack = ? AND orchestrator_id = ?").get(stack, orchestratorId) as
      | Row
      | undefined;
    return row && { synced: row.synced as string, imported: row.imported as number, updated: row.updated as number };
  }

  async listConsumers(artifactId: string): Promise<StepRunRecord[]> {
    return (
      this.db
        .prepare(
          "SELECT s.* FROM step_inputs i JOIN step_runs s ON s.run_id = i.run_id AND s.step_id = i.step_id WHERE i.artifact_id = ? ORDER BY s.started, s.run_id",
        )
        .all(artifactId) as Row[]
    ).map(toStep);
  }
}
