/**
 * Reads `--key=value` and `--key value` pairs that a command passes through
 * to a flavor's config. Keys are config field names as the flavor spells
 * them (`--subnet_ids`); a dash form (`--subnet-ids`) is kept as typed so the
 * schema reports it if the flavor has no such key.
 */
export function parseConfigArgs(args: readonly string[]): { values: Record<string, string>; rest: string[] } {
  const values: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    if (eq > 2) values[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith("--")) values[arg.slice(2)] = args[++i]!;
    else values[arg.slice(2)] = "true";
  }
  return { values, rest };
}
