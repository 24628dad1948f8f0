import { CommanderError } from "commander";
import { storeFileError } from "../store/database.js";
import { buildProgram } from "./program.js";
import { escapeControl } from "./quote-input.js";

interface ReportableError {
  message: string;
  exitCode?: number;
  hint?: string;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[], version: string): Promise<number> {
  const program = buildProgram(version);
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with 0; every usage error is exit code 2.
      return error.exitCode === 0 ? 0 : 2;
    }
    return report(error);
  }
}

/** Prints one clear message for an error and picks its exit code. */
export function report(error: unknown): number {
  const e = (storeFileError(error) ?? error) as ReportableError;
  const expected = typeof e?.exitCode === "number";
  if (!expected) {
    process.stderr.write(`Unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
  // User input quoted in a message never reaches the terminal as escape codes.
  const shown = (text: string) => text.split("\n").map(escapeControl).join("\n");
  process.stderr.write(`Error: ${shown(e.message)}\n`);
  if (e.hint) process.stderr.write(`  ${shown(e.hint)}\n`);
  if (process.env.STACKYARD_DEBUG && (error as Error)?.stack) process.stderr.write(`${(error as Error).stack}\n`);
  return e.exitCode!;
}
