import type { ConfigStore, FlavorRow } from "../store/config-store.js";
import { BUILTIN_FLAVORS } from "./builtin.js";
import { findDeclaredFlavors } from "./declared.js";

/** Where a flavor comes from. */
export type FlavorOrigin = "built-in" | "registered" | `package ${string}`;

/** A flavor as listed: known without importing its module. */
export interface FlavorEntry {
  type: string;
  name: string;
  source: string;
  origin: FlavorOrigin;
  description?: string | undefined;
  remote: boolean;
}

const builtinEntry = (f: (typeof BUILTIN_FLAVORS)[number]): FlavorEntry => ({
  type: f.type,
  name: f.name,
  source: f.source,
  origin: "built-in",
  description: f.description,
  remote: f.remote,
});
const registeredEntry = (f: FlavorRow): FlavorEntry => ({
  type: f.type,
  name: f.name,
  source: f.source,
  origin: "registered",
  description: f.description ?? undefined,
  remote: f.remote,
});

/**
 * Every flavor the project can use: built in, declared by installed packages,
 * and registered by source path. Listing imports nothing.
 */
export class FlavorRegistry {
  private declared: FlavorEntry[] | undefined;

  constructor(
    private readonly config: ConfigStore,
    private readonly sourceRoot: string,
  ) {}

  list(type?: string): FlavorEntry[] {
    const entries = new Map<string, FlavorEntry>();
    const add = (entry: FlavorEntry) => {
      const key = `${entry.type}/${entry.name}`;
      if (!entries.has(key) && (!type || entry.type === type)) entries.set(key, entry);
    };
    for (const f of BUILTIN_FLAVORS) add(builtinEntry(f));
    for (const f of this.config.listFlavors(type)) add(registeredEntry(f));
    for (const f of this.declaredFlavors()) add(f);
    return [...entries.values()].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  }

  /** The flavor `list` would give for type and name, looking at installed packages only when needed. */
  find(type: string, name: string): FlavorEntry | undefined {
    const builtin = BUILTIN_FLAVORS.find((f) => f.type === type && f.name === name);
    if (builtin) return builtinEntry(builtin);
    const registered = this.config.listFlavors(type).find((f) => f.name === name);
    if (registered) return registeredEntry(registered);
    return this.declaredFlavors().find((f) => f.type === type && f.name === name);
  }

  private declaredFlavors(): FlavorEntry[] {
    this.declared ??= findDeclaredFlavors(this.sourceRoot).map((f) => ({
      type: f.type,
      name: f.name,
      source: f.source,
      origin: `package ${f.packageName}` as const,
      description: f.description,
      remote: f.remote ?? false,
    }));
    return this.declared;
  }
}
