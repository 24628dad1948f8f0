import type { ArtifactRecord, PipelineSnapshot, RunQuery, RunRecord, RunStore, StepRunRecord } from "@stackyard/core";
import { ConflictError } from "@stackyard/core/errors";
import type { Database } from "./database.js";

type Row = Record<string, unknown>;

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
];

function toRun(row: Row): RunRecord {
  const run: Record<string, unknown> = {};
  for (const [key, column] of RUN_COLUMNS) if (row[column] !== null && row[column] !== undefined) run[key] = row[column];
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
      createRun: db.prepare(`INSERT INTO runs (${RUN_COLUMNS.map(([, c]) => c).join(", ")}) VALUES (${RUN_COLUMNS.map(([k]) => "@" + k).join(", ")})`),
      getRun: db.prepare("SELECT * FROM runs WHERE id = ?"),
      getRunByName: db.prepare("SELECT * FROM runs WHERE name = ? ORDER BY created DESC LIMIT 1"),
      getRunByPrefix: db.prepare("SELECT * FROM runs WHERE id LIKE ? ORDER BY created DESC LIMIT 2"),
      deleteRun: db.prepare("DELETE FROM runs WHERE id = ?"),
      putStep: db.prepare(
        // An upsert, not INSERT OR REPLACE: a step's record is written two or
        // three times, and replacing deletes and re-indexes the row each time.
        `INSERT INTO step_runs (run_id, step_id, step_name, status, attempt, cache_key, cached_from, outputs, log_uri, error, started, ended)
         VALUES (@runId, @stepId, @stepName, @status, @attempt, @cacheKey, @cachedFrom, @outputs, @logUri, @error, @started, @ended)
         ON CONFLICT (run_id, step_id) DO UPDATE SET step_name = excluded.step_name, status = excluded.status, attempt = excluded.attempt,
           cache_key = excluded.cache_key, cached_from = excluded.cached_from, outputs = excluded.outputs, log_uri = excluded.log_uri,
           error = excluded.error, started = excluded.started, ended = excluded.ended`,
      ),
      getStep: db.prepare("SELECT * FROM step_runs WHERE run_id = ? AND step_id = ?"),
      listSteps: db.prepare("SELECT * FROM step_runs WHERE run_id = ? ORDER BY started IS NULL, started, step_id"),
      putArtifact: db.prepare(
        `INSERT OR REPLACE INTO artifacts (id, run_id, step_id, output, uri, materializer, data_type, size, sha256, created)
         VALUES (@id, @runId, @stepId, @output, @uri, @materializer, @dataType, @size, @sha256, @created)`,
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
    if (sets.length) this.db.prepare(`UPDATE runs SET ${sets.join(", ")} WHERE id = @id`).run(values);
  }

  async listRuns(query: RunQuery = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.pipeline) {
      where.push("pipeline = ?");
      values.push(query.pipeline);
    }
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
    this.statements.deleteRun.run(id);
  }

  async putStepRun(step: StepRunRecord): Promise<void> {
    this.writeStep(step);
  }

  /** A step's artifacts and record in one transaction: one commit instead of one per row. */
  async putStepResult(step: StepRunRecord, artifacts: readonly ArtifactRecord[]): Promise<void> {
    this.db.transaction(() => {
      for (const artifact of artifacts) this.statements.putArtifact.run({ ...artifact });
      this.writeStep(step);
    })();
  }

  private writeStep(step: StepRunRecord): void {
    this.statements.putStep.run({
      runId: step.runId,
      stepId: step.stepId,
      stepName: step.stepName,
      status: step.status,
      attempt: step.attempt,
      cacheKey: step.cacheKey ?? null,
      cachedFrom: step.cachedFrom ? JSON.stringify(step.cachedFrom) : null,
      outputs: JSON.stringify(step.outputs),
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

  async putArtifact(artifact: ArtifactRecord): Promise<void> {
    this.statements.putArtifact.run({ ...artifact });
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
}
