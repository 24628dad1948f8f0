import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type AnyFlavor, ConfigError, secretKeys } from "@stackyard/core";
import { quoteInput } from "./quote-input.js";

const STDIN = "-";
const FILE_PREFIX = "@";
const ENV_PREFIX = "env:";

/**
 * Reads the values of secret config fields from where the command line points,
 * so a secret need not be typed where `ps` and shell history keep it:
 * `--key=@FILE` (the file's content, one trailing line break dropped),
 * `--key=-` (standard input, likewise) and `--key=env:NAME` (an environment
 * variable). Only fields the flavor marks secret are read; every other value
 * stays as typed. A source that is missing or empty is a {@link ConfigError}
 * naming it, never echoing what it holds.
 */
export function readSecretSources(flavor: AnyFlavor, values: Record<string, string>): Record<string, string> {
  const secret = new Set(secretKeys(flavor.configSchema));
  const read: Record<string, string> = { ...values };
  const fromStdinKeys = Object.keys(values).filter((key) => secret.has(key) && values[key] === STDIN);
  if (fromStdinKeys.length > 1) {
    throw new ConfigError(`--${fromStdinKeys[0]} and --${fromStdinKeys[1]} both read standard input`, {
      hint: "Read one of them from a file (@FILE) or a variable (env:NAME).",
    });
  }
  for (const [key, value] of Object.entries(values)) {
    if (!secret.has(key)) continue;
    if (value === STDIN) {
      read[key] = nonEmpty(key, "standard input", fromStdin(key));
    } else if (value.startsWith(FILE_PREFIX)) {
      read[key] = nonEmpty(key, quoteInput(value.slice(FILE_PREFIX.length)), fromFile(key, value.slice(FILE_PREFIX.length)));
    } else if (value.startsWith(ENV_PREFIX)) {
      read[key] = nonEmpty(key, `environment variable ${quoteInput(value.slice(ENV_PREFIX.length))}`, fromEnv(key, value.slice(ENV_PREFIX.length)));
    }
  }
  return read;
}

function fromFile(key: string, path: string): string {
  if (!path) throw new ConfigError(`--${key}=@ names no file`, { hint: `Give the file after '@', for example --${key}=@secrets/${key}.txt.` });
  const file = resolve(path);
  try {
    return dropLineBreak(readFileSync(file, "utf8"));
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : code === "EACCES" ? "permission denied" : (code ?? "unreadable");
    throw new ConfigError(`Cannot read --${key} from ${quoteInput(file, 200)}: ${why}`, { hint: "File paths are relative to the current folder." });
  }
}

function fromStdin(key: string): string {
  if (process.stdin.isTTY) process.stderr.write(`Reading --${key} from standard input; end it with Ctrl-D.\n`);
  try {
    return dropLineBreak(readFileSync(0, "utf8"));
  } catch (error) {
    throw new ConfigError(`Cannot read --${key} from standard input: ${(error as Error).message}`);
  }
}

function fromEnv(key: string, name: string): string {
  const value = name ? process.env[name] : undefined;
  if (value === undefined) {
    throw new ConfigError(name ? `--${key} reads environment variable ${quoteInput(name)}, which is not set` : `--${key}=env: names no variable`, {
      hint: `Set it, or give the name after 'env:', for example --${key}=env:MY_${key.toUpperCase()}.`,
    });
  }
  return value;
}

function nonEmpty(key: string, source: string, value: string): string {
  if (!value) throw new ConfigError(`--${key} read from ${source} is empty`);
  return value;
}

/** Files written by editors and `echo` end with a line break that is no part of the secret. */
const dropLineBreak = (text: string): string => text.replace(/\r?\n$/, "");
