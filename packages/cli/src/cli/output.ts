/** Prints rows as an aligned table; an empty list prints `empty` instead. */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[], empty = "Nothing to show."): void {
  if (!rows.length) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  const cells = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const out = [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)];
  process.stdout.write(out.join("\n") + "\n");
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Prints a value as JSON (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** Prints `key: value` lines, nested objects indented. */
export function printDetails(details: Record<string, unknown>, indent = ""): void {
  const width = Math.max(...Object.keys(details).map((k) => k.length));
  for (const [key, value] of Object.entries(details)) {
    if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
      process.stdout.write(`${indent}${key}:\n`);
      printDetails(value as Record<string, unknown>, indent + "  ");
    } else {
      process.stdout.write(`${indent}${(key + ":").padEnd(width + 1)} ${cell(value)}\n`);
    }
  }
}

/** A line for the user on stderr, so stdout stays parseable. */
export function info(message: string): void {
  process.stderr.write(message + "\n");
}
