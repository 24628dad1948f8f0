import { spawnSync } from "node:child_process";
import { readFileSync, readSync } from "node:fs";
import { resolve } from "node:path";
import { type AnyFlavor, ConfigError, secretKeys } from "@stackyard/core";
import { bareKeys } from "./config-args.js";
import { quoteInput } from "./quote-input.js";

const STDIN = "-";
const FILE_PREFIX = "@";
const ENV_PREFIX = "env:";

/**
 * Reads the values of secret config fields from where the command line points,
 * so a secret need not be typed where `ps` and shell history keep it:
 * `--key=@FILE` (the file's content, one trailing line break dropped),
 * `--key=-` (standard input, likewise) and `--key=env:NAME` (an environment
 * variable). On a terminal, a bare `--key` or `--key=-` asks for the value
 * without echoing it. Only fields the flavor marks secret are read; every other value
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
  const bare = bareKeys(values);
  for (const [key, value] of Object.entries(values)) {
    if (!secret.has(key)) continue;
    if (bare.has(key) || (value === STDIN && process.stdin.isTTY)) {
      if (!process.stdin.isTTY) {
        throw new ConfigError(`--${key} is given without a value, and there is no terminal to ask for it on`, {
          hint: `Give it as --${key}=@FILE, --${key}=- (standard input) or --${key}=env:NAME.`,
        });
      }
      read[key] = nonEmpty(key, "the prompt", promptHidden(key));
    } else if (value === STDIN) {
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

/**
 * Asks for a secret on the terminal without echoing it: the terminal is put
 * into no-echo, byte-at-a-time mode with `stty` (restored however the prompt
 * ends) and the answer read until Enter. Ctrl-C or Ctrl-D cancel.
 */
export function promptHidden(key: string): string {
  const stty = (...args: string[]) => spawnSync("stty", args, { stdio: ["inherit", "pipe", "ignore"], encoding: "utf8" });
  const saved = stty("-g");
  if (saved.status !== 0 || !saved.stdout.trim()) {
    throw new ConfigError(`Cannot ask for --${key}: the terminal's echo cannot be turned off (stty failed)`, {
      hint: `Give it as --${key}=@FILE or --${key}=env:NAME.`,
    });
  }
  // Echo off before the prompt shows, so that nothing typed after it is echoed.
  stty("-echo", "-icanon", "-isig", "min", "1", "time", "0");
  process.stderr.write(`Value of --${key} (input hidden): `);
  const bytes: number[] = [];
  let cancelled = false;
  try {
    const buffer = Buffer.alloc(1);
    for (;;) {
      let n: number;
      try {
        n = readSync(0, buffer, 0, 1, null);
      } catch (error) {
        if ((error as { code?: string }).code === "EAGAIN") continue;
        throw error;
      }
      const byte = buffer[0]!;
      if (n === 0 || byte === 0x03 || byte === 0x04) {
        cancelled = true;
        break;
      }
      if (byte === 0x0d || byte === 0x0a) break;
      if (byte === 0x7f || byte === 0x08) bytes.pop();
      else bytes.push(byte);
    }
  } finally {
    stty(saved.stdout.trim());
    process.stderr.write("\n");
  }
  if (cancelled) throw new ConfigError(`No value given for --${key}: the prompt was cancelled`);
  return Buffer.from(bytes).toString("utf8");
}
