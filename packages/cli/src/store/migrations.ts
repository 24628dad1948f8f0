/**
 * Versioned schema migrations; `PRAGMA user_version` holds how many have run.
 * Append only: never edit a migration that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE flavors (
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    description TEXT,
    remote INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    PRIMARY KEY (type, name)
  );
  CREATE TABLE components (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    flavor TEXT NOT NULL,
    config TEXT NOT NULL,
    connector TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (type, name)
  );
  CREATE TABLE stacks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
  );
  CREATE TABLE stack_components (
    stack_id TEXT NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    component_id TEXT NOT NULL REFERENCES components(id),
    PRIMARY KEY (stack_id, type)
  );
  CREATE TABLE snapshots (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    uri TEXT NOT NULL,
    body TEXT NOT NULL,
    created TEXT NOT NULL
  );
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    snapshot_uri TEXT NOT NULL,
    stack TEXT NOT NULL,
    orchestrator TEXT NOT NULL,
    status TEXT NOT NULL,
    orchestrator_run_id TEXT,
    pid INTEGER,
    host TEXT,
    error TEXT,
    created TEXT NOT NULL,
    started TEXT,
    ended TEXT
  );
  CREATE INDEX runs_created ON runs(created);
  CREATE INDEX runs_name ON runs(name);
  CREATE TABLE step_runs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id TEXT NOT NULL,
    step_name TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    cache_key TEXT,
    cached_from TEXT,
    outputs TEXT NOT NULL,
    log_uri TEXT,
    error TEXT,
    started TEXT,
    ended TEXT,
    PRIMARY KEY (run_id, step_id)
  );
  CREATE INDEX step_runs_cache ON step_runs(cache_key, status);
  CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id TEXT NOT NULL,
    output TEXT NOT NULL,
    uri TEXT NOT NULL,
    materializer TEXT NOT NULL,
    data_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created TEXT NOT NULL
  );
  CREATE INDEX artifacts_run ON artifacts(run_id);
  `,
  // Components refer to their service connector by id, so renaming the
  // connector keeps its users. A name that matched no connector (a rename or
  // delete made before this version) stays in `connector`, reported on use.
  `
  ALTER TABLE components ADD COLUMN connector_id TEXT REFERENCES components(id);
  UPDATE components SET connector_id = (
    SELECT k.id FROM components k WHERE k.type = 'service_connector' AND k.name = components.connector
  ) WHERE connector IS NOT NULL;
  UPDATE components SET connector = NULL WHERE connector_id IS NOT NULL;
  `,
  // Artifacts become named versions with metadata, tags and visualizations;
  // runs and step runs take metadata and tags; a step run records the
  // artifact versions it consumed (lineage). Existing artifacts are named
  // <pipeline>.<step>.<output> and numbered in the order they were made.
  `
  ALTER TABLE runs ADD COLUMN tags TEXT;
  ALTER TABLE runs ADD COLUMN metadata TEXT;
  ALTER TABLE step_runs ADD COLUMN inputs TEXT;
  ALTER TABLE step_runs ADD COLUMN metadata TEXT;
  ALTER TABLE step_runs ADD COLUMN run_metadata TEXT;
  ALTER TABLE artifacts ADD COLUMN name TEXT;
  ALTER TABLE artifacts ADD COLUMN version INTEGER;
  ALTER TABLE artifacts ADD COLUMN metadata TEXT;
  ALTER TABLE artifacts ADD COLUMN tags TEXT;
  ALTER TABLE artifacts ADD COLUMN visualizations TEXT;
  UPDATE artifacts SET name = (SELECT r.pipeline FROM runs r WHERE r.id = artifacts.run_id) || '.' || step_id || '.' || output;
  UPDATE artifacts SET version = v.n
    FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY name ORDER BY created, id) AS n FROM artifacts WHERE name IS NOT NULL) AS v
    WHERE v.id = artifacts.id;
  CREATE UNIQUE INDEX artifacts_version ON artifacts(name, version);
  CREATE TABLE step_inputs (
    artifact_id TEXT NOT NULL,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step_id TEXT NOT NULL,
    input TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, input)
  );
  CREATE INDEX step_inputs_artifact ON step_inputs(artifact_id);
  `,
  // Runs that come from somewhere: the run they retry, the deployment (and
  // its version) and the schedule that started them. A deployment is a named,
  // versioned snapshot plus what its orchestrator created for it.
  `
  ALTER TABLE runs ADD COLUMN retry_of TEXT;
  ALTER TABLE runs ADD COLUMN deployment TEXT;
  ALTER TABLE runs ADD COLUMN deployment_version INTEGER;
  ALTER TABLE runs ADD COLUMN schedule TEXT;
  CREATE INDEX runs_retry_of ON runs(retry_of);
  CREATE TABLE deployments (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    snapshot_id TEXT NOT NULL,
    snapshot_uri TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    stack TEXT NOT NULL,
    orchestrator TEXT NOT NULL,
    created TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (name, version)
  );
  `,
  // Runs every teammate sees: runs other machines (triggers, schedules,
  // teammates) started on a shared orchestrator, imported into this store by
  // `runs list`; when each stack's orchestrator was last looked at. Imported
  // runs whose step records are still to be read from the artifact store
  // have steps_pending set.
  `
  CREATE INDEX runs_orchestrator_run_id ON runs(orchestrator_run_id);
  CREATE TABLE imported_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    imported TEXT NOT NULL,
    steps_pending INTEGER NOT NULL DEFAULT 1
  );
  CREATE TABLE remote_sync (
    stack TEXT NOT NULL,
    orchestrator_id TEXT NOT NULL,
    synced TEXT NOT NULL,
    imported INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stack, orchestrator_id)
  );
  `,
  // Runs every teammate sees, listed before they are described: an imported
  // run recorded from the orchestrator's listing alone has details_pending
  // set (its snapshot, name and origin are read when it is shown); an
  // execution found not to be Stackyard's is kept in foreign_executions
  // (so that it is neither shown nor described again).
  `
  ALTER TABLE imported_runs ADD COLUMN details_pending INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE foreign_executions (
    orchestrator_run_id TEXT PRIMARY KEY,
    stack TEXT NOT NULL,
    status TEXT NOT NULL,
    found TEXT NOT NULL
  );
  `,
  // Lineage for runs recorded before steps recorded what they read: a step
  // that ran read, for each input its snapshot wires to an upstream step's
  // output, the version that upstream step run produced or took from the cache
  // in the same run (kept in step_inputs and in the step run's `inputs`). Steps
  // that already have input records are left alone.
  `
  CREATE TEMP TABLE wires AS
    SELECT s.id AS snapshot_id, json_extract(st.value, '$.id') AS step_id, wire.key AS input,
           json_extract(wire.value, '$.step') AS up_step, json_extract(wire.value, '$.output') AS up_output
    FROM snapshots s,
         json_each(CASE WHEN json_valid(s.body) THEN s.body ELSE '{}' END, '$.steps') st,
         json_each(CASE WHEN st.type = 'object' THEN st.value ELSE '{}' END, '$.inputs') wire
    WHERE wire.type = 'object'
      AND json_type(CASE WHEN wire.type = 'object' THEN wire.value END, '$.step') = 'text'
      AND json_type(CASE WHEN wire.type = 'object' THEN wire.value END, '$.output') = 'text';
  CREATE INDEX temp.wires_step ON wires(snapshot_id, step_id);
  INSERT OR IGNORE INTO step_inputs (artifact_id, run_id, step_id, input)
  SELECT a.id, sr.run_id, sr.step_id, w.input
  FROM step_runs sr
  JOIN runs r ON r.id = sr.run_id
  JOIN wires w ON w.snapshot_id = r.snapshot_id AND w.step_id = sr.step_id
  JOIN step_runs up ON up.run_id = sr.run_id AND up.step_id = w.up_step
  JOIN json_each(CASE WHEN json_valid(up.outputs) THEN up.outputs ELSE '{}' END) made ON made.key = w.up_output
  JOIN artifacts a ON a.id = made.value
  WHERE sr.status IN ('completed', 'failed')
    AND NOT EXISTS (SELECT 1 FROM step_inputs x WHERE x.run_id = sr.run_id AND x.step_id = sr.step_id);
  UPDATE step_runs SET inputs = (
    SELECT json_group_object(x.input, x.artifact_id) FROM step_inputs x WHERE x.run_id = step_runs.run_id AND x.step_id = step_runs.step_id
  )
  WHERE inputs IS NULL AND EXISTS (SELECT 1 FROM step_inputs x WHERE x.run_id = step_runs.run_id AND x.step_id = step_runs.step_id);
  DROP TABLE temp.wires;
  `,
];
