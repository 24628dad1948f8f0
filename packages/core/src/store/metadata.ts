import { ConfigError } from "../errors/errors.js";
import { findNonJson } from "../pipeline/json-value.js";
import type { MetadataRecord, MetadataValue } from "./run-store.js";

/** A typed metadata value: shown as a link, a path or a duration rather than as plain JSON. */
export type TypedMetadataValue =
  | { $type: "uri"; value: string }
  | { $type: "path"; value: string }
  | { $type: "duration"; seconds: number }
  | { $type: "dtype"; value: string };

/**
 * Builders of typed metadata values, for `ctx.logMetadata`.
 *
 * @example
 * ```ts
 * ctx.logMetadata({ accuracy: 0.97, dataset: metadata.uri("s3://bucket/iris.csv"), training_time: metadata.duration(12.5) });
 * ```
 */
export const metadata = {
  /** A URI (shown as a link where it can be). */
  uri: (value: string): TypedMetadataValue => ({ $type: "uri", value }),
  /** A file system path. */
  path: (value: string): TypedMetadataValue => ({ $type: "path", value }),
  /** A duration in seconds. */
  duration: (seconds: number): TypedMetadataValue => ({ $type: "duration", seconds }),
  /** A data type name (`float32`, `int64`). */
  dtype: (value: string): TypedMetadataValue => ({ $type: "dtype", value }),
} as const;

/** Metadata keys: printable, no newline, at most 256 characters. */
const METADATA_KEY = /^[^\s\p{Cc}][^\p{Cc}]{0,255}$/u;

/**
 * Checks metadata before it is recorded: an object of printable keys whose
 * values are plain JSON (typed values from {@link metadata} included).
 * Returns a copy holding only JSON.
 *
 * @throws ConfigError naming the first bad key or value and `where` it came from.
 */
export function checkMetadata(values: unknown, where: string): MetadataRecord {
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new ConfigError(
      `Metadata for ${where} must be an object of key to value, got ${Array.isArray(values) ? "an array" : values === null ? "null" : typeof values}`,
    );
  }
  for (const key of Object.keys(values)) {
    if (!METADATA_KEY.test(key))
      throw new ConfigError(`Metadata key ${JSON.stringify(key)} for ${where} is not valid: use printable text without newlines, up to 256 characters`);
  }
  const bad = findNonJson(values, "");
  if (bad) throw new ConfigError(`Metadata '${bad.path}' for ${where} is not JSON: ${bad.reason}`);
  return JSON.parse(JSON.stringify(values)) as MetadataRecord;
}

/** Tags: printable, no whitespace at either end, no newline, at most 128 characters. */
const TAG = /^[^\s\p{Cc}](?:[^\p{Cc}]{0,126}[^\s\p{Cc}])?$/u;

/**
 * Checks tags before they are recorded.
 *
 * @throws ConfigError naming the first bad tag and `where` it came from.
 */
export function checkTags(tags: readonly unknown[], where: string): string[] {
  const out: string[] = [];
  for (const tag of tags) {
    if (typeof tag !== "string" || !TAG.test(tag)) {
      throw new ConfigError(
        `Tag ${JSON.stringify(tag)} for ${where} is not valid: use printable text without newlines or surrounding spaces, up to 128 characters`,
      );
    }
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

/** Artifact names: as step names, up to 256 characters. */
export const ARTIFACT_NAME: RegExp = /^[A-Za-z_][\w.-]{0,255}$/;

/** The rule of {@link ARTIFACT_NAME}, as an error message says it. */
export const ARTIFACT_NAME_RULE = "use letters, digits, '_', '-' or '.' (up to 256), starting with a letter or '_'";

/**
 * Parses `NAME`, `NAME:VERSION` or `NAME@TAG` as the CLI takes them.
 *
 * @throws ConfigError for a bad name, a version that is not a whole number from 1, or a bad tag.
 */
export function parseArtifactRef(text: string, where = "the artifact"): { name: string; version?: number; tag?: string } {
  const at = text.indexOf("@");
  const colon = at === -1 ? text.lastIndexOf(":") : -1;
  const name = at !== -1 ? text.slice(0, at) : colon !== -1 ? text.slice(0, colon) : text;
  if (!ARTIFACT_NAME.test(name)) throw new ConfigError(`Artifact name ${JSON.stringify(name)} in ${where} is not valid: ${ARTIFACT_NAME_RULE}`);
  if (at !== -1) return { name, tag: checkTags([text.slice(at + 1)], where)[0]! };
  if (colon === -1) return { name };
  const version = text.slice(colon + 1);
  if (!/^[1-9]\d{0,8}$/.test(version))
    throw new ConfigError(`Version '${version}' of artifact '${name}' in ${where} is not valid: use a whole number from 1 (NAME:3) or a tag (NAME@production)`);
  return { name, version: Number(version) };
}

/** Merges metadata (later keys win); undefined when both are empty. */
export function mergeMetadata(a: MetadataRecord | undefined, b: MetadataRecord | undefined): MetadataRecord | undefined {
  if (!b || Object.keys(b).length === 0) return a;
  return { ...a, ...b };
}

/** A metadata value as one line of text, for the CLI. */
export function formatMetadataValue(value: MetadataValue): string {
  if (value && typeof value === "object" && !Array.isArray(value) && typeof value.$type === "string") {
    const typed = value as unknown as TypedMetadataValue;
    if (typed.$type === "duration") return formatSeconds(typed.seconds);
    return String((typed as { value: unknown }).value);
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m < 60 ? `${m}m${s ? ` ${s}s` : ""}` : `${Math.floor(m / 60)}h ${m % 60}m`;
}
