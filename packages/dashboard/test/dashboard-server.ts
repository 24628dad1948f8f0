import { type ChildProcess, spawn } from "node:child_process";
import { cliPath } from "../../cli/test/cli-harness.js";

/** A `stackyard up` child process and the URL it printed. */
export interface RunningDashboard {
  child: ChildProcess;
  url: string;
  origin: string;
  token: string;
  stderr: () => string;
  /** Sends SIGTERM (unless it has exited already) and resolves with how the process ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the built CLI's `stackyard up --no-open` in `dir` and waits for its URL. */
export function startUp(dir: string, args: string[] = []): Promise<RunningDashboard> {
  const child = spawn(process.execPath, [cliPath, "up", "--no-open", ...args], {
    cwd: dir,
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  // Registered now, so an exit before stop() is called is still seen.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stackyard up printed no URL in 30 s:\n${stderr}`)), 30_000);
    child.once("exit", (code) => reject(new Error(`stackyard up exited with ${code}:\n${stderr}`)));
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("http://"));
      if (!line) return;
      clearTimeout(timer);
      const url = new URL(line.trim());
      resolve({ child, url: url.href, origin: url.origin, token: url.searchParams.get("token")!, stderr: () => stderr, stop });
    });
  });
}

/** Starts `stackyard run` of a fixture pipeline (hello's by default) in the background; resolves when it exits. */
export function runInBackground(dir: string, runName: string, params: string[], source = "./pipelines/hello.ts#hello"): Promise<number | null> {
  const child = spawn(process.execPath, [cliPath, "run", source, "--run-name", runName, "--no-cache", ...params.flatMap((p) => ["-p", p])], {
    cwd: dir,
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "" },
    stdio: "ignore",
  });
  return new Promise((resolve) => child.once("exit", resolve));
}
