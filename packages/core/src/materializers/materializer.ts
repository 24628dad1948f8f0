import type { Readable } from "node:stream";
import type { WriteBody } from "../artifact-store/base-artifact-store.js";
import type { ArtifactRecord, VisualizationType } from "../store/run-store.js";

/**
 * Where a materializer writes an artifact: a folder in the artifact store.
 * Every byte written goes through a sha256 hash and a byte count as it
 * streams, so an artifact's hash never needs a second read.
 */
export interface ArtifactWriter {
  /** URI of the artifact's folder. */
  readonly uri: string;
  /** Writes one file of the artifact (atomically). Files are hashed in the order written. */
  write(name: string, body: WriteBody): Promise<void>;
}

/** Where a materializer reads an artifact from. */
export interface ArtifactReader {
  /** URI of the artifact's folder. */
  readonly uri: string;
  /** The artifact as recorded, when known. */
  readonly artifact: ArtifactRecord | undefined;
  /** A stream of one file of the artifact. */
  read(name: string): Promise<Readable>;
  /** One file of the artifact, in memory. */
  readFile(name: string): Promise<Buffer>;
  /**
   * A local file path holding one file of the artifact: the file itself for
   * local stores, otherwise a streamed download to a temporary folder.
   */
  localPath(name: string): Promise<string>;
}

/** What `save` may report. */
export interface SaveResult {
  /** The kind of value stored (`object`, `string`, `bytes`, `file`, ...); default the materializer's name. */
  dataType?: string;
}

/**
 * Stores values of one kind in the artifact store and loads them back.
 * Custom materializers are objects with this shape, exported from a module
 * and named by source path in a step's `outputs` (`./materializers/model.ts#modelMaterializer`).
 *
 * @example
 * ```ts
 * export const csvMaterializer: Materializer<string[][]> = {
 *   name: "csv",
 *   async save(rows, writer) { await writer.write("data.csv", rows.map((r) => r.join(",")).join("\n")); return { dataType: "table" }; },
 *   async load(reader) { return (await reader.readFile("data.csv")).toString("utf8").split("\n").map((l) => l.split(",")); },
 * };
 * ```
 */
export interface Materializer<T = any> {
  readonly name: string;
  /** Writes `value` as one or more files through `writer`; may return the data type to record. */
  save(value: T, writer: ArtifactWriter): Promise<SaveResult | void>;
  /** Reads back a value written by {@link Materializer.save}. */
  load(reader: ArtifactReader): Promise<T>;
  /**
   * Optional: views of the value for people (a chart as SVG, a table as CSV,
   * a report as Markdown or HTML), stored beside the artifact and shown by
   * `stackyard artifact visualize` and the dashboard. Called after `save`;
   * a failure is reported in the step's log and never fails the step.
   */
  visualize?(value: T): Promise<Visualization[]> | Visualization[];
}

/** One view of an artifact made by {@link Materializer.visualize}: its content, or a file the materializer saved. */
export interface Visualization {
  type: VisualizationType;
  /** A short title shown above it. */
  title?: string;
  /** The content itself (text for svg, markdown, html, csv, json, text; bytes for png)... */
  content?: string | Uint8Array;
  /** ...or the name of a file `save` wrote into the artifact. */
  file?: string;
}
