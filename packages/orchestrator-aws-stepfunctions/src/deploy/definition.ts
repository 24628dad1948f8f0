import { intrinsicLiteral } from "../compiler/index.js";

interface AslStates {
  States?: Record<string, { Type?: string; Comment?: string; Branches?: AslStates[]; Parameters?: Record<string, unknown> }>;
}

/**
 * Finds each step's Task state in a compiled definition (ASL JSON) by the
 * `--step <id>` argument of its command: the inverse of the compiler's
 * `stateNames`, for runs whose compile result is gone (status, logs).
 */
export function stateNamesFromDefinition(definitionJson: string, stepIds: readonly string[]): Record<string, string> {
  const definition = JSON.parse(definitionJson) as AslStates;
  const commands = new Map<string, string>();
  // A map step is the Parallel state that holds its expand task and Maps (the compiler's Comment names it).
  const mapStates = new Map<string, string>();
  const walk = (machine: AslStates): void => {
    for (const [name, state] of Object.entries(machine.States ?? {})) {
      const map = state.Type === "Parallel" ? /^Map step '(.*)'$/s.exec(state.Comment ?? "") : null;
      if (map) {
        mapStates.set(map[1]!, name);
        continue;
      }
      if (state.Type === "Parallel") for (const branch of state.Branches ?? []) walk(branch);
      if (state.Type !== "Task") continue;
      const overrides = (state.Parameters?.Overrides as { ContainerOverrides?: Record<string, unknown>[] } | undefined)?.ContainerOverrides?.[0];
      const command = overrides?.["Command.$"] ?? JSON.stringify(overrides?.Command ?? "");
      commands.set(name, String(command));
    }
  };
  walk(definition);
  const out: Record<string, string> = {};
  for (const stepId of stepIds) {
    if (mapStates.has(stepId)) {
      out[stepId] = mapStates.get(stepId)!;
      continue;
    }
    let literal: string;
    try {
      literal = intrinsicLiteral(stepId);
    } catch {
      continue;
    }
    for (const [name, command] of commands) {
      if (command.includes(`'--step',${literal}`) || command.includes(`"--step",${JSON.stringify(stepId)}`)) {
        out[stepId] = name;
        break;
      }
    }
  }
  return out;
}
