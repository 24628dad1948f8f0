/**
 * A real Docker engine for integration tests, brought up on demand.
 *
 * The engine runs on its own socket with its own folders under
 * `<repo>/.test-engines/docker`, without a bridge or iptables rules: containers
 * use network mode `host` (to reach services on 127.0.0.1) or `none`.
 * Several test processes may call these helpers at once (vitest forks): a lock
 * file makes one of them start the engine or build the base image while the
 * others wait and reuse it.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import Docker from "dockerode";

/** The monorepo root, computed from this file's place (`tools/src/engines`). */
export const repoRoot: string = fileURLToPath(new URL("../../../", import.meta.url));

/** `<repo>/.test-engines/<name>`, created on first use (gitignored). */
export function engineDir(name: string): string {
  const dir = path.join(repoRoot, ".test-engines", name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Raised when a test engine is missing and cannot be brought up. Never a skip. */
export class EngineUnavailableError extends Error {
  constructor(message: string, hint: string) {
    super(`${message}\n  What to do: ${hint}${process.env.CI === "true" ? "\n  (CI=true: a missing engine is a failure, never a skip.)" : ""}`);
    this.name = "EngineUnavailableError";
  }
}

// ---------------------------------------------------------------------------
// Processes, locks and leases shared by every engine (docker, registry, moto)

/** True while `pid` runs (a zombie counts as gone: PID 1 in a container may never reap it). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** Sends SIGTERM to `pid` and waits until it has exited (SIGKILL after `graceMs`). */
export async function terminate(pid: number, graceMs = 20_000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      while (isAlive(pid)) await sleep(50);
      return;
    }
    await sleep(50);
  }
}

/**
 * Runs `fn` holding an exclusive lock file (`open(..., "wx")` holding our pid).
 * A lock whose holder died is taken over; two waiters noticing the same dead
 * holder at the same instant may both proceed, which every caller tolerates
 * because each re-checks whether the engine answers before starting it.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let holder = 0;
      try {
        holder = Number(readFileSync(lockPath, "utf8"));
      } catch {
        continue; // released between open and read
      }
      if (holder > 0 && !isAlive(holder)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`Gave up after ${timeoutMs} ms waiting for ${lockPath} (held by pid ${holder || "?"}).`);
      }
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

const leaseCounts = new Map<string, number>();

/** What {@link acquireSharedEngine} is told about one kind of engine. */
export interface SharedEngineSpec {
  /** Folder name under `.test-engines`. */
  name: string;
  /** True when the engine already answers. */
  answers(): Promise<boolean>;
  /** Starts the engine (it must answer when this resolves) and returns its pid. */
  start(dir: string): Promise<number>;
}

/** A process's hold on a shared engine. */
export interface SharedEngineLease {
  /** True when this call started the engine. */
  started: boolean;
  /** Lets go; the last process to let go stops an engine the tooling started. */
  release(): Promise<void>;
}

/**
 * Brings a shared engine up, or reuses the one that answers, and records this
 * process as a user (`.test-engines/<name>/users/<pid>`).
 *
 * An engine is stopped when the last process using it lets go, and only when
 * the tooling started it (`started.json`): an engine somebody started by
 * hand is never stopped. `STACKYARD_KEEP_ENGINES=1` keeps engines running
 * between test runs for a faster local loop.
 */
export async function acquireSharedEngine(spec: SharedEngineSpec): Promise<SharedEngineLease> {
  const dir = engineDir(spec.name);
  const users = path.join(dir, "users");
  const lock = path.join(dir, "engine.lock");
  const marker = path.join(dir, "started.json");
  mkdirSync(users, { recursive: true });
  let started = false;
  await withFileLock(lock, async () => {
    writeFileSync(path.join(users, String(process.pid)), "");
    leaseCounts.set(spec.name, (leaseCounts.get(spec.name) ?? 0) + 1);
    if (await spec.answers()) return;
    const pid = await spec.start(dir);
    writeFileSync(marker, JSON.stringify({ pid, startedBy: process.pid, at: new Date().toISOString() }));
    started = true;
  });
  let released = false;
  return {
    started,
    async release() {
      if (released) return;
      released = true;
      const left = (leaseCounts.get(spec.name) ?? 1) - 1;
      leaseCounts.set(spec.name, left);
      if (left > 0) return;
      await withFileLock(lock, async () => {
        rmSync(path.join(users, String(process.pid)), { force: true });
        const others = readdirSync(users).filter((name) => {
          const alive = isAlive(Number(name));
          if (!alive) rmSync(path.join(users, name), { force: true });
          return alive;
        });
        if (others.length > 0 || !existsSync(marker) || process.env.STACKYARD_KEEP_ENGINES === "1") return;
        const { pid } = JSON.parse(readFileSync(marker, "utf8")) as { pid: number };
        await terminate(pid);
        rmSync(marker, { force: true });
      });
    },
  };
}

/** Path of a system program, looking in sbin folders too (not on a non-root PATH). */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

const debianPackageOf: Record<string, string> = {
  dockerd: "docker.io",
  debootstrap: "debootstrap",
  "docker-registry": "docker-registry",
};

/**
 * Installs, with apt-get, the Debian packages behind any of `programs` that are
 * missing (all three engine packages at once, so a later step finds them).
 */
export async function ensurePrograms(programs: readonly string[]): Promise<void> {
  if (programs.every((p) => findProgram(p))) return;
  await installDebianPackages(Object.values(debianPackageOf), {
    done: () => programs.every((p) => findProgram(p)),
    missing: () => programs.filter((p) => !findProgram(p)).join(", "),
    fix: "install Docker (dockerd), debootstrap and docker-registry, or set DOCKER_HOST to a running engine.",
  });
}

/**
 * `apt-get install -y PACKAGES` (after `apt-get update` when the first try
 * fails), once at a time across test processes. `done` is checked again
 * inside the lock: another process may have installed them meanwhile.
 */
export async function installDebianPackages(packages: readonly string[], check: { done: () => boolean; missing: () => string; fix: string }): Promise<void> {
  const command = `apt-get install -y ${packages.join(" ")}`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new EngineUnavailableError(`Missing ${check.missing()} and not root, so the tests cannot install them.`, `run: sudo ${command}`);
  }
  if (!findProgram("apt-get")) throw new EngineUnavailableError(`Missing ${check.missing()} and there is no apt-get.`, check.fix);
  await withFileLock(path.join(engineDir("apt"), "apt.lock"), async () => {
    if (check.done()) return;
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    let result = spawnSync("apt-get", ["install", "-y", ...packages], { env, encoding: "utf8" });
    if (result.status !== 0) {
      spawnSync("apt-get", ["update"], { env, encoding: "utf8" });
      result = spawnSync("apt-get", ["install", "-y", ...packages], { env, encoding: "utf8" });
    }
    if (result.status !== 0) {
      throw new EngineUnavailableError(`\`${command}\` failed:\n${tail(`${result.stdout}${result.stderr}`)}`, `install the packages by hand: ${check.fix}`);
    }
  });
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

// ---------------------------------------------------------------------------
// The Docker engine

/** A Docker engine that answers. */
export interface DockerEngine {
  /** Unix socket path, when the engine listens on one. */
  socketPath: string | undefined;
  /** Address for DOCKER_HOST and `connectDocker`: `unix:///...` or `tcp://...`. */
  dockerHost: string;
  /** True when this call started dockerd. */
  started: boolean;
  /** Lets go of the engine; see {@link acquireSharedEngine} for when dockerd stops. Waits for its pid to exit. */
  stop(): Promise<void>;
}

/** A dockerode client for an address (`unix:///path` or `tcp://host:port`). */
export function dockerClient(dockerHost: string): Docker {
  if (dockerHost.startsWith("unix://")) return new Docker({ socketPath: dockerHost.slice("unix://".length) });
  const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === "https:" ? "https" : "http" });
}

async function dockerAnswers(dockerHost: string): Promise<boolean> {
  try {
    const client = dockerClient(dockerHost);
    await Promise.race([client.ping(), sleep(2_000).then(() => Promise.reject(new Error("timeout")))]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns a Docker engine that answers: the one at DOCKER_HOST if set (never
 * stopped by us), else the repo's own engine on `.test-engines/docker/docker.sock`,
 * started here (after `apt-get install` of what is missing) if nothing answers.
 * Throws {@link EngineUnavailableError} saying what is missing; never skips.
 */
export async function ensureDockerEngine(): Promise<DockerEngine> {
  const fromEnv = process.env.DOCKER_HOST;
  if (fromEnv) {
    if (!(await dockerAnswers(fromEnv))) {
      throw new EngineUnavailableError(
        `No Docker engine answers at DOCKER_HOST=${fromEnv}.`,
        "start that engine, or unset DOCKER_HOST so the tests start their own under .test-engines/docker.",
      );
    }
    return {
      socketPath: fromEnv.startsWith("unix://") ? fromEnv.slice("unix://".length) : undefined,
      dockerHost: fromEnv,
      started: false,
      stop: async () => {},
    };
  }
  const dir = engineDir("docker");
  const socketPath = path.join(dir, "docker.sock");
  const dockerHost = `unix://${socketPath}`;
  const lease = await acquireSharedEngine({
    name: "docker",
    answers: () => dockerAnswers(dockerHost),
    start: async () => startDockerd(dir, dockerHost),
  });
  return { socketPath, dockerHost, started: lease.started, stop: lease.release };
}

async function startDockerd(dir: string, dockerHost: string): Promise<number> {
  const pidFile = path.join(dir, "dockerd.pid");
  // A dockerd from an earlier run that is still coming up (or hung): give it a chance, then replace it.
  if (existsSync(pidFile)) {
    const old = Number(readFileSync(pidFile, "utf8"));
    if (old > 0 && isAlive(old)) {
      for (let i = 0; i < 50; i++) {
        if (await dockerAnswers(dockerHost)) return old;
        await sleep(200);
      }
      await terminate(old);
    }
  }
  await ensurePrograms(["dockerd"]);
  const logFile = path.join(dir, "dockerd.log");
  const log = openSync(logFile, "a");
  const child = spawn(
    findProgram("dockerd") ?? "dockerd",
    ["-H", dockerHost, "--data-root", path.join(dir, "data"), "--exec-root", path.join(dir, "exec"), "-p", pidFile, "--bridge=none", "--iptables=false"],
    { detached: true, stdio: ["ignore", log, log] },
  );
  closeSync(log);
  let exited: string | undefined;
  child.on("exit", (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.on("error", (error) => (exited = error.message));
  child.unref();
  const deadline = Date.now() + 60_000;
  while (!(await dockerAnswers(dockerHost))) {
    if (exited || Date.now() > deadline) {
      if (!exited && child.pid) await terminate(child.pid);
      throw new EngineUnavailableError(
        `dockerd did not come up (${exited ?? "no answer after 60 s"}). Last lines of ${logFile}:\n${tail(readFileSync(logFile, "utf8"))}`,
        "read the log above; dockerd needs root and overlay or vfs storage. Or set DOCKER_HOST to a running engine.",
      );
    }
    await sleep(100);
  }
  return child.pid!;
}

// ---------------------------------------------------------------------------
// Base images: Debian minbase and the host's Node on top

/** The Debian image built with debootstrap. */
export const debianImage = "local/debian:bookworm";

/** The image with the host's Node: `stackyard/node:<version without v>`. */
export const nodeImage = `stackyard/node:${process.versions.node}`;

// Libraries every Debian minbase has; others the host's node links to are copied in.
const minbaseLibraries = /^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\b/;

async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** Waits for a dockerode progress stream and throws on an `error` message in it. */
export async function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: unknown[]) => {
        if (error) return reject(error);
        const failed = output.find((o) => (o as { error?: string }).error) as { error?: string } | undefined;
        if (failed) return reject(new Error(failed.error));
        resolve(output);
      },
      (event: { stream?: string; status?: string }) => onLine?.((event.stream ?? event.status ?? "").trimEnd()),
    );
  });
}

/**
 * Makes sure `local/debian:bookworm` and `stackyard/node:<host node version>`
 * exist in the engine, building them when missing: debootstrap `--variant=minbase`
 * (the rootfs tarball stays under `.test-engines/debian` so the next import
 * takes seconds), then the host's node binary copied onto it.
 * Returns both image names.
 */
export async function ensureBaseImage(docker: Docker): Promise<{ debianImage: string; nodeImage: string }> {
  await withFileLock(path.join(engineDir("docker"), "image.lock"), async () => {
    if (await imageExists(docker, nodeImage)) return;
    if (!(await imageExists(docker, debianImage))) await importDebian(docker);
    await buildNodeImage(docker);
  });
  return { debianImage, nodeImage };
}

async function importDebian(docker: Docker): Promise<void> {
  const dir = engineDir("debian");
  const tarball = path.join(dir, "bookworm-minbase.tar");
  if (!existsSync(tarball)) {
    await ensurePrograms(["debootstrap"]);
    const rootfs = path.join(dir, "rootfs");
    rmSync(rootfs, { recursive: true, force: true });
    const boot = spawnSync(findProgram("debootstrap") ?? "debootstrap", ["--variant=minbase", "bookworm", rootfs], { encoding: "utf8" });
    if (boot.status !== 0) {
      throw new EngineUnavailableError(
        `debootstrap --variant=minbase bookworm failed:\n${tail(`${boot.stdout}${boot.stderr}`)}`,
        "check that deb.debian.org (or the apt mirror) is reachable.",
      );
    }
    const pack = spawnSync("tar", ["--numeric-owner", "-C", rootfs, "-cf", `${tarball}.partial`, "."], { encoding: "utf8" });
    if (pack.status !== 0) throw new Error(`tar of ${rootfs} failed: ${pack.stderr}`);
    renameSync(`${tarball}.partial`, tarball);
    rmSync(rootfs, { recursive: true, force: true });
  }
  const [repo, tag] = debianImage.split(":") as [string, string];
  await followProgress(docker, (await docker.importImage(createReadStream(tarball), { repo, tag })) as NodeJS.ReadableStream);
}

async function buildNodeImage(docker: Docker): Promise<void> {
  const context = path.join(engineDir("docker"), "node-image");
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  copyFileSync(process.execPath, path.join(context, "node"));
  const lines = [`FROM ${debianImage}`, "COPY node /usr/local/bin/node"];
  const src = ["Dockerfile", "node"];
  // The host's node usually links only libraries minbase has; copy any other one to the same place.
  const ldd = spawnSync("ldd", [process.execPath], { encoding: "utf8" });
  for (const match of (ldd.stdout ?? "").matchAll(/^\s*(\S+) => (\/\S+)/gm)) {
    const [, soname, file] = match as unknown as [string, string, string];
    if (minbaseLibraries.test(soname)) continue;
    const name = `lib-${src.length}`;
    copyFileSync(file, path.join(context, name));
    lines.push(`COPY ${name} ${file}`);
    src.push(name);
  }
  lines.push('CMD ["node"]');
  writeFileSync(path.join(context, "Dockerfile"), `${lines.join("\n")}\n`);
  const stream = await docker.buildImage({ context, src }, { t: nodeImage, labels: { "io.stackyard.test-engine": "node" } });
  await followProgress(docker, stream);
  rmSync(context, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Running a container (for tests)

/** What {@link runContainer} saw. */
export interface ContainerResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runContainer}. */
export interface RunContainerOptions {
  /** `none` (default) or `host`; bridge networks are never used. */
  network?: "none" | "host";
  env?: Record<string, string>;
  entrypoint?: string[];
  /** `host:container[:mode]` bind mounts. */
  binds?: string[];
  /** `uid:gid` (or a name) the process runs as; default the image's user. */
  user?: string;
  /** Hard memory limit, in bytes. */
  memoryBytes?: number;
  /** CPU quota in billionths of a CPU (1e9 = one CPU). */
  nanoCpus?: number;
  labels?: Record<string, string>;
  /** Kills the container when aborted; the result then has the kill's exit code (137). */
  signal?: AbortSignal;
}

/**
 * Runs `cmd` in a fresh container of `image` and returns its exit code and
 * output. Network mode is `none` unless `host` is asked for; bridge networks
 * are never used. The container is removed whatever happens.
 */
export async function runContainer(docker: Docker, image: string, cmd: string[], options: RunContainerOptions = {}): Promise<ContainerResult> {
  if (options.signal?.aborted) throw new Error(`not starting ${image}: aborted`);
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    ...(options.entrypoint ? { Entrypoint: options.entrypoint } : {}),
    ...(options.user ? { User: options.user } : {}),
    ...(options.labels ? { Labels: options.labels } : {}),
    Env: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    HostConfig: {
      NetworkMode: options.network ?? "none",
      Binds: options.binds ?? [],
      ...(options.memoryBytes !== undefined ? { Memory: options.memoryBytes, MemorySwap: options.memoryBytes } : {}),
      ...(options.nanoCpus !== undefined ? { NanoCpus: options.nanoCpus } : {}),
    },
  });
  const kill = () => void container.kill().catch(() => undefined);
  try {
    await container.start();
    options.signal?.addEventListener("abort", kill, { once: true });
    if (options.signal?.aborted) kill();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const { stdout, stderr } = demultiplex(raw);
    return { exitCode: StatusCode, stdout, stderr };
  } finally {
    options.signal?.removeEventListener("abort", kill);
    await container.remove({ force: true });
  }
}

/** Splits Docker's multiplexed log format (8-byte frame headers) into stdout and stderr. */
export function demultiplex(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const kind = raw[offset];
    const size = raw.readUInt32BE(offset + 4);
    const payload = raw.subarray(offset + 8, offset + 8 + size);
    (kind === 2 ? err : out).push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}
