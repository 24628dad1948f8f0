/**
 * Finds the first value in `value` that does not survive a JSON round trip
 * (functions, symbols, bigints, a bare or array `undefined`, non-finite numbers, class
 * instances, cycles). Returns its dotted path relative to `path`, or
 * undefined when the whole value is plain JSON.
 */
export function findNonJson(value: unknown, path: string, seen: Set<object> = new Set()): { path: string; reason: string } | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : { path, reason: `${value} is not a JSON number` };
    case "undefined":
      return { path, reason: "undefined is not JSON" };
    case "function":
      return { path, reason: "a function is not JSON" };
    case "symbol":
      return { path, reason: "a symbol is not JSON" };
    case "bigint":
      return { path, reason: "a bigint is not JSON (use a number or a string)" };
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen.has(object)) return { path, reason: "it refers to itself (a cycle)" };
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const found = findNonJson(object[i], `${path}[${i}]`, seen);
        if (found) return found;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? "object";
      return { path, reason: `a ${kind} is not plain JSON (use strings, numbers, booleans, arrays and plain objects)` };
    }
    for (const [key, child] of Object.entries(object)) {
      // JSON leaves out properties that are undefined, and reading them back gives undefined again.
      if (child === undefined) continue;
      const found = findNonJson(child, path ? `${path}.${key}` : key, seen);
      if (found) return found;
    }
    return undefined;
  } finally {
    seen.delete(object);
  }
}
