import type { ComponentSummary, FlavorSummary, SnapshotSummary, StackSummary } from "../source.js";

/** A run as the API sends it. */
export interface RunView {
  id: string;
  name: string;
  pipeline: string;
  stack: string;
  orchestrator: string;
  status: string;
  error?: string;
  created: string;
  started?: string;
  ended?: string;
  tags?: string[];
  metadata?: Record<string, unknown>;
  /** The id of the run this one retries. */
  retryOf?: string;
  deployment?: string;
  deploymentVersion?: number;
}

/** A version named by `name:version` (both null for records made before names). */
export interface ArtifactRef {
  id: string;
  name: string | null;
  version: number | null;
}

export interface ArtifactView extends ArtifactRef {
  output: string;
  tags?: string[];
  /** The views its materializer made (an SVG, a table, ...), drawn in place of the raw preview. */
  visualizations?: Array<{ index: number; type: string; title: string | null }>;
  uri?: string;
  materializer?: string;
  dataType?: string;
  size?: number;
  sha256?: string;
}

export interface StepView {
  runId: string;
  stepId: string;
  stepName: string;
  status: string;
  attempt: number;
  cachedFrom?: { runId: string; stepId: string };
  error?: string;
  started?: string;
  ended?: string;
  metadata?: Record<string, unknown>;
  artifacts: ArtifactView[];
  consumed: Array<ArtifactRef & { input: string }>;
  /** A collector's per-item inputs by collected map: how many (only the first few are in `consumed`). */
  collected?: Array<{ input: string; items: number }>;
  /** Set on a map step: its items' counts. */
  map?: MapProgress;
}

/** A map step's progress (server/map-steps.ts). */
export interface MapProgress {
  items: number;
  done: number;
  completed: number;
  cached: number;
  running: number;
  failed: number;
  stopped: number;
  pending: number;
  tolerated: number | null;
  failedIndices: number[];
}

/** One item of a map step, as its items list shows it. */
export interface ItemView {
  index: number;
  stepId: string;
  status: string;
  attempt: number;
  started: string | null;
  ended: string | null;
  durationMs: number | null;
  cachedFrom: { runId: string; stepId: string } | null;
  error: string | null;
}

export interface ItemsPage {
  stepId: string;
  status: string;
  map: MapProgress;
  total: number;
  limit: number;
  offset: number;
  hasMore: boolean;
  items: ItemView[];
}

export interface RunDetail {
  run: RunView;
  error: string | null;
  snapshot: SnapshotSummary | null;
  steps: StepView[];
  /** The run this one retries, with its name (null when it is gone). */
  retryOf: { id: string; name: string | null } | null;
  /** What this dashboard can do to runs. */
  actions: { stop: boolean; retry: boolean };
}

export interface LogsView {
  logs: string;
  status: string;
  truncated: boolean;
  size: number;
  limit: number;
}

/** A piece of a step's log from a byte offset: the live tail. */
export interface LogChunkView {
  status: string;
  offset: number;
  next: number;
  size: number;
  text: string;
  skipped: number;
  reset: boolean;
}

export interface OutputView {
  output: string;
  artifact: { id: string; runId: string; materializer: string; dataType: string; size: number; sha256: string };
  preview: { file: string | null; kind: "json" | "text" | "binary" | "unavailable"; text: string; truncated: boolean };
  limit: number;
}

interface ComparedStepSide {
  status: string;
  durationMs: number | null;
  attempt: number;
  cached: boolean;
}

export interface CompareView {
  a: RunView;
  b: RunView;
  parameters: Array<{ key: string; a: unknown; b: unknown; same: boolean }>;
  config: Array<{ key: string; a: unknown; b: unknown; same: boolean }>;
  steps: Array<{ stepId: string; a: ComparedStepSide | null; b: ComparedStepSide | null }>;
  outputs: Array<{ stepId: string; output: string; a: { sha256: string; size: number } | null; b: { sha256: string; size: number } | null; same: boolean }>;
}

export interface PipelineSeries {
  pipeline: string;
  runs: Array<{ id: string; name: string; status: string; created: string; durationMs: number | null; values: Record<string, number> }>;
  metrics: string[];
}

export interface PipelineSummary {
  name: string;
  runs: number;
  more: boolean;
  latest: RunView | null;
}

export interface VersionView extends ArtifactRef {
  runId: string;
  stepId: string;
  output: string;
  uri: string;
  materializer: string;
  dataType: string;
  size: number;
  sha256: string;
  created: string;
  tags: string[];
  metadata: Record<string, unknown>;
  visualizations: Array<{ index: number; type: string; title: string | null }>;
}

export interface RunRef {
  id: string;
  name: string;
  status: string;
  pipeline: string;
}

export interface LineageView {
  nodes: Array<{ id: string; kind: "artifact" | "step"; label: string; sub: string; href: string; focus?: boolean; status?: string }>;
  edges: Array<{ from: string; to: string }>;
}

export interface VersionDetail {
  artifact: VersionView;
  producer: {
    run: RunRef | null;
    stepId: string;
    status: string | null;
    inputs: Array<ArtifactRef & { input: string }>;
    /** A collector's per-item inputs by collected input: how many (only the first few are in `inputs`). */
    collected?: Array<{ input: string; items: number }>;
  };
  consumers: Array<{ run: RunRef; stepId: string; status: string; outputs: Array<ArtifactRef & { output: string }> }>;
  lineage: LineageView;
}

export interface VisualizationView {
  index: number;
  type: string;
  title: string | null;
  available: boolean;
  text?: string;
  header?: string[];
  rows?: string[][];
  truncated?: boolean;
  limit?: number;
}

export interface RunPage {
  runs: RunView[];
  limit: number;
  offset: number;
  hasMore: boolean;
}

/** GETs an API route (the cookie carries the token); a non-2xx answer throws its JSON error. */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

/** POSTs a state change: the cookie carries the token, the header shows it is this page asking. */
async function post<T>(path: string, payload?: unknown): Promise<T> {
  const res = await fetch(path, {
    method: "POST",
    headers: { accept: "application/json", "x-stackyard-action": "1", ...(payload === undefined ? {} : { "content-type": "application/json" }) },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

export const api = {
  stop: (id: string) => post<{ stopping: boolean }>(`/api/runs/${encodeURIComponent(id)}/stop`),
  /** Retries a run: its failed steps (nothing given), a step and what follows it (`{ from }`), or every step (`{ all: true }`). */
  retry: (id: string, what: { from?: string; all?: boolean } = {}) => post<{ run: RunView }>(`/api/runs/${encodeURIComponent(id)}/retry`, what),
  logsFrom: (id: string, step: string, offset: number) =>
    getJson<LogChunkView>(`/api/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/logs?offset=${offset}`),
  runs: (query: URLSearchParams) => getJson<RunPage>(`/api/runs?${query}`),
  run: (id: string) => getJson<RunDetail>(`/api/runs/${encodeURIComponent(id)}`),
  step: (id: string, step: string) => getJson<{ step: StepView }>(`/api/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}`),
  items: (id: string, step: string, query: URLSearchParams) =>
    getJson<ItemsPage>(`/api/runs/${encodeURIComponent(id)}/maps/${encodeURIComponent(step)}/items?${query}`),
  logs: (id: string, step: string) => getJson<LogsView>(`/api/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/logs`),
  output: (id: string, step: string, output: string) =>
    getJson<OutputView>(`/api/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/outputs/${encodeURIComponent(output)}`),
  compare: (a: string, b: string) => getJson<CompareView>(`/api/compare?${new URLSearchParams({ a, b })}`),
  filters: () => getJson<{ pipelines: string[]; statuses: string[]; stacks: string[]; tags: string[] }>("/api/filters"),
  pipelines: () => getJson<{ pipelines: PipelineSummary[] }>("/api/pipelines"),
  pipeline: (name: string) => getJson<PipelineSeries>(`/api/pipelines/${encodeURIComponent(name)}`),
  artifacts: (query: URLSearchParams) =>
    getJson<{ artifacts: Array<{ name: string; versions: number; latest: VersionView }> }>(`/api/artifacts${query.size ? `?${query}` : ""}`),
  artifact: (name: string) => getJson<{ name: string; versions: Array<VersionView & { run: RunRef | null }> }>(`/api/artifacts/${encodeURIComponent(name)}`),
  version: (name: string, version: string) => getJson<VersionDetail>(`/api/artifacts/${encodeURIComponent(name)}/${encodeURIComponent(version)}`),
  visualization: (name: string, version: string | number, index: number) =>
    getJson<VisualizationView>(`/api/artifacts/${encodeURIComponent(name)}/${encodeURIComponent(String(version))}/visualizations/${index}`),
  stacks: () => getJson<{ stacks: StackSummary[] }>("/api/stacks"),
  components: () => getJson<{ components: ComponentSummary[] }>("/api/components"),
  flavors: () => getJson<{ flavors: FlavorSummary[] }>("/api/flavors"),
};
