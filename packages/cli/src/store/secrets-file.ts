import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { StoreOpenError } from "./store-errors.js";

/** Secret config values by component id, kept out of the main store. */
export type SecretsByComponent = Record<string, Record<string, unknown>>;

/**
 * A JSON file readable only by its owner (mode 0600) holding secret config
 * fields. Writes are atomic (temp file + rename) so a crash never leaves a
 * half-written file.
 */
export class SecretsFile {
  constructor(readonly file: string) {}

  read(): SecretsByComponent {
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, "utf8")) as SecretsByComponent;
    } catch (error) {
      throw new StoreOpenError(
        `The secrets file ${this.file} cannot be read: ${(error as Error).message}`,
        "It was left untouched; restore it from a backup or remove it and register the affected components again.",
      );
    }
  }

  get(componentId: string): Record<string, unknown> {
    return this.read()[componentId] ?? {};
  }

  /** Replaces the secrets of one component (an empty object removes them). */
  set(componentId: string, secrets: Record<string, unknown>): void {
    const all = this.read();
    if (Object.keys(secrets).length) all[componentId] = secrets;
    else if (componentId in all) delete all[componentId];
    else return;
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(all, null, 2), { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.file);
  }
}
