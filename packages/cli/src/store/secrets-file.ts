import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { StoreError } from "@stackyard/core/errors";

/** Secret config values by component id, kept out of the main store. */
export type SecretsByComponent = Record<string, Record<string, unknown>>;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A JSON file readable only by its owner (mode 0600) holding secret config
 * fields. Writes go to a new file with a random name, created exclusively
 * with mode 0600, flushed, then renamed over the old one, so a crash never
 * leaves a half-written file. Callers serialise writers (ConfigStore writes
 * inside the database's write lock). A file that is not a regular file of
 * this user, is readable by others, or does not hold a JSON object is
 * refused, and its content is never echoed.
 */
export class SecretsFile {
  constructor(readonly file: string) {}

  read(): SecretsByComponent {
    if (!existsSync(this.file)) return {};
    this.checkOwnership();
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, "utf8"));
    } catch {
      throw this.damaged("it is not valid JSON");
    }
    if (!isRecord(parsed) || !Object.values(parsed).every(isRecord)) throw this.damaged("it does not hold an object of secrets by component id");
    return parsed as SecretsByComponent;
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
    const temp = `${this.file}.${randomBytes(8).toString("hex")}.tmp`;
    const fd = openSync(temp, "wx", 0o600);
    try {
      writeSync(fd, JSON.stringify(all, null, 2));
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(temp, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(temp, this.file);
  }

  private checkOwnership(): void {
    const info = lstatSync(this.file);
    const uid = process.getuid?.();
    if (!info.isFile() || (uid !== undefined && info.uid !== uid)) {
      throw new StoreError(`The secrets file ${this.file} is not a regular file owned by you, so it is not read`, {
        hint: "Replace it with the project's own secrets file, or remove it and register the affected components again.",
      });
    }
    if ((info.mode & 0o077) !== 0) {
      throw new StoreError(`The secrets file ${this.file} can be read or changed by other users (mode ${(info.mode & 0o777).toString(8)}), so it is not read`, {
        hint: `Make it private with \`chmod 600 ${this.file}\`, and change any credential in it that others may have seen.`,
      });
    }
  }

  private damaged(why: string): StoreError {
    return new StoreError(`The secrets file ${this.file} cannot be read: ${why}`, {
      hint: "It was left untouched; restore it from a backup or remove it and register the affected components again.",
    });
  }
}
