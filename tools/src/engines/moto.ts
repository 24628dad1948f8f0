/**
 * moto, the AWS API emulator, as a test engine.
 *
 * Each caller gets its own `python3 -m moto.server` on a free loopback port,
 * so vitest fork processes never share state. Under `CI=true` a missing moto
 * is an error (CI must exercise the real APIs); elsewhere it is an error too,
 * with the fix in the message, because a test that silently skips proves nothing.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";

/** A running moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: pass as `endpoint` to every AWS SDK client. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
  /** Forgets every bucket, repository, role... (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /**
   * Makes moto check credentials (`POST /moto-api/reset-auth`): after
   * `freeActions` more requests, unknown access keys are refused. Pass
   * `Infinity` to turn checking off again.
   */
  enforceAuth(freeActions: number): Promise<void>;
}

export interface EnsureMotoOptions {
  /** The Python interpreter; default `$STACKYARD_PYTHON` or `python3`. */
  python?: string;
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  /** How long to wait for the server to answer; default 30 s. */
  timeoutMs?: number;
}

const python = (options?: EnsureMotoOptions): string => options?.python ?? process.env.STACKYARD_PYTHON ?? "python3";

/** Why moto cannot run here, or undefined when it can. */
export function motoUnavailableReason(options?: EnsureMotoOptions): string | undefined {
  const probe = spawnSync(python(options), ["-c", "import moto.server, sys; sys.stdout.write(moto.__version__)"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  if (probe.error) return `cannot run ${python(options)}: ${probe.error.message}`;
  if (probe.status !== 0) return `moto is not importable in ${python(options)}: ${probe.stderr.trim().split("\n").pop() ?? ""}`;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of running) c.kill("SIGKILL");
  });
}

/**
 * Starts moto on a free port of 127.0.0.1 and resolves once it answers.
 * Throws (never skips) when moto is not installed.
 */
export async function ensureMoto(options?: EnsureMotoOptions): Promise<MotoServer> {
  const reason = motoUnavailableReason(options);
  if (reason) {
    throw new Error(
      `moto (the AWS API emulator) is needed for these tests but ${reason}.` +
        ` Install it in that Python (pip install 'moto[server]') or set STACKYARD_PYTHON to an interpreter that has it.` +
        (process.env.CI === "true" ? " CI=true: AWS tests never skip." : ""),
    );
  }
  const timeoutMs = options?.timeoutMs ?? 30_000;
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(python(options), ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, ...options?.env },
    });
    killOnExit(child);
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return server(child, endpoint, port);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    child.kill("SIGKILL");
    await exited(child);
    lastError = stderr.trim() || `no answer on ${endpoint} within ${timeoutMs} ms`;
  }
  throw new Error(`moto did not start: ${lastError}`);
}

function server(child: ChildProcess, endpoint: string, port: number): MotoServer {
  const post = async (path: string, body?: string): Promise<void> => {
    const res = await fetch(`${endpoint}${path}`, { method: "POST", ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`moto ${path} answered ${res.status}: ${text}`);
  };
  return {
    endpoint,
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited(child);
      clearTimeout(timer);
    },
    reset: () => post("/moto-api/reset"),
    enforceAuth: (freeActions: number) => post("/moto-api/reset-auth", Number.isFinite(freeActions) ? String(freeActions) : "inf"),
  };
}
