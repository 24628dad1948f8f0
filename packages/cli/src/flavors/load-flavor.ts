import { type AnyFlavor, asFlavor, type ComponentType, componentTypeCliName, componentTypeLabel, flavorProblems, SourceError } from "@stackyard/core";
import { loadSource } from "../source/load-source.js";
import { BUILTIN_FLAVORS } from "./builtin.js";
import type { FlavorEntry } from "./registry.js";

const cache = new Map<string, Promise<AnyFlavor>>();

/**
 * Imports a flavor module (never its implementation) and checks it is a flavor
 * of `expectedType` with a usable schema.
 */
export async function loadFlavorFromSource(source: string, sourceRoot: string, expectedType?: string): Promise<AnyFlavor> {
  const builtin = BUILTIN_FLAVORS.find((f) => f.source === source);
  const value = builtin ? await builtin.load() : await loadSource(source, sourceRoot);
  return checkFlavor(value, source, expectedType);
}

/** Loads the flavor module of a listed flavor, once per process. */
export function loadFlavor(entry: FlavorEntry, sourceRoot: string): Promise<AnyFlavor> {
  const key = `${entry.type}/${entry.name}/${entry.source}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = loadFlavorFromSource(entry.source, sourceRoot, entry.type).then((flavor) => {
      if (flavor.name !== entry.name) {
        throw new SourceError(`Flavor at '${entry.source}' is named '${flavor.name}', but it is listed as '${entry.name}'`, {
          hint: `Register it again: \`stackyard ${componentTypeCliName(entry.type as ComponentType)} flavor register ${entry.source}\`.`,
        });
      }
      return flavor;
    });
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}

function checkFlavor(value: unknown, source: string, expectedType?: string): AnyFlavor {
  const problems = flavorProblems(value);
  if (problems.length) {
    throw new SourceError(`'${source}' is not a Stackyard flavor: ${problems.join("; ")}`, {
      hint: "Export an object made with defineFlavor({ name, type, configSchema, implementation }) from @stackyard/core.",
    });
  }
  const flavor = asFlavor(value);
  if (expectedType && flavor.type !== expectedType) {
    throw new SourceError(
      `'${source}' is ${withArticle(componentTypeLabel(flavor.type as ComponentType))} flavor, not ${withArticle(componentTypeLabel(expectedType as ComponentType))} flavor`,
      { hint: `Register it with \`stackyard ${componentTypeCliName(flavor.type)} flavor register ${source}\`.` },
    );
  }
  return flavor;
}

function withArticle(word: string): string {
  return `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;
}
