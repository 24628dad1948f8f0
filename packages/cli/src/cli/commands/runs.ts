import type { RunRecord, RunStatus } from "@stackyard/core";
import { ConfigError, ConflictError, NotFoundError } from "@stackyard/core/errors";
import { reapDeadProjectRun } from "../../client/stale-runs.js";
import type { Project } from "../../store/open-project.js";
import { SqliteRunStore } from "../../store/sqlite-run-store.js";
import { info, printDetails, printJson, printTable } from "../output.js";
import { quoteInput } from "../quote-input.js";
import { withProject } from "../with-project.js";

function duration(start?: string, end?: string): string {
  if (!start) return "";
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Whether the stack's orchestrator may run runs elsewhere, known without
 * loading anything: only such an orchestrator can have runs that other
 * machines started. Built-in and registered flavors say so (`remote`); a
 * flavor an installed package declares is asked (it is loaded).
 */
async function orchestratorIsRemote(project: Project, stackName: string | undefined): Promise<boolean> {
  const id = project.config.getStack(stackName ?? project.config.activeStackName()).components.orchestrator;
  const row = id ? project.config.getComponentById(id) : undefined;
  if (!row) return false;
  const { FlavorRegistry } = await import("../../flavors/registry.js");
  const flavor = new FlavorRegistry(project.config, project.paths.sourceRoot).find("orchestrator", row.flavor);
  return !flavor || flavor.remote || flavor.origin.startsWith("package ");
}

/** Prints the warning of a look at the orchestrator that failed (on stderr, once). */
function warnRemote(warning: string | undefined): void {
  if (warning) process.stderr.write(`Warning: ${warning}\n`);
}

/**
 * Finds a run by id, id prefix or name, reconciling it first. A run not
 * recorded here is looked for on the active stack's orchestrator (runs
 * other machines started); an imported run's steps are read from the
 * artifact store when they were not yet, or again while it runs.
 */
export async function findRun(project: Project, store: SqliteRunStore, idOrName: string, opts: { local?: boolean } = {}): Promise<RunRecord> {
  let run = await store.getRun(idOrName);
  if (!run && !opts.local && (await orchestratorIsRemote(project, undefined))) {
    const { syncRemoteRuns } = await import("../../client/remote-runs.js");
    warnRemote((await syncRemoteRuns(project, store, { stepsFor: 0, lookFor: idOrName })).warning);
    run = await store.getRun(idOrName);
  }
  const notFound = () => new NotFoundError(`No run '${idOrName}'`, { hint: "List runs with `stackyard runs list`." });
  if (!run) throw notFound();
  if (!opts.local && store.importedRun(run.id)) {
    const { refreshImportedRun } = await import("../../client/remote-runs.js");
    const refreshed = await refreshImportedRun(project, store, run);
    if (!refreshed) throw notFound();
    return refreshed;
  }
  const { reconcileRun } = await import("../../client/reconcile.js");
  return reconcileRun(project, store, await reapDeadProjectRun(project, store, run));
}

/** Where a run comes from: `deployment@version`, `schedule NAME`. */
function originOf(run: RunRecord): string {
  const parts: string[] = [];
  if (run.deployment) parts.push(`${run.deployment}@${run.deploymentVersion ?? "?"}`);
  if (run.schedule) parts.push(`schedule ${run.schedule}`);
  return parts.join(", ");
}

/** `--limit`: a whole number from 1. */
function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 50;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigError(`Invalid --limit ${quoteInput(raw)}: expected a whole number from 1`, { hint: "For example `stackyard runs list --limit 20`." });
  }
  return Number(raw);
}

// The statuses of core's RUN_STATUSES, spelled out so that listing runs does not load core.
const RUN_STATUSES = ["initializing", "running", "completed", "cached", "failed", "skipped", "retrying", "stopped"] as const satisfies readonly RunStatus[];

/** `--status`: one of the statuses a run can have. */
function parseStatus(raw: string | undefined): RunRecord["status"] | undefined {
  if (raw === undefined || (RUN_STATUSES as readonly string[]).includes(raw)) return raw as RunRecord["status"] | undefined;
  throw new ConfigError(`Invalid --status ${quoteInput(raw)}: a run's status is one of ${RUN_STATUSES.join(", ")}`);
}

/**
 * `stackyard runs list`: runs recorded here, after asking the active stack's
 * orchestrator (when it lists runs) for runs other machines started and
 * runs whose status changed since the last look; `--local` skips the look.
 */
export async function listRuns(opts: {
  json?: boolean;
  pipeline?: string;
  status?: string;
  tag?: string;
  limit?: string;
  local?: boolean;
  stack?: string;
}): Promise<void> {
  const limit = parseLimit(opts.limit);
  const status = parseStatus(opts.status);
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    if (!opts.local && (await orchestratorIsRemote(project, opts.stack))) {
      // Loads core and the orchestrator only here: `--local` stays a read of the store.
      const { syncRemoteRuns } = await import("../../client/remote-runs.js");
      const synced = await syncRemoteRuns(project, store, {
        stack: opts.stack,
        stepsFor: limit,
        show: { limit, pipeline: opts.pipeline, status, ...(opts.tag !== undefined ? { tag: opts.tag } : {}) },
      });
      warnRemote(synced.warning);
      if (synced.imported || synced.updated) {
        const parts = [synced.imported ? `${synced.imported} new run(s)` : "", synced.updated ? `${synced.updated} changed run(s)` : ""].filter(Boolean);
        info(`Found ${parts.join(" and ")} on the orchestrator.`);
      }
      if (synced.undescribed)
        info(
          `${synced.undescribed} run(s) of this page could not be read from the orchestrator in time and are not shown: \`stackyard runs list\` again shows them.`,
        );
      else if (synced.partial) info("The orchestrator has more runs than it could list in time: `stackyard runs list` again finds the rest.");
    }
    const runs = await store.listRuns({ pipeline: opts.pipeline, status, limit, ...(opts.tag !== undefined ? { tag: opts.tag } : {}) });
    const reconciled = await Promise.all(runs.map((r) => reapDeadProjectRun(project, store, r)));
    const imported = store.importedRunIds(reconciled.map((r) => r.id));
    if (opts.json) printJson(reconciled.map((r) => (imported.has(r.id) ? { ...r, imported: true } : r)));
    else
      printTable(
        reconciled.map((r) => ({
          id: r.id.slice(0, 8),
          name: r.name,
          pipeline: r.pipeline,
          status: r.status,
          stack: r.stack,
          started: r.started ?? r.created,
          duration: duration(r.started, r.ended),
          origin: originOf(r),
          tags: (r.tags ?? []).join(", "),
        })),
        [
          "id",
          "name",
          "pipeline",
          "status",
          "stack",
          "started",
          "duration",
          ...(reconciled.some((r) => originOf(r)) ? ["origin"] : []),
          ...(reconciled.some((r) => r.tags?.length) ? ["tags"] : []),
        ],
        opts.tag !== undefined || opts.pipeline !== undefined || status !== undefined ? "No runs match." : "No runs yet.",
      );
  });
}

/** `score[3]`: an item of map step `score` (kept here so that describing a run does not load core). */
const ITEM_ID = /^(.+)\[(\d+)\]$/;
/** Items of a map listed by `runs describe` without `--items`: the ones that did not succeed, up to this many. */
const ITEMS_SHOWN = 10;
const MAP_KEY = "stackyard.map";

type StepRecord = Awaited<ReturnType<SqliteRunStore["listStepRuns"]>>[number];

/** Steps in their order with each map's items after it, by index; `itemsOf` has each map's items. */
function groupItems(steps: readonly StepRecord[]): { ordered: StepRecord[]; itemsOf: Map<string, StepRecord[]> } {
  const itemsOf = new Map<string, StepRecord[]>();
  const plain: StepRecord[] = [];
  for (const step of steps) {
    const item = ITEM_ID.exec(step.stepId);
    if (!item) {
      plain.push(step);
      continue;
    }
    let list = itemsOf.get(item[1]!);
    if (!list) itemsOf.set(item[1]!, (list = []));
    list.push(step);
  }
  const index = (s: StepRecord) => Number(ITEM_ID.exec(s.stepId)![2]);
  for (const list of itemsOf.values()) list.sort((a, b) => index(a) - index(b));
  const ordered = plain.flatMap((s) => [s, ...(itemsOf.get(s.stepId) ?? [])]);
  // Items whose map has no record (a run cut short): after everything else.
  for (const [map, list] of itemsOf) if (!plain.some((s) => s.stepId === map)) ordered.push(...list);
  return { ordered, itemsOf };
}

/** A map step's summary line: `6 items: 5 completed, 1 failed`. */
function mapSummary(step: StepRecord, items: readonly StepRecord[]): string {
  const recorded = step.metadata?.[MAP_KEY] as { items?: number; notStarted?: number } | undefined;
  const total = recorded?.items ?? items.length;
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.status, (counts.get(item.status) ?? 0) + 1);
  const notStarted = total - items.length;
  const parts = [...counts].map(([status, n]) => `${n} ${status}`);
  if (notStarted > 0) parts.push(`${notStarted} not started`);
  return `${total} item${total === 1 ? "" : "s"}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

export async function describeRun(idOrName: string, opts: { json?: boolean; items?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const run = await findRun(project, store, idOrName);
    const { ordered: steps, itemsOf } = groupItems(await store.listStepRuns(run.id));
    // Without --items, a map's items are summarised on its line; the ones that did not succeed are listed.
    const isItem = (stepId: string) => ITEM_ID.test(stepId);
    const hidden = (stepId: string) => !opts.items && isItem(stepId);
    const artifacts = await store.listArtifacts(run.id);
    const byId = new Map(artifacts.map((a) => [a.id, a]));
    const outputs = await Promise.all(
      steps.flatMap((s) =>
        Object.entries(s.outputs).map(async ([output, id]) => {
          const artifact = byId.get(id) ?? (await store.getArtifact(id));
          return {
            step: s.stepId,
            output,
            artifact: artifact?.name === undefined ? "" : `${artifact.name}:${artifact.version}`,
            uri: artifact?.uri,
            materializer: artifact?.materializer,
            size: artifact?.size,
            sha256: artifact?.sha256,
            ...(artifact?.metadata ? { metadata: artifact.metadata } : {}),
          };
        }),
      ),
    );
    const imported = store.importedRun(run.id);
    if (opts.json) {
      printJson({ ...run, ...(imported ? { imported: true } : {}), steps, artifacts: outputs });
      return;
    }
    printDetails({
      id: run.id,
      name: run.name,
      pipeline: run.pipeline,
      status: run.status,
      stack: run.stack,
      orchestrator: run.orchestrator,
      started: run.started,
      ended: run.ended,
      duration: duration(run.started, run.ended),
      ...(run.tags?.length ? { tags: run.tags.join(", ") } : {}),
      ...(run.retryOf ? { "retry of": (await store.getRun(run.retryOf))?.name ?? run.retryOf } : {}),
      ...(run.deployment ? { deployment: `${run.deployment} (version ${run.deploymentVersion ?? "?"})` } : {}),
      ...(run.schedule ? { schedule: run.schedule } : {}),
      ...(imported ? { "started by": `another machine (found on orchestrator ${run.orchestrator}, ${imported.imported})` } : {}),
      ...(run.error ? { error: run.error } : {}),
    });
    const metadataLines = [
      ...Object.entries(run.metadata ?? {}).map(([key, value]) => ({ of: "run", key, value })),
      ...steps
        .filter((s) => !hidden(s.stepId))
        .flatMap((s) =>
          Object.entries(s.metadata ?? {})
            .filter(([key]) => key !== MAP_KEY)
            .map(([key, value]) => ({ of: s.stepId, key, value })),
        ),
      ...outputs
        .filter((o) => !hidden(o.step))
        .flatMap((o) => Object.entries(o.metadata ?? {}).map(([key, value]) => ({ of: `${o.step}.${o.output}`, key, value }))),
    ];
    if (metadataLines.length) {
      const { formatMetadataValue } = await import("@stackyard/core");
      process.stdout.write("\nMetadata:\n");
      printTable(
        metadataLines.map((m) => ({ ...m, value: formatMetadataValue(m.value) })),
        ["of", "key", "value"],
      );
    }
    const shownItems = new Set<string>();
    const notes: string[] = [];
    if (!opts.items) {
      for (const [map, items] of itemsOf) {
        const unsuccessful = items.filter((i) => i.status !== "completed" && i.status !== "cached");
        for (const item of unsuccessful.slice(0, ITEMS_SHOWN)) shownItems.add(item.stepId);
        if (items.length > shownItems.size) notes.push(`${map}: ${items.length} items recorded; list them all with --items.`);
      }
    }
    const mapIds = new Set(steps.filter((s) => s.metadata?.[MAP_KEY] !== undefined).map((s) => s.stepId));
    process.stdout.write("\nSteps:\n");
    printTable(
      steps
        .filter((s) => !hidden(s.stepId) || shownItems.has(s.stepId))
        .map((s) => ({
          step: isItem(s.stepId) ? `  ${s.stepId}` : s.stepId,
          status: s.status,
          attempts: mapIds.has(s.stepId) ? "" : s.attempt,
          duration: duration(s.started, s.ended),
          error: mapIds.has(s.stepId)
            ? [mapSummary(s, itemsOf.get(s.stepId) ?? []), s.error?.split("\n")[0]].filter(Boolean).join("; ")
            : s.error
              ? s.error.split("\n")[0]
              : "",
        })),
      ["step", "status", "attempts", "duration", "error"],
      "  (no steps recorded)",
    );
    for (const note of notes) process.stdout.write(`  ${note}\n`);
    process.stdout.write("\nArtifacts:\n");
    const itemOutputs = new Map<string, number>();
    for (const o of outputs) if (hidden(o.step)) itemOutputs.set(ITEM_ID.exec(o.step)![1]!, (itemOutputs.get(ITEM_ID.exec(o.step)![1]!) ?? 0) + 1);
    printTable(
      outputs.filter((o) => !hidden(o.step)).map((o) => ({ ...o, sha256: o.sha256?.slice(0, 12) })),
      ["step", "output", "artifact", "materializer", "size", "sha256", "uri"],
      itemOutputs.size ? "" : "  (none)",
    );
    for (const [map, n] of itemOutputs) process.stdout.write(`  ${map}: ${n} item output${n === 1 ? "" : "s"}; list them with --items.\n`);
  });
}

export async function runLogs(idOrName: string, opts: { step?: string }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const run = await findRun(project, store, idOrName);
    const { ordered: steps, itemsOf } = groupItems(await store.listStepRuns(run.id));
    // A map step has no log of its own: --step MAP shows its items' logs, in item order.
    const chosen = opts.step ? steps.filter((s) => s.stepId === opts.step && !itemsOf.has(s.stepId)).concat(itemsOf.get(opts.step) ?? []) : steps;
    const headers = !opts.step || itemsOf.has(opts.step);
    if (opts.step && !chosen.length) {
      throw new NotFoundError(`Run '${run.name}' has no step '${opts.step}'`, {
        hint: `Its steps: ${steps.map((s) => s.stepId).join(", ") || "(none recorded)"}`,
      });
    }
    const { readStepLogs } = await import("../../client/logs.js");
    for (const step of chosen) {
      const text = await readStepLogs(project, store, run, step);
      if (headers) process.stdout.write(`==> ${step.stepId} (${step.status}) <==\n`);
      process.stdout.write(text.endsWith("\n") || !text ? text : text + "\n");
    }
  });
}

/** `stackyard runs retry RUN [--from STEP | --all] [--run-name NAME]`: see `retryRunInProject`. */
export async function retryRun(idOrName: string, opts: { from?: string; all?: boolean; runName?: string; quiet?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const run = await findRun(project, store, idOrName);
    const { retryRunInProject } = await import("../../client/run-pipeline.js");
    await retryRunInProject(project, run.id, opts);
  });
}

export async function deleteRun(idOrName: string): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const run = await findRun(project, store, idOrName);
    if (["initializing", "running", "retrying"].includes(run.status)) {
      throw new ConflictError(`Run '${run.name}' is still ${run.status}`, { hint: `Stop it first with \`stackyard runs stop ${run.name}\`.` });
    }
    await store.deleteRun(run.id);
    info(`Deleted run '${run.name}' (${run.id}).`);
  });
}

export async function stopRun(idOrName: string): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const run = await findRun(project, store, idOrName);
    if (!["initializing", "running", "retrying"].includes(run.status)) {
      info(`Run '${run.name}' is already ${run.status}.`);
      return;
    }
    const { stopRunNow } = await import("../../client/reconcile.js");
    await stopRunNow(project, store, run);
    info(`Stopping run '${run.name}'.`);
  });
}

/** `stackyard runs tag RUN TAG... [--remove TAG...]`. */
export async function tagRun(idOrName: string, add: string[], opts: { remove?: string[] }): Promise<void> {
  const { checkTags } = await import("@stackyard/core");
  const adding = checkTags(add, "stackyard runs tag");
  const removing = checkTags(opts.remove ?? [], "--remove");
  if (!adding.length && !removing.length)
    throw new ConfigError("Nothing to do: give tags to add, or --remove TAG", { hint: "For example `stackyard runs tag my-run baseline`." });
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const run = await store.getRun(idOrName);
    if (!run) throw new NotFoundError(`No run '${idOrName}'`, { hint: "List runs with `stackyard runs list`." });
    await store.tag({ run: run.id }, adding, removing);
    const tags = (await store.getRun(run.id))?.tags ?? [];
    info(`Run '${run.name}' tags: ${tags.length ? tags.join(", ") : "(none)"}.`);
  });
}

/** One line of `runs compare`: what, and its value in each run. */
interface ComparedRow {
  section: string;
  key: string;
  a: unknown;
  b: unknown;
  same: boolean;
}

/** `stackyard runs compare A B`: parameters, metadata, step statuses and durations, and output contents side by side. */
export async function compareRuns(a: string, b: string, opts: { json?: boolean; all?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const store = new SqliteRunStore(project.db);
    const runs = [await findRun(project, store, a), await findRun(project, store, b)] as const;
    const details = await Promise.all(
      runs.map(async (run) => {
        const snapshot = await store.getSnapshot(run.snapshotId);
        const steps = await store.listStepRuns(run.id);
        const artifacts = new Map<string, { label: string; sha256: string }>();
        for (const step of steps) {
          for (const [output, id] of Object.entries(step.outputs)) {
            const artifact = await store.getArtifact(id);
            if (artifact)
              artifacts.set(`${step.stepId}.${output}`, {
                label: artifact.name === undefined ? "" : `${artifact.name}:${artifact.version}`,
                sha256: artifact.sha256,
              });
          }
        }
        return { run, snapshot, steps: new Map(steps.map((s) => [s.stepId, s])), artifacts };
      }),
    );
    const [x, y] = details as [(typeof details)[0], (typeof details)[0]];
    const rows: ComparedRow[] = [];
    const add = (section: string, key: string, va: unknown, vb: unknown) => {
      const same = JSON.stringify(va) === JSON.stringify(vb);
      rows.push({ section, key, a: va, b: vb, same });
    };
    const keys = (p: object | undefined, q: object | undefined) => [...new Set([...Object.keys(p ?? {}), ...Object.keys(q ?? {})])].sort();
    add("run", "pipeline", x.run.pipeline, y.run.pipeline);
    add("run", "status", x.run.status, y.run.status);
    add("run", "stack", x.run.stack, y.run.stack);
    add("run", "duration", duration(x.run.started, x.run.ended), duration(y.run.started, y.run.ended));
    add("run", "tags", (x.run.tags ?? []).join(", "), (y.run.tags ?? []).join(", "));
    const px = x.snapshot?.pipeline.parameters;
    const py = y.snapshot?.pipeline.parameters;
    for (const key of keys(px, py)) add("parameter", key, px?.[key], py?.[key]);
    for (const step of [...new Set([...x.steps.keys(), ...y.steps.keys()])]) {
      const sx = x.snapshot?.steps.find((s) => s.id === step)?.parameters;
      const sy = y.snapshot?.steps.find((s) => s.id === step)?.parameters;
      for (const key of keys(sx, sy)) add("parameter", `${step}.${key}`, sx?.[key], sy?.[key]);
    }
    for (const key of keys(x.run.metadata, y.run.metadata)) add("metadata", key, x.run.metadata?.[key], y.run.metadata?.[key]);
    for (const step of [...new Set([...x.steps.keys(), ...y.steps.keys()])]) {
      const sx = x.steps.get(step);
      const sy = y.steps.get(step);
      add("step", step, sx?.status, sy?.status);
      for (const key of keys(sx?.metadata, sy?.metadata)) add("metadata", `${step}.${key}`, sx?.metadata?.[key], sy?.metadata?.[key]);
    }
    for (const output of [...new Set([...x.artifacts.keys(), ...y.artifacts.keys()])].sort()) {
      const ox = x.artifacts.get(output);
      const oy = y.artifacts.get(output);
      rows.push({
        section: "output",
        key: output,
        a: ox?.label ?? ox?.sha256.slice(0, 12),
        b: oy?.label ?? oy?.sha256.slice(0, 12),
        same: ox?.sha256 === oy?.sha256,
      });
    }
    if (opts.json) {
      printJson({ a: { id: x.run.id, name: x.run.name }, b: { id: y.run.id, name: y.run.name }, rows });
      return;
    }
    const { formatMetadataValue } = await import("@stackyard/core");
    const text = (v: unknown) => (v === undefined ? "-" : formatMetadataValue(v as never));
    const shown = opts.all ? rows : rows.filter((r) => !r.same || r.section === "run");
    printTable(
      shown.map((r) => ({
        what: `${r.section} ${r.key}`,
        [x.run.name]: text(r.a),
        [y.run.name === x.run.name ? `${y.run.name} (b)` : y.run.name]: text(r.b),
        "": r.same ? "" : "≠",
      })),
      ["what", x.run.name, y.run.name === x.run.name ? `${y.run.name} (b)` : y.run.name, ""],
    );
    const hidden = rows.length - shown.length;
    if (hidden) info(`${hidden} equal row(s) hidden; --all shows them.`);
  });
}
