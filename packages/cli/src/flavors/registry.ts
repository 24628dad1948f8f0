import type { ConfigStore } from "../store/config-store.js";
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
    for (const f of BUILTIN_FLAVORS) add({ type: f.type, name: f.name, source: f.source, origin: "built-in", description: f.description, remote: f.remote });
    for (const f of this.config.listFlavors(type)) add({ type: f.type, name: f.name, source: f.source, origin: "registered", description: f.description ?? undefined, remote: f.remote });
    for (const f of this.declaredFlavors()) add(f);
    return [...entries.values()].sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  }

  find(type: string, name: string): FlavorEntry | undefined {
    return this.list(type).find((f) => f.name === name);
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
