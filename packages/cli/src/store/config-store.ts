import { randomUUID } from "node:crypto";
import { type ComponentType, componentTypeCliName, componentTypeLabel } from "@stackyard/core/component-type";
import { ConflictError, NotFoundError } from "@stackyard/core/errors";
import type { Database } from "./database.js";
import { SecretsFile } from "./secrets-file.js";

/** A flavor registered by source path (built-in and package-declared ones are not stored). */
export interface FlavorRow {
  type: string;
  name: string;
  source: string;
  description: string | null;
  remote: boolean;
  created: string;
}

/** A registered component; `config` holds no secrets. */
export interface ComponentRow {
  id: string;
  type: string;
  name: string;
  flavor: string;
  config: Record<string, unknown>;
  /** Id of the service connector it authenticates with. */
  connectorId: string | null;
  /**
   * That connector's current name; without `connectorId`, the name of a
   * connector that no longer exists (renamed or deleted by a stackyard that
   * stored names), which loading the component reports.
   */
  connector: string | null;
  created: string;
  updated: string;
}

type StoredComponent = Omit<ComponentRow, "config"> & { config: string };

/** Components with their connector's current name (or a stale name kept from before ids). */
const SELECT_COMPONENTS = `SELECT c.id, c.type, c.name, c.flavor, c.config, c.connector_id AS connectorId, COALESCE(k.name, c.connector) AS connector, c.created, c.updated
  FROM components c LEFT JOIN components k ON k.id = c.connector_id`;

/** A stack: component ids by type. */
export interface StackRow {
  id: string;
  name: string;
  components: Record<string, string>;
  created: string;
  updated: string;
}

const label = (type: string) => componentTypeLabel(type as ComponentType);
const now = () => new Date().toISOString();

/**
 * Flavors, components, stacks and the active stack. Every change runs in one
 * transaction after all validation, so bad input leaves the store unchanged.
 */
export class ConfigStore {
  readonly secrets: SecretsFile;

  constructor(
    readonly db: Database,
    secretsFile: string,
  ) {
    this.secrets = new SecretsFile(secretsFile);
  }

  // --- settings -----------------------------------------------------------

  getSetting(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM settings WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  // --- flavors ------------------------------------------------------------

  listFlavors(type?: string): FlavorRow[] {
    const rows = (
      type
        ? this.db.prepare("SELECT * FROM flavors WHERE type = ? ORDER BY name").all(type)
        : this.db.prepare("SELECT * FROM flavors ORDER BY type, name").all()
    ) as Array<Omit<FlavorRow, "remote"> & { remote: number }>;
    return rows.map((r) => ({ ...r, remote: Boolean(r.remote) }));
  }

  getFlavor(type: string, name: string): FlavorRow | undefined {
    const row = this.db.prepare("SELECT * FROM flavors WHERE type = ? AND name = ?").get(type, name) as
      | (Omit<FlavorRow, "remote"> & { remote: number })
      | undefined;
    return row && { ...row, remote: Boolean(row.remote) };
  }

  /** Registers or re-registers (same source) a flavor. */
  putFlavor(flavor: Omit<FlavorRow, "created">): void {
    this.db
      .prepare(
        `INSERT INTO flavors (type, name, source, description, remote, created) VALUES (@type, @name, @source, @description, @remote, @created)
         ON CONFLICT(type, name) DO UPDATE SET source = excluded.source, description = excluded.description, remote = excluded.remote`,
      )
      .run({ ...flavor, remote: flavor.remote ? 1 : 0, created: now() });
  }

  deleteFlavor(type: string, name: string): void {
    const users = this.db.prepare("SELECT name FROM components WHERE type = ? AND flavor = ? ORDER BY name").all(type, name) as Array<{ name: string }>;
    if (users.length) {
      throw new ConflictError(`Flavor '${name}' is used by ${label(type)} ${users.map((u) => `'${u.name}'`).join(", ")}`, {
        hint: `Delete those components first.`,
      });
    }
    const result = this.db.prepare("DELETE FROM flavors WHERE type = ? AND name = ?").run(type, name);
    if (!result.changes) throw new NotFoundError(`No ${label(type)} flavor named '${name}' is registered`);
  }

  // --- components ---------------------------------------------------------

  listComponents(type?: string): ComponentRow[] {
    const rows = (
      type
        ? this.db.prepare(`${SELECT_COMPONENTS} WHERE c.type = ? ORDER BY c.name`).all(type)
        : this.db.prepare(`${SELECT_COMPONENTS} ORDER BY c.type, c.name`).all()
    ) as StoredComponent[];
    return rows.map(parseComponent);
  }

  findComponent(type: string, name: string): ComponentRow | undefined {
    const row = this.db.prepare(`${SELECT_COMPONENTS} WHERE c.type = ? AND c.name = ?`).get(type, name) as StoredComponent | undefined;
    return row && parseComponent(row);
  }

  getComponentById(id: string): ComponentRow | undefined {
    const row = this.db.prepare(`${SELECT_COMPONENTS} WHERE c.id = ?`).get(id) as StoredComponent | undefined;
    return row && parseComponent(row);
  }

  getComponent(type: string, name: string): ComponentRow {
    const row = this.findComponent(type, name);
    if (!row) {
      const names = this.listComponents(type).map((c) => c.name);
      throw new NotFoundError(`No ${label(type)} named '${name}'`, {
        hint: names.length
          ? `Registered ${label(type)}s: ${names.join(", ")}`
          : `Register one with \`stackyard ${componentTypeCliName(type as ComponentType)} register ${name} ${type === "service_connector" ? "--type TYPE" : "-f FLAVOR"}\`.`,
      });
    }
    return row;
  }

  /** Adds a component; `secrets` go to the secrets file; `connectorId` is its service connector's id. */
  addComponent(input: {
    type: string;
    name: string;
    flavor: string;
    config: Record<string, unknown>;
    secrets: Record<string, unknown>;
    connectorId?: string | undefined;
  }): ComponentRow {
    if (this.findComponent(input.type, input.name)) {
      throw new ConflictError(`A ${label(input.type)} named '${input.name}' already exists`, {
        hint: `Pick another name, or change it with \`stackyard ${componentTypeCliName(input.type as ComponentType)} update ${input.name}\`.`,
      });
    }
    const row: ComponentRow = {
      id: randomUUID(),
      type: input.type,
      name: input.name,
      flavor: input.flavor,
      config: input.config,
      connectorId: input.connectorId ?? null,
      connector: input.connectorId ? (this.getComponentById(input.connectorId)?.name ?? null) : null,
      created: now(),
      updated: now(),
    };
    this.withSecrets(row.id, input.secrets, () => {
      this.db
        .prepare("INSERT INTO components (id, type, name, flavor, config, connector_id, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(row.id, row.type, row.name, row.flavor, JSON.stringify(row.config), row.connectorId, row.created, row.updated);
    });
    return row;
  }

  /**
   * Changes a component. Its users refer to it by id, so a rename keeps them;
   * a new `connectorId` also drops a stale connector name.
   */
  updateComponent(
    id: string,
    patch: { config: Record<string, unknown>; secrets: Record<string, unknown>; connectorId?: string | undefined; name?: string },
  ): void {
    this.withSecrets(id, patch.secrets, () => {
      const current = this.getComponentById(id)!;
      this.db
        .prepare("UPDATE components SET config = ?, name = ?, updated = ? WHERE id = ?")
        .run(JSON.stringify(patch.config), patch.name ?? current.name, now(), id);
      if (patch.connectorId) this.db.prepare("UPDATE components SET connector_id = ?, connector = NULL WHERE id = ?").run(patch.connectorId, id);
    });
  }

  deleteComponent(type: string, name: string): void {
    const row = this.getComponent(type, name);
    const stacks = this.db
      .prepare("SELECT s.name FROM stacks s JOIN stack_components sc ON sc.stack_id = s.id WHERE sc.component_id = ? ORDER BY s.name")
      .all(row.id) as Array<{ name: string }>;
    if (stacks.length) {
      throw new ConflictError(
        `${label(type)[0]!.toUpperCase()}${label(type).slice(1)} '${name}' is used by stack ${stacks.map((s) => `'${s.name}'`).join(", ")}`,
        { hint: "Remove it from those stacks (`stackyard stack update`) or delete them first." },
      );
    }
    if (type === "service_connector") {
      const users = this.db.prepare("SELECT type, name FROM components WHERE connector_id = ? ORDER BY type, name").all(row.id) as Array<{
        type: string;
        name: string;
      }>;
      if (users.length) {
        throw new ConflictError(`Service connector '${name}' is used by ${users.map((u) => `${label(u.type)} '${u.name}'`).join(", ")}`, {
          hint: `Point them at another connector first (\`stackyard ${componentTypeCliName(users[0]!.type as ComponentType)} update ${users[0]!.name} --connector OTHER\`) or delete them.`,
        });
      }
    }
    this.withSecrets(row.id, {}, () => {
      this.db.prepare("DELETE FROM components WHERE id = ?").run(row.id);
    });
  }

  /**
   * Writes secrets, then runs the database change, both under the database's
   * write lock (BEGIN IMMEDIATE), so concurrent writers (20 registrations at
   * once) never lose each other's secrets; if the change fails the previous
   * secrets are put back, so the two files never disagree.
   */
  private withSecrets(id: string, secrets: Record<string, unknown>, change: () => void): void {
    let restore: (() => void) | undefined;
    try {
      this.db
        .transaction(() => {
          const previous = this.secrets.get(id);
          if (JSON.stringify(previous) === JSON.stringify(secrets)) return change();
          this.secrets.set(id, secrets);
          restore = () => this.secrets.set(id, previous);
          change();
        })
        .immediate();
    } catch (error) {
      restore?.();
      throw error;
    }
  }

  // --- stacks -------------------------------------------------------------

  listStacks(): StackRow[] {
    const stacks = this.db.prepare("SELECT * FROM stacks ORDER BY name").all() as Array<Omit<StackRow, "components">>;
    const links = this.db.prepare("SELECT stack_id, type, component_id FROM stack_components").all() as Array<{
      stack_id: string;
      type: string;
      component_id: string;
    }>;
    return stacks.map((s) => ({ ...s, components: Object.fromEntries(links.filter((l) => l.stack_id === s.id).map((l) => [l.type, l.component_id])) }));
  }

  findStack(name: string): StackRow | undefined {
    return this.listStacks().find((s) => s.name === name);
  }

  getStack(name: string): StackRow {
    const stack = this.findStack(name);
    if (!stack) {
      const names = this.listStacks().map((s) => s.name);
      throw new NotFoundError(`No stack named '${name}'`, {
        hint: names.length ? `Registered stacks: ${names.join(", ")}` : "Register one with `stackyard stack register NAME -o ORCHESTRATOR -a ARTIFACT_STORE`.",
      });
    }
    return stack;
  }

  addStack(name: string, components: Record<string, string>): StackRow {
    if (this.findStack(name)) throw new ConflictError(`A stack named '${name}' already exists`, { hint: `Change it with \`stackyard stack update ${name}\`.` });
    const row: StackRow = { id: randomUUID(), name, components, created: now(), updated: now() };
    this.db
      .transaction(() => {
        this.db.prepare("INSERT INTO stacks (id, name, created, updated) VALUES (?, ?, ?, ?)").run(row.id, name, row.created, row.updated);
        this.writeStackComponents(row.id, components);
      })
      .immediate();
    return row;
  }

  updateStack(name: string, components: Record<string, string>, rename?: string): void {
    const stack = this.getStack(name);
    if (rename && rename !== name && this.findStack(rename)) throw new ConflictError(`A stack named '${rename}' already exists`);
    this.db
      .transaction(() => {
        this.db.prepare("UPDATE stacks SET name = ?, updated = ? WHERE id = ?").run(rename ?? name, now(), stack.id);
        this.db.prepare("DELETE FROM stack_components WHERE stack_id = ?").run(stack.id);
        this.writeStackComponents(stack.id, components);
        if (rename && this.getSetting("active_stack") === name) this.setSetting("active_stack", rename);
      })
      .immediate();
  }

  deleteStack(name: string): void {
    const stack = this.getStack(name);
    if (this.activeStackName() === name) {
      throw new ConflictError(`Stack '${name}' is the active stack`, { hint: "Set another stack active first (`stackyard stack set default`)." });
    }
    this.db.prepare("DELETE FROM stacks WHERE id = ?").run(stack.id);
  }

  activeStackName(): string {
    return process.env.STACKYARD_STACK || this.getSetting("active_stack") || "default";
  }

  setActiveStack(name: string): void {
    this.getStack(name);
    this.setSetting("active_stack", name);
  }

  private writeStackComponents(stackId: string, components: Record<string, string>): void {
    const insert = this.db.prepare("INSERT INTO stack_components (stack_id, type, component_id) VALUES (?, ?, ?)");
    for (const [type, id] of Object.entries(components)) insert.run(stackId, type, id);
  }
}

function parseComponent(row: StoredComponent): ComponentRow {
  return { ...row, config: JSON.parse(row.config) as Record<string, unknown> };
}
