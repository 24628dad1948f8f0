import type { ArtifactRecord, RunRecord, StepRunRecord } from "@stackyard/core";
import type { DashboardSource } from "../source.js";
import { ArtifactRoutes, artifactRef, type RawFile } from "./artifact-routes.js";
import { compareRuns } from "./compare-runs.js";
import { HttpError } from "./http-error.js";
import { logChunk } from "./log-tail.js";
import { itemView, mapIdsOf, mapProgress, parseItemQuery, readMapItems, readRunSteps, shownInputs } from "./map-steps.js";
import { pipelineSeries } from "./pipeline-series.js";
import { LOG_LIMIT, logTail, PREVIEW_LIMIT, previewOf } from "./previews.js";
import { MAX_LIMIT, parseRunQuery, RUN_STATUSES } from "./run-query.js";

/** The JSON the API answers a GET with. */
export type ApiBody = Record<string, unknown>;

/** What a run looks like in the API: the driving process's pid and host stay on this machine. */
function publicRun(run: RunRecord): Omit<RunRecord, "pid" | "host"> {
  const { pid: _pid, host: _host, ...rest } = run;
  return rest;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `Malformed path segment '${segment}'`);
  }
}

const ACTIVE = new Set(["initializing", "running", "retrying"]);

/** How long a retry may take to record its new run before the POST gives up waiting (ms). */
const RETRY_START_MS = 60_000;

/** What a retry runs again: the failed steps (nothing given), a step and what follows it, or every step. */
export interface RetryBody {
  from?: string;
  all?: boolean;
}

/** The JSON body of `POST /api/runs/<id>/retry`: empty, `{ "from": "<step>" }`, or `{ "all": true }` (a rerun). */
export function parseRetryBody(body: string): RetryBody {
  if (!body.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'The request body is not JSON: send {}, {"from": "<step id>"} or {"all": true}');
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new HttpError(400, 'The request body must be a JSON object: {}, {"from": "<step id>"} or {"all": true}');
  for (const key of Object.keys(value))
    if (key !== "from" && key !== "all") throw new HttpError(400, `Unknown field '${key}' in the request body: expected 'from' or 'all'`);
  const { from, all } = value as { from?: unknown; all?: unknown };
  if (all !== undefined && typeof all !== "boolean") throw new HttpError(400, "Field 'all' must be true or false");
  if (from !== undefined && (typeof from !== "string" || !from)) throw new HttpError(400, "Field 'from' must be a step id (a non-empty string)");
  if (all && from !== undefined) throw new HttpError(400, "Give 'from' (a step and what follows it) or 'all' (every step), not both");
  return { ...(from !== undefined ? { from: from as string } : {}), ...(all ? { all: true } : {}) };
}

/** JSON routes under /api/ (the event stream is the server's). */
export class ApiRoutes {
  private readonly artifacts: ArtifactRoutes;
  /** Runs a retry answered with already: a second retry of the same run waits for its own. */
  private readonly claimed = new Set<string>();

  constructor(private readonly source: DashboardSource) {
    this.artifacts = new ArtifactRoutes(source);
  }

  /** POST routes: the server has checked the token and the CSRF header already. */
  async handlePost(path: string, params: URLSearchParams, body = ""): Promise<ApiBody> {
    this.noParams(params);
    const parts = path.split("/").filter(Boolean).slice(1).map(decodeSegment);
    const [head, id, action] = parts;
    if (head === "runs" && id !== undefined && action === "stop" && parts.length === 3) return this.stop(id);
    if (head === "runs" && id !== undefined && action === "retry" && parts.length === 3) return this.retry(id, parseRetryBody(body));
    throw new HttpError(404, `No API route POST ${path}`);
  }

  /**
   * `POST /api/runs/<id>/retry` `{ from? }`: checks what `stackyard runs retry`
   * would refuse, starts it in a process of its own, and answers with the new
   * run once its record exists (it then goes on as any run, live in the page).
   */
  private async retry(id: string, body: RetryBody): Promise<ApiBody> {
    if (!this.source.startRetry) throw new HttpError(405, "This dashboard cannot retry runs");
    const run = await this.findRun(id);
    if (ACTIVE.has(run.status)) throw new HttpError(400, `Run '${run.name}' is still ${run.status}: retry it once it has ended (or stop it first)`);
    const snapshot = await this.source.getSnapshot(run);
    if (!snapshot) throw new HttpError(400, `Run '${run.name}' has no snapshot in this store: it cannot be retried from here`);
    const stepIds = snapshot.steps.map((s) => s.id).join(", ");
    if (body.from !== undefined && !snapshot.steps.some((s) => s.id === body.from))
      throw new HttpError(400, `Run '${run.name}' has no step '${body.from}' to retry from (its steps: ${stepIds})`);
    if (body.from === undefined && !body.all && (run.status === "completed" || run.status === "cached"))
      throw new HttpError(
        400,
        `Run '${run.name}' ${run.status === "cached" ? "was cached" : "completed"}: there is no failed step to retry; give 'from' to run a step and everything after it again (its steps: ${stepIds}), or 'all' to run every step again`,
      );
    const newest = async () => this.source.listRuns({ limit: 50, offset: 0 });
    const before = new Set((await newest()).map((r) => r.id));
    const started = await this.source.startRetry(run, body);
    const deadline = Date.now() + RETRY_START_MS;
    while (Date.now() < deadline) {
      const ended = started.outcome();
      const made = (await newest()).find((r) => r.retryOf === run.id && !before.has(r.id) && !this.claimed.has(r.id));
      if (made) {
        this.claimed.add(made.id);
        return { runId: run.id, from: body.from ?? null, all: body.all ?? false, run: publicRun(made) };
      }
      if (ended) {
        const output = ended.output.trim().split("\n").slice(-5).join("\n");
        throw new HttpError(500, `stackyard runs retry ${run.name} exited (code ${ended.code}) before recording a run${output ? `: ${output}` : ""}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new HttpError(504, `stackyard runs retry ${run.name} recorded no run within ${RETRY_START_MS / 1000} s; see .stackyard/dashboard-actions.log`);
  }

  private async stop(id: string): Promise<ApiBody> {
    if (!this.source.stopRun) throw new HttpError(405, "This dashboard cannot stop runs");
    const run = await this.findRun(id);
    if (!ACTIVE.has(run.status)) throw new HttpError(409, `Run '${run.name}' is already ${run.status}`);
    await this.source.stopRun(run);
    return { runId: run.id, stopping: true };
  }

  async handle(path: string, params: URLSearchParams): Promise<ApiBody | RawFile> {
    const parts = path.split("/").filter(Boolean).slice(1).map(decodeSegment);
    const [head, id, sub, stepId, leaf] = parts;
    if (head === "artifacts") return this.artifacts.handle(parts.slice(1), params);
    if (head === "runs" && parts.length === 1) return this.runs(params);
    if (head === "compare" && parts.length === 1) return this.compare(params);
    if (head === "pipelines" && id !== undefined && parts.length === 2) return this.pipeline(id, params);
    if (head === "runs" && id !== undefined && sub === "maps" && stepId !== undefined && leaf === "items" && parts.length === 5)
      return this.items(id, stepId, params);
    if (head === "runs" && id !== undefined && sub === "steps" && stepId !== undefined && leaf === "logs" && parts.length === 5 && params.has("offset"))
      return this.logsFrom(id, stepId, params);
    this.noParams(params);
    if (head === "runs" && id !== undefined && sub === "steps" && stepId !== undefined && parts.length === 4) return this.step(id, stepId);
    if (head === "runs" && id !== undefined && parts.length === 2) return this.run(id);
    if (head === "runs" && id !== undefined && sub === "steps" && stepId !== undefined && leaf === "logs" && parts.length === 5) return this.logs(id, stepId);
    if (head === "runs" && id !== undefined && sub === "steps" && stepId !== undefined && leaf === "outputs" && parts.length === 6)
      return this.output(id, stepId, parts[5]!);
    if (head === "filters" && parts.length === 1) return this.filters();
    if (head === "pipelines" && parts.length === 1) return this.pipelines();
    if (head === "stacks" && parts.length === 1) return { stacks: await this.source.listStacks() };
    if (head === "components" && parts.length === 1) return { components: await this.source.listComponents() };
    if (head === "flavors" && parts.length === 1) return { flavors: (await this.source.listFlavors?.()) ?? [] };
    throw new HttpError(404, `No API route ${path}`);
  }

  private noParams(params: URLSearchParams): void {
    for (const key of params.keys()) if (key !== "token") throw new HttpError(400, `Unknown query parameter '${key}': this route takes none`);
  }

  private async runs(params: URLSearchParams): Promise<ApiBody> {
    const query = parseRunQuery(params);
    // One more than asked tells whether a next page exists.
    const runs = await this.source.listRuns({ ...query, limit: query.limit + 1 });
    return { runs: runs.slice(0, query.limit).map(publicRun), limit: query.limit, offset: query.offset, hasMore: runs.length > query.limit };
  }

  /** `/api/pipelines`: each pipeline with its newest run and how many runs it has (up to {@link MAX_LIMIT}, then `more`). */
  private async pipelines(): Promise<ApiBody> {
    const { pipelines } = (await this.filters()) as { pipelines: string[] };
    return {
      pipelines: await Promise.all(
        pipelines.map(async (name) => {
          const runs = await this.source.listRuns({ pipeline: name, limit: MAX_LIMIT + 1, offset: 0 });
          return { name, runs: Math.min(runs.length, MAX_LIMIT), more: runs.length > MAX_LIMIT, latest: runs[0] ? publicRun(runs[0]) : null };
        }),
      ),
    };
  }

  /** `/api/pipelines/<name>?limit=`: its newest runs (100 by default), oldest first, with durations and numeric values. */
  private async pipeline(name: string, params: URLSearchParams): Promise<ApiBody> {
    for (const key of params.keys()) if (key !== "limit" && key !== "token") throw new HttpError(400, `Unknown query parameter '${key}': expected limit`);
    if (params.getAll("limit").length > 1) throw new HttpError(400, "Query parameter 'limit' is given more than once");
    const raw = params.get("limit");
    if (raw !== null && (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIMIT))
      throw new HttpError(400, `Invalid limit '${raw}': expected a whole number from 1 to ${MAX_LIMIT}`);
    const series = await pipelineSeries(this.source, name, raw === null ? 100 : Number(raw));
    if (!series.runs.length) throw new HttpError(404, `No runs of pipeline '${name}'`);
    return series;
  }

  /** `/api/filters`: the values the runs list's filters offer. */
  private async filters(): Promise<ApiBody> {
    const fromStore = await this.source.runFilterOptions?.();
    const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
    let options = fromStore;
    if (!options) {
      const runs = await this.source.listRuns({ limit: MAX_LIMIT, offset: 0 });
      options = { pipelines: sorted(runs.map((r) => r.pipeline)), stacks: sorted(runs.map((r) => r.stack)), tags: sorted(runs.flatMap((r) => r.tags ?? [])) };
    }
    const registered = (await this.source.listStacks()).map((s) => s.name);
    return { pipelines: options.pipelines, statuses: RUN_STATUSES, stacks: sorted([...options.stacks, ...registered]), tags: options.tags ?? [] };
  }

  /** `/api/compare?a=<run>&b=<run>`: two runs side by side. */
  private async compare(params: URLSearchParams): Promise<ApiBody> {
    for (const key of params.keys()) if (!["a", "b", "token"].includes(key)) throw new HttpError(400, `Unknown query parameter '${key}': expected a and b`);
    const ids = ["a", "b"].map((key) => {
      const values = params.getAll(key);
      if (values.length !== 1 || !values[0]) throw new HttpError(400, `Query parameter '${key}' must name one run (its id or name)`);
      return values[0];
    });
    const [a, b] = await Promise.all(ids.map((id) => this.findRun(id!)));
    return compareRuns(this.source, a!, b!);
  }

  private async findRun(id: string): Promise<RunRecord> {
    const run = await this.source.getRun(id);
    if (!run) throw new HttpError(404, `No run '${id}'`);
    return run;
  }

  /** Resolves artifact ids to versions: the run's own, then (inputs, cached outputs) any other run's. */
  private artifactLookup(artifacts: readonly ArtifactRecord[]) {
    const byId = new Map(artifacts.map((a) => [a.id, a]));
    return async (artifactId: string) => byId.get(artifactId) ?? (await this.source.getArtifact?.(artifactId));
  }

  /**
   * A step record with its inputs and outputs as versions. A collector's
   * per-item inputs (`scores[0]`, `scores[1]`, ...) are listed up to
   * 10 each (`COLLECTED_SHOWN`), with their count in `collected`.
   */
  private async stepView(step: StepRunRecord, lookup: (id: string) => Promise<ArtifactRecord | undefined>) {
    const refs = async (ids: Record<string, string> | [string, string][]) =>
      Promise.all(
        (Array.isArray(ids) ? ids : Object.entries(ids)).map(async ([key, artifactId]) => {
          const a = await lookup(artifactId);
          return { key, a, ref: a ? artifactRef(a) : { id: artifactId, name: null, version: null } };
        }),
      );
    const { inputs, collected } = shownInputs(step.inputs);
    return {
      ...step,
      inputs: Object.fromEntries(inputs),
      consumed: (await refs(inputs)).map(({ key, ref }) => ({ input: key, ...ref })),
      collected,
      artifacts: (await refs(step.outputs)).map(({ key, a, ref }) => ({
        output: key,
        ...ref,
        uri: a?.uri,
        materializer: a?.materializer,
        dataType: a?.dataType,
        size: a?.size,
        sha256: a?.sha256,
        tags: a?.tags ?? [],
        visualizations: (a?.visualizations ?? []).map((v, index) => ({ index, type: v.type, title: v.title ?? null })),
      })),
    };
  }

  /**
   * A run with its snapshot and step records. A map step's items are not
   * listed: its record carries `map`, their counts (the items route pages
   * through them), so a map of 10,000 items sends one record.
   */
  private async run(id: string): Promise<ApiBody> {
    const run = await this.findRun(id);
    const [artifacts, snapshot] = await Promise.all([this.source.listArtifacts(run.id, { items: false }), this.source.getSnapshot(run)]);
    const lookup = this.artifactLookup(artifacts);
    const { steps, tallies } = await readRunSteps(this.source, run.id, mapIdsOf(snapshot));
    const stepViews = await Promise.all(
      steps.map(async (step) => {
        const view = await this.stepView(step, lookup);
        const tally = tallies.get(step.stepId);
        return tally ? { ...view, map: mapProgress(step, tally) } : view;
      }),
    );
    const retried = run.retryOf ? await this.source.getRun(run.retryOf) : undefined;
    return {
      run: publicRun(run),
      retryOf: run.retryOf ? { id: run.retryOf, name: retried?.name ?? null } : null,
      actions: { stop: this.source.stopRun !== undefined, retry: this.source.startRetry !== undefined },
      error: run.error ?? null,
      snapshot: snapshot ?? null,
      steps: stepViews,
    };
  }

  /** `/api/runs/<run>/steps/<step>`: one step record (a map's item too), as the run lists its steps. */
  private async step(id: string, stepId: string): Promise<ApiBody> {
    const run = await this.findRun(id);
    const step = await this.findStep(run, stepId);
    const view = await this.stepView(step, this.artifactLookup(await this.source.listArtifacts(run.id, { items: false })));
    return { runId: run.id, step: view };
  }

  /**
   * `/api/runs/<run>/maps/<step>/items?status=&limit=&offset=`: a page of a
   * map step's items in item order (`status=running` also matches retrying
   * and initializing items), with the map's progress.
   */
  private async items(id: string, stepId: string, params: URLSearchParams): Promise<ApiBody> {
    const query = parseItemQuery(params);
    const run = await this.findRun(id);
    const mapIds = mapIdsOf(await this.source.getSnapshot(run));
    const { steps, tallies } = await readRunSteps(this.source, run.id, mapIds);
    const tally = tallies.get(stepId);
    const record = steps.find((s) => s.stepId === stepId);
    if (!tally) throw new HttpError(404, `Step '${stepId}' of run '${run.name}' is not a map step`);
    const page = await readMapItems(this.source, run.id, stepId, mapIds, query);
    return {
      runId: run.id,
      stepId,
      status: record?.status ?? "pending",
      map: mapProgress(record, tally),
      total: page.total,
      limit: query.limit,
      offset: query.offset,
      hasMore: query.offset + query.limit < page.total,
      items: page.items.map(itemView),
    };
  }

  private async findStep(run: RunRecord, stepId: string) {
    const step = this.source.getStep ? await this.source.getStep(run.id, stepId) : (await this.source.listSteps(run.id)).find((s) => s.stepId === stepId);
    if (!step) throw new HttpError(404, `Run '${run.name}' has no step '${stepId}'`);
    return step;
  }

  /** The end of a step's log (at most {@link LOG_LIMIT} bytes; `truncated` says when there is more before it). */
  private async logs(id: string, stepId: string): Promise<ApiBody> {
    const run = await this.findRun(id);
    const step = await this.findStep(run, stepId);
    const tail = logTail(await this.source.readStepLogs(run, stepId));
    return { runId: run.id, stepId, status: step.status, ...tail, limit: LOG_LIMIT };
  }

  /**
   * `/api/runs/<run>/steps/<step>/logs?offset=N`: the live tail. The log's
   * bytes from `offset` on (the newest {@link LOG_LIMIT} when more are new),
   * whole characters only, with `next`, the offset to ask from next time, and
   * the step's status: the page asks again while it is active.
   */
  private async logsFrom(id: string, stepId: string, params: URLSearchParams): Promise<ApiBody> {
    for (const key of params.keys()) if (key !== "offset" && key !== "token") throw new HttpError(400, `Unknown query parameter '${key}': expected offset`);
    if (params.getAll("offset").length > 1) throw new HttpError(400, "Query parameter 'offset' is given more than once");
    const raw = params.get("offset")!;
    if (!/^\d{1,15}$/.test(raw)) throw new HttpError(400, `Invalid offset '${raw}': expected a byte offset, a whole number from 0`);
    const run = await this.findRun(id);
    const step = await this.findStep(run, stepId);
    return { runId: run.id, stepId, status: step.status, ...(await logChunk(this.source, run, stepId, Number(raw))), limit: LOG_LIMIT };
  }

  /**
   * One output of a step and a preview of its start (at most {@link PREVIEW_LIMIT}
   * bytes), read through the run's artifact store. Only artifacts the store
   * records for this step are read: a name never becomes a path.
   */
  private async output(id: string, stepId: string, output: string): Promise<ApiBody> {
    const run = await this.findRun(id);
    const step = await this.findStep(run, stepId);
    const artifactId = step.outputs[output];
    if (artifactId === undefined) throw new HttpError(404, `Step '${stepId}' of run '${run.name}' has no output '${output}'`);
    // The run's own artifact or, for a cached step, one of the run it reused it from.
    const owners = [run.id, ...(step.cachedFrom ? [step.cachedFrom.runId] : [])];
    let origin: ArtifactRecord | undefined;
    if (this.source.getArtifact) {
      const found = await this.source.getArtifact(artifactId);
      origin = found && owners.includes(found.runId) ? found : undefined;
    } else {
      for (const owner of owners) origin ??= (await this.source.listArtifacts(owner)).find((a) => a.id === artifactId);
    }
    if (!origin) throw new HttpError(404, `The artifact of output '${output}' of step '${stepId}' is not recorded`);
    const producer = origin.runId === run.id ? run : await this.source.getRun(origin.runId);
    const head = producer && this.source.readOutput ? await this.source.readOutput(producer, origin, PREVIEW_LIMIT).catch(() => undefined) : undefined;
    const preview = head
      ? { file: head.file, ...previewOf(head.file, head.bytes, head.size) }
      : { file: null, kind: "unavailable", text: "The artifact cannot be read from its artifact store.", truncated: false };
    return {
      runId: run.id,
      stepId,
      output,
      artifact: { id: origin.id, runId: origin.runId, materializer: origin.materializer, dataType: origin.dataType, size: origin.size, sha256: origin.sha256 },
      preview,
      limit: PREVIEW_LIMIT,
    };
  }
}
