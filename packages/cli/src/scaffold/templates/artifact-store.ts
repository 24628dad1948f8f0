import type { ScaffoldNames } from "../names.js";

export function artifactStoreIndex(n: ScaffoldNames): string {
  return `/**
 * \`${n.packageName}\`: the \`${n.flavor}\` artifact store flavor for Stackyard.
 *
 * This module stays light (zod and @stackyard/core): the CLI imports it to
 * list, describe and validate components, and loads the implementation only
 * when a pipeline uses it.
 *
 * @packageDocumentation
 */
import { baseArtifactStoreConfigSchema, defineFlavor } from "@stackyard/core";
import { z } from "zod";

/** Component config of a \`${n.flavor}\` artifact store: \`--key=value\` on \`stackyard artifact-store register\`. */
export const ${n.schemaExport} = baseArtifactStoreConfigSchema
  .extend({
    path: z.string().min(1).describe("Folder holding the artifacts; relative to the source root when relative"),
  })
  .strict();
export type ${n.configType} = z.output<typeof ${n.schemaExport}>;

/** The \`${n.flavor}\` artifact store flavor. */
export const ${n.flavorExport} = defineFlavor({
  name: "${n.flavor}",
  type: "artifact_store",
  description: "Artifacts as files in a folder on this machine",
  configSchema: ${n.schemaExport},
  remote: false,
  packageName: "${n.packageName}",
  // The only place the implementation (and whatever it imports) is loaded.
  implementation: async () => (await import("./implementation.js")).${n.className},
});
`;
}

export function artifactStoreImplementation(n: ScaffoldNames): string {
  return `import { randomUUID } from "node:crypto";
import { constants, createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BaseArtifactStore, ConflictError, NotFoundError, type ArtifactStat, type ComponentInit, type WriteBody } from "@stackyard/core";
import type { ${n.configType} } from "./index.js";

/** Suffix of files being written; they are renamed into place when complete. */
const PARTIAL = ".partial";

/**
 * Artifacts as files under a folder. The base class turns every path into a
 * key confined to the root; this class maps keys to files. Writes go to a
 * temporary file that is renamed into place, so readers never see half a file.
 */
export class ${n.className} extends BaseArtifactStore<${n.configType}> {
  readonly scheme = "file";

  constructor(init: ComponentInit<${n.configType}>) {
    const root = isAbsolute(init.config.path) ? resolve(init.config.path) : resolve(init.sourceRoot, init.config.path);
    super({ ...init, config: { ...init.config, path: root } });
  }

  private fileOf(key: string): string {
    return key ? join(this.config.path, ...key.split("/")) : this.config.path;
  }

  private async statOrUndefined(key: string) {
    return stat(this.fileOf(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
      throw error;
    });
  }

  private async requireFile(key: string): Promise<string> {
    const info = await this.statOrUndefined(key);
    if (!info?.isFile()) throw new NotFoundError(\`No artifact '\${key}' in artifact store '\${this.name}' (\${this.config.path})\`);
    return this.fileOf(key);
  }

  private async refuseOverwrite(key: string, overwrite: boolean): Promise<void> {
    if (!overwrite && (await this.statOrUndefined(key))) {
      throw new ConflictError(\`'\${key}' already exists in artifact store '\${this.name}'\`, { hint: "Pass { overwrite: true } to replace it." });
    }
  }

  protected async readKey(key: string): Promise<Readable> {
    return createReadStream(await this.requireFile(key));
  }

  protected async writeKey(key: string, body: WriteBody): Promise<void> {
    const file = this.fileOf(key);
    await mkdir(dirname(file), { recursive: true });
    const temp = join(dirname(file), \`.\${randomUUID()}\${PARTIAL}\`);
    try {
      if (typeof body === "string" || body instanceof Uint8Array) await writeFile(temp, body);
      else await pipeline(body, createWriteStream(temp));
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  protected async existsKey(key: string): Promise<boolean> {
    return (await this.statOrUndefined(key)) !== undefined;
  }

  protected async listKey(key: string): Promise<string[]> {
    const info = await this.statOrUndefined(key);
    if (!info?.isDirectory()) return [];
    return (await readdir(this.fileOf(key))).filter((name) => !name.endsWith(PARTIAL)).sort();
  }

  protected async statKey(key: string): Promise<ArtifactStat> {
    const info = await this.statOrUndefined(key);
    if (!info) throw new NotFoundError(\`No artifact '\${key}' in artifact store '\${this.name}' (\${this.config.path})\`);
    return { size: info.isDirectory() ? 0 : info.size, isDirectory: info.isDirectory(), modified: info.mtime };
  }

  protected async mkdirsKey(key: string): Promise<void> {
    await mkdir(this.fileOf(key), { recursive: true });
  }

  protected async removeKey(key: string): Promise<void> {
    await unlink(await this.requireFile(key));
  }

  protected async rmtreeKey(key: string): Promise<void> {
    await rm(this.fileOf(key), { recursive: true, force: true });
  }

  protected async copyKey(from: string, to: string, overwrite: boolean): Promise<void> {
    const source = await this.requireFile(from);
    await this.refuseOverwrite(to, overwrite);
    await mkdir(dirname(this.fileOf(to)), { recursive: true });
    await copyFile(source, this.fileOf(to), overwrite ? 0 : constants.COPYFILE_EXCL);
  }

  protected async renameKey(from: string, to: string, overwrite: boolean): Promise<void> {
    const source = await this.requireFile(from);
    await this.refuseOverwrite(to, overwrite);
    await mkdir(dirname(this.fileOf(to)), { recursive: true });
    await rename(source, this.fileOf(to));
  }
}
`;
}

export function artifactStoreTest(n: ScaffoldNames): string {
  return `import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testArtifactStore } from "@stackyard/conformance";
import { ${n.flavorExport} } from "../src/index.js";

// The behaviour every Stackyard artifact store must have: exact bytes,
// streams, folders, copy and rename, paths confined to the root.
testArtifactStore({
  name: "${n.flavor}",
  create: async () => {
    const Store = await ${n.flavorExport}.implementation();
    const path = mkdtempSync(join(tmpdir(), "${n.flavor}-conformance-"));
    const config = ${n.flavorExport}.configSchema.parse({ path });
    return new Store({ id: "conformance", name: "conformance", flavor: "${n.flavor}", config, sourceRoot: process.cwd() });
  },
  cleanup: async (store) => rmSync(store.path, { recursive: true, force: true }),
});
`;
}
