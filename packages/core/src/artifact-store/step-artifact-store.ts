import type { Readable } from "node:stream";
import { ConflictError } from "../errors/errors.js";
import { type ArtifactFileEntry, type ArtifactStat, BaseArtifactStore, type WriteBody, type WriteOptions } from "./base-artifact-store.js";

/** What a step may touch: its run, its own invocation and where its inputs are. */
export interface StepScope {
  runId: string;
  stepId: string;
  /** URIs (or paths) of the artifacts the step reads as inputs; they may belong to other runs (cached steps). */
  inputs: readonly string[];
}

/** Files of a step's folder that the engine writes: its log and its record. */
const ENGINE_FILES = new Set(["logs.txt", "step.json"]);

const under = (key: string, folder: string): boolean => key === folder || key.startsWith(`${folder}/`);

/**
 * The artifact store as a step sees it (`ctx.artifactStore`): the same API
 * over the same root, confined to what the step may touch. It writes,
 * moves and removes only under its own folder `runs/<run>/<step>/` (not
 * the folder itself, its log or its record), and reads its own run's
 * folder and its inputs. Snapshots, other runs' artifacts and the root are
 * out of its reach.
 */
export class StepArtifactStore extends BaseArtifactStore {
  readonly scheme: string;
  private readonly inner: BaseArtifactStore;
  private readonly scope: StepScope;
  private readonly runFolder: string;
  private readonly ownFolder: string;
  private readonly inputFolders: string[];

  constructor(inner: BaseArtifactStore, scope: StepScope) {
    super({ id: inner.id, name: inner.name, flavor: inner.flavor, config: inner.config, connector: inner.connector, sourceRoot: inner.sourceRoot });
    this.inner = inner;
    this.scheme = inner.scheme;
    this.scope = scope;
    this.runFolder = `runs/${scope.runId}`;
    this.ownFolder = `${this.runFolder}/${scope.stepId}`;
    this.inputFolders = scope.inputs.flatMap((uri) => {
      try {
        return [inner.keyOf(uri)];
      } catch {
        return []; // kept in another artifact store: not readable through this one anyway
      }
    });
  }

  override keyOf(path: string): string {
    return this.inner.keyOf(path);
  }

  override uri(path: string): string {
    return this.inner.uri(path);
  }

  override async readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(this.readable(this.keyOf(path)));
  }

  private readable(key: string): string {
    if (under(key, this.runFolder) || this.inputFolders.some((folder) => under(key, folder))) return key;
    throw new ConflictError(
      `Step '${this.scope.stepId}' may not read '${key}' in artifact store '${this.name}': a step reads its own run (${this.runFolder}/) and its inputs`,
    );
  }

  private writable(key: string): string {
    const rest = key.startsWith(`${this.ownFolder}/`) ? key.slice(this.ownFolder.length + 1) : undefined;
    if (rest && !ENGINE_FILES.has(rest)) return key;
    throw new ConflictError(
      `Step '${this.scope.stepId}' may not change '${key || "(the root)"}' in artifact store '${this.name}': a step writes and removes only under its own folder ${this.ownFolder}/ (not its logs.txt or step.json)`,
    );
  }

  protected readKey(key: string): Promise<Readable> {
    return this.inner.createReadStream(this.readable(key));
  }
  protected writeKey(key: string, body: WriteBody, options?: WriteOptions): Promise<void> {
    return this.inner.writeFile(this.writable(key), body, options);
  }
  protected existsKey(key: string): Promise<boolean> {
    return this.inner.exists(this.readable(key));
  }
  protected listKey(key: string): Promise<string[]> {
    return this.inner.list(this.readable(key));
  }
  protected override listFilesKey(key: string): Promise<ArtifactFileEntry[]> {
    return this.inner.listFiles(this.readable(key));
  }
  protected statKey(key: string): Promise<ArtifactStat> {
    return this.inner.stat(this.readable(key));
  }
  protected mkdirsKey(key: string): Promise<void> {
    return this.inner.mkdirs(this.writable(key));
  }
  protected removeKey(key: string): Promise<void> {
    return this.inner.remove(this.writable(key));
  }
  protected rmtreeKey(key: string): Promise<void> {
    return this.inner.rmtree(this.writable(key));
  }
  protected copyKey(from: string, to: string, overwrite: boolean): Promise<void> {
    return this.inner.copy(this.readable(from), this.writable(to), { overwrite });
  }
  protected renameKey(from: string, to: string, overwrite: boolean): Promise<void> {
    return this.inner.rename(this.writable(from), this.writable(to), { overwrite });
  }
}
