import { Writable } from "node:stream";
import type Docker from "dockerode";

/** Label every step container carries: the run id, so `stop` finds a run's containers. */
export const RUN_LABEL = "io.stackyard.run";
/** Label with the step invocation id. */
export const STEP_LABEL = "io.stackyard.step";

/** How one step container ended. */
export interface ContainerExit {
  exitCode: number;
  oomKilled: boolean;
  /** The hard memory limit the container had, in bytes (0 when unlimited). */
  memoryLimit: number;
}

/** Cuts a byte stream into lines; the last partial line comes out on `final`. */
class LineSink extends Writable {
  private pending = "";
  constructor(private readonly onLine: (line: string) => void) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.pending += chunk.toString("utf8");
    const lines = this.pending.split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.onLine(line.replace(/\r$/, ""));
    callback();
  }
  override _final(callback: () => void): void {
    this.flushRest();
    callback();
  }
  flushRest(): void {
    if (this.pending) this.onLine(this.pending.replace(/\r$/, ""));
    this.pending = "";
  }
}

/** What {@link runContainer} needs. */
export interface RunContainerOptions {
  docker: Docker;
  create: Docker.ContainerCreateOptions;
  onLine(line: string, stream: "stdout" | "stderr"): void;
  /** Called once the container exists (before it starts), e.g. to remember it for aborts. */
  onCreated?(container: Docker.Container): void;
  /** Checked after creation: when it returns true the container is not started. */
  cancelled?(): boolean;
  remove: boolean;
}

/**
 * Creates, starts and waits for one container, streaming its output line by
 * line (stdout and stderr demultiplexed from the engine's 8-byte frame
 * headers). Attaches before starting, so no output is lost. Removes the
 * container afterwards when asked, also when anything fails.
 * Resolves with undefined when cancelled before the start.
 */
export async function runContainer(options: RunContainerOptions): Promise<ContainerExit | undefined> {
  const { docker } = options;
  const container = await docker.createContainer({
    ...options.create,
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: false,
    OpenStdin: false,
  });
  options.onCreated?.(container);
  try {
    if (options.cancelled?.()) return undefined;
    const stream = (await container.attach({ stream: true, stdout: true, stderr: true, logs: true })) as NodeJS.ReadableStream;
    const stdout = new LineSink((line) => options.onLine(line, "stdout"));
    const stderr = new LineSink((line) => options.onLine(line, "stderr"));
    const ended = new Promise<void>((resolveEnd) => {
      stream.on("end", resolveEnd);
      stream.on("close", resolveEnd);
      stream.on("error", () => resolveEnd());
    });
    docker.modem.demuxStream(stream, stdout, stderr);
    await container.start();
    const result = (await container.wait()) as { StatusCode: number };
    // The attach stream ends right after the process; do not hang on an engine that keeps it open.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
    clearTimeout(timer);
    stdout.flushRest();
    stderr.flushRest();
    const info = await container.inspect();
    return { exitCode: result.StatusCode, oomKilled: Boolean(info.State.OOMKilled), memoryLimit: info.HostConfig.Memory ?? 0 };
  } finally {
    if (options.remove) await container.remove({ force: true, v: true }).catch(() => {});
  }
}
