import type { ArtifactRecord, RunRecord, StepRunRecord } from "@stackyard/core";
import type { DashboardSource } from "../source.js";
import { HttpError } from "./http-error.js";
import { shownInputs } from "./map-steps.js";

/** Bytes the API answers with instead of JSON: a visualization's file. */
export class RawFile {
  constructor(
    readonly body: Uint8Array,
    readonly type: string,
  ) {}
}

/** Most of a visualization's file the dashboard reads. */
export const VISUALIZATION_LIMIT = 8 * 1024 * 1024;
/** Most of a text visualization sent as JSON (markdown, csv, json, text). */
export const TEXT_VISUALIZATION_LIMIT = 1024 * 1024;
/** Rows of a CSV visualization shown. */
export const CSV_ROWS = 200;
/** Most nodes of a lineage graph. */
const LINEAGE_NODES = 80;

const RAW_TYPES: Record<string, string> = {
  svg: "image/svg+xml",
  png: "image/png",
  html: "text/html; charset=utf-8",
};

/** An artifact version as the API shows it (its URIs stay: the store is the user's own). */
export function publicArtifact(a: ArtifactRecord) {
  return {
    id: a.id,
    name: a.name ?? null,
    version: a.version ?? null,
    runId: a.runId,
    stepId: a.stepId,
    output: a.output,
    uri: a.uri,
    materializer: a.materializer,
    dataType: a.dataType,
    size: a.size,
    sha256: a.sha256,
    created: a.created,
    tags: a.tags ?? [],
    metadata: a.metadata ?? {},
    visualizations: (a.visualizations ?? []).map((v, index) => ({ index, type: v.type, title: v.title ?? null })),
  };
}

/** `name:version`, or the artifact's id when it has no name. */
export function artifactRef(a: ArtifactRecord): { id: string; name: string | null; version: number | null } {
  return { id: a.id, name: a.name ?? null, version: a.version ?? null };
}

/** Splits one CSV text into rows (quoted cells, doubled quotes, CRLF), at most `maxRows`. */
export function parseCsv(text: string, maxRows: number): { rows: string[][]; more: boolean } {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  let i = 0;
  const endRow = () => {
    row.push(cell);
    rows.push(row);
    row = [];
    cell = "";
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else cell += c;
      i++;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      endRow();
      if (c === "\r" && text[i + 1] === "\n") i++;
      if (rows.length > maxRows) return { rows: rows.slice(0, maxRows), more: true };
    } else cell += c;
    i++;
  }
  if (cell !== "" || row.length) endRow();
  return { rows: rows.slice(0, maxRows), more: rows.length > maxRows };
}

function versionNumber(raw: string): number {
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new HttpError(400, `Invalid version '${raw}': expected a whole number from 1`);
  return Number(raw);
}

interface LineageNode {
  id: string;
  kind: "artifact" | "step";
  label: string;
  sub: string;
  href: string;
  /** The version the page is about. */
  focus?: boolean;
  status?: string;
}

/** `/api/artifacts...` routes: names, versions, one version with lineage, its visualizations. */
export class ArtifactRoutes {
  constructor(private readonly source: DashboardSource) {}

  private need<K extends keyof DashboardSource>(key: K): NonNullable<DashboardSource[K]> {
    const fn = this.source[key];
    if (!fn) throw new HttpError(404, "This dashboard has no artifact catalog");
    return (fn as (...args: unknown[]) => unknown).bind(this.source) as NonNullable<DashboardSource[K]>;
  }

  /** `parts` are the path after `/api/artifacts`. */
  async handle(parts: string[], params: URLSearchParams): Promise<Record<string, unknown> | RawFile> {
    const [name, version, sub, index, leaf] = parts;
    if (name === undefined) return this.names(params);
    for (const key of params.keys()) if (key !== "token") throw new HttpError(400, `Unknown query parameter '${key}': this route takes none`);
    if (version === undefined) return this.versions(name);
    const artifact = await this.find(name, versionNumber(version));
    if (sub === undefined) return this.version(artifact);
    if (sub === "visualizations" && index !== undefined && parts.length <= 5 && (leaf === undefined || leaf === "raw"))
      return this.visualization(artifact, index, leaf === "raw");
    throw new HttpError(404, `No API route for artifact '${name}' version ${version}`);
  }

  private async names(params: URLSearchParams): Promise<Record<string, unknown>> {
    for (const key of params.keys())
      if (!["name", "tag", "token"].includes(key)) throw new HttpError(400, `Unknown query parameter '${key}': expected name or tag`);
    for (const key of ["name", "tag"]) if (params.getAll(key).length > 1) throw new HttpError(400, `Query parameter '${key}' is given more than once`);
    const names = await this.need("listArtifactNames")({ name: params.get("name") || undefined, tag: params.get("tag") || undefined, limit: 500 });
    return { artifacts: names.map((n) => ({ name: n.name, versions: n.versions, latest: publicArtifact(n.latest) })) };
  }

  private async versions(name: string): Promise<Record<string, unknown>> {
    const versions = await this.need("listArtifactVersions")(name, { limit: 500, offset: 0 });
    if (!versions.length) throw new HttpError(404, `No artifact '${name}'`);
    const runs = await this.runsOf(versions.map((v) => v.runId));
    return {
      name,
      versions: versions.map((v) => ({ ...publicArtifact(v), run: runs.get(v.runId) ?? null })),
    };
  }

  private async find(name: string, version: number): Promise<ArtifactRecord> {
    const artifact = await this.need("findArtifactVersion")(name, version);
    if (!artifact) throw new HttpError(404, `No version ${version} of artifact '${name}'`);
    return artifact;
  }

  private async runsOf(ids: string[]): Promise<Map<string, { id: string; name: string; status: string; pipeline: string }>> {
    const runs = new Map<string, { id: string; name: string; status: string; pipeline: string }>();
    for (const id of new Set(ids)) {
      const run = await this.source.getRun(id);
      if (run) runs.set(id, { id: run.id, name: run.name, status: run.status, pipeline: run.pipeline });
    }
    return runs;
  }

  private async stepOf(runId: string, stepId: string): Promise<StepRunRecord | undefined> {
    return this.source.getStep ? this.source.getStep(runId, stepId) : (await this.source.listSteps(runId)).find((s) => s.stepId === stepId);
  }

  private async refs(ids: Record<string, string> | undefined) {
    const getArtifact = this.need("getArtifact");
    return Promise.all(
      Object.entries(ids ?? {}).map(async ([key, id]) => {
        const a = await getArtifact(id);
        return { key, ...(a ? artifactRef(a) : { id, name: null, version: null }) };
      }),
    );
  }

  private async version(artifact: ArtifactRecord): Promise<Record<string, unknown>> {
    const consumers = await this.need("listConsumers")(artifact.id);
    const step = await this.stepOf(artifact.runId, artifact.stepId);
    const runs = await this.runsOf([artifact.runId, ...consumers.map((c) => c.runId)]);
    return {
      artifact: publicArtifact(artifact),
      producer: {
        run: runs.get(artifact.runId) ?? null,
        stepId: artifact.stepId,
        status: step?.status ?? null,
        // A collector's per-item inputs: the first few, and how many (a map of 10,000 items would be 10,000 lookups).
        inputs: step ? (await this.refs(Object.fromEntries(shownInputs(step.inputs).inputs))).map(({ key, ...ref }) => ({ input: key, ...ref })) : [],
        collected: shownInputs(step?.inputs).collected,
      },
      consumers: await Promise.all(
        consumers.map(async (c) => ({
          run: runs.get(c.runId) ?? { id: c.runId, name: c.runId, status: c.status, pipeline: "" },
          stepId: c.stepId,
          status: c.status,
          outputs: (await this.refs(c.outputs)).map(({ key, ...ref }) => ({ output: key, ...ref })),
        })),
      ),
      lineage: await this.lineage(artifact),
    };
  }

  /**
   * The version's lineage as a graph: the step that made it and the versions
   * that step read, followed up to three steps upstream; the steps that read it
   * and what they made, followed two steps downstream.
   */
  private async lineage(root: ArtifactRecord): Promise<{ nodes: LineageNode[]; edges: Array<{ from: string; to: string }> }> {
    const getArtifact = this.need("getArtifact");
    const listConsumers = this.need("listConsumers");
    const nodes = new Map<string, LineageNode>();
    const edges = new Map<string, { from: string; to: string }>();
    const runNames = new Map<string, string>();
    const runName = async (id: string) => {
      if (!runNames.has(id)) runNames.set(id, (await this.source.getRun(id))?.name ?? id.slice(0, 8));
      return runNames.get(id)!;
    };
    const artifactNode = (a: ArtifactRecord) => {
      const id = `artifact:${a.id}`;
      const label = a.name ? `${a.name}:${a.version}` : `${a.stepId}.${a.output}`;
      const href =
        a.name && a.version
          ? `/artifacts/${encodeURIComponent(a.name)}/${a.version}`
          : `/runs/${encodeURIComponent(a.runId)}?step=${encodeURIComponent(a.stepId)}`;
      if (!nodes.has(id)) nodes.set(id, { id, kind: "artifact", label, sub: a.dataType, href, ...(a.id === root.id ? { focus: true } : {}) });
      return id;
    };
    const stepNode = async (s: { runId: string; stepId: string; status?: string }) => {
      const id = `step:${s.runId}/${s.stepId}`;
      if (!nodes.has(id))
        nodes.set(id, {
          id,
          kind: "step",
          label: s.stepId,
          sub: `run ${await runName(s.runId)}`,
          href: `/runs/${encodeURIComponent(s.runId)}?step=${encodeURIComponent(s.stepId)}`,
          ...(s.status ? { status: s.status } : {}),
        });
      return id;
    };
    const edge = (from: string, to: string) => edges.set(`${from}>${to}`, { from, to });
    const full = () => nodes.size >= LINEAGE_NODES;

    artifactNode(root);
    // Upstream: producer step, its inputs, their producers...
    let frontier: ArtifactRecord[] = [root];
    for (let depth = 0; depth < 3 && frontier.length && !full(); depth++) {
      const next: ArtifactRecord[] = [];
      for (const a of frontier) {
        const step = await this.stepOf(a.runId, a.stepId);
        const producer = await stepNode({ runId: a.runId, stepId: a.stepId, ...(step ? { status: step.status } : {}) });
        edge(producer, artifactNode(a));
        for (const id of Object.values(step?.inputs ?? {})) {
          if (full()) break;
          const input = await getArtifact(id);
          if (!input) continue;
          const known = nodes.has(`artifact:${input.id}`);
          edge(artifactNode(input), producer);
          if (!known) next.push(input);
        }
      }
      frontier = next;
    }
    // Downstream: consumers, what they made, their consumers.
    frontier = [root];
    for (let depth = 0; depth < 2 && frontier.length && !full(); depth++) {
      const next: ArtifactRecord[] = [];
      for (const a of frontier) {
        for (const consumer of await listConsumers(a.id)) {
          if (full()) break;
          const known = nodes.has(`step:${consumer.runId}/${consumer.stepId}`);
          const node = await stepNode(consumer);
          edge(artifactNode(a), node);
          if (known) continue;
          for (const id of Object.values(consumer.outputs)) {
            const output = await getArtifact(id);
            if (!output) continue;
            const seen = nodes.has(`artifact:${output.id}`);
            edge(node, artifactNode(output));
            if (!seen) next.push(output);
          }
        }
      }
      frontier = next;
    }
    return { nodes: [...nodes.values()], edges: [...edges.values()] };
  }

  /**
   * One visualization of a version, read through the artifact store of the
   * run that produced it, from the URI recorded on the version (never from the
   * request). `raw` answers its bytes (svg, png, html only); otherwise JSON:
   * text for markdown/json/text, the first rows for csv.
   */
  private async visualization(artifact: ArtifactRecord, rawIndex: string, raw: boolean): Promise<Record<string, unknown> | RawFile> {
    const views = artifact.visualizations ?? [];
    const index = /^\d{1,4}$/.test(rawIndex) ? Number(rawIndex) : -1;
    const view = views[index];
    if (!view) throw new HttpError(404, `Artifact '${artifact.name}' version ${artifact.version} has no visualization ${rawIndex}`);
    const readFile = this.source.readArtifactFile?.bind(this.source);
    const run: RunRecord | undefined = await this.source.getRun(artifact.runId);
    const limit = raw ? VISUALIZATION_LIMIT : TEXT_VISUALIZATION_LIMIT;
    const file = run && readFile ? await readFile(run, artifact, view.uri, limit).catch(() => undefined) : undefined;
    if (raw) {
      const type = RAW_TYPES[view.type];
      if (!type) throw new HttpError(404, `Visualization ${index} is ${view.type}: only svg, png and html are served as files`);
      if (!file) throw new HttpError(404, "The visualization cannot be read from its artifact store");
      if (file.size > file.bytes.length) throw new HttpError(413, `The visualization is larger than ${VISUALIZATION_LIMIT / 1024 / 1024} MiB`);
      return new RawFile(file.bytes, type);
    }
    const base = { index, type: view.type, title: view.title ?? null, size: file?.size ?? null };
    if (!file) return { ...base, available: false, text: "The visualization cannot be read from its artifact store." };
    if (RAW_TYPES[view.type]) return { ...base, available: true };
    const truncated = file.size > file.bytes.length;
    const text = new TextDecoder("utf-8").decode(file.bytes, { stream: truncated });
    if (view.type === "csv") {
      const { rows, more } = parseCsv(text, CSV_ROWS + 1);
      return { ...base, available: true, header: rows[0] ?? [], rows: rows.slice(1, CSV_ROWS + 1), truncated: more || truncated, limit: CSV_ROWS };
    }
    if (view.type === "json" && !truncated) {
      try {
        return { ...base, available: true, text: JSON.stringify(JSON.parse(text), null, 2), truncated };
      } catch {
        // Shown as it is.
      }
    }
    return { ...base, available: true, text, truncated };
  }
}
