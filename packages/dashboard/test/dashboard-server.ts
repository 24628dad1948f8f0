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
export function startUp(dir: string, args: string[] = [], env: Record<string, string> = {}): Promise<RunningDashboard> {
  const child = spawn(process.execPath, [cliPath, "up", "--no-open", ...args], {
    cwd: dir,
    env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "", FORCE_COLOR: "0", ...env },
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

/** What the dashboard shows of one run, read through every route a run's pages use. */
export interface RunThroughDashboard {
  status: string;
  stack: string;
  /** Per step (map items left out): its status, its log, and per output the preview's kind and text. */
  steps: Record<string, { status: string; logs: string; outputs: Record<string, { kind: string; text: string }> }>;
  /** The output versions as the artifact pages show them: `name:version` with the producing run's name. */
  versions: Record<string, string>;
  /** Status of the HTML pages (run, runs list, artifacts, stacks). */
  pages: number[];
}

/**
 * Starts `stackyard up` in `dir`, reads run `runName` through the API as its
 * pages do (the run, each step's logs and output previews, each output's
 * artifact version page, the stacks and components) and the HTML pages, and
 * stops the server. Any route answering other than 200 fails the call.
 */
export async function readRunThroughDashboard(dir: string, runName: string, env: Record<string, string> = {}): Promise<RunThroughDashboard> {
  const server = await startUp(dir, [], env);
  try {
    const get = async (path: string) => {
      const res = await fetch(`${server.origin}${path}`, { headers: { authorization: `Bearer ${server.token}` } });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text}`);
      return JSON.parse(text);
    };
    const enc = encodeURIComponent;
    const detail = await get(`/api/runs/${enc(runName)}`);
    const runId: string = detail.run.id;
    const steps: RunThroughDashboard["steps"] = {};
    const versions: Record<string, string> = {};
    for (const step of detail.steps as Array<{
      stepId: string;
      status: string;
      artifacts: Array<{ output: string; name: string | null; version: number | null }>;
    }>) {
      const base = `/api/runs/${enc(runId)}/steps/${enc(step.stepId)}`;
      const logs = (await get(`${base}/logs`)).logs as string;
      const outputs: Record<string, { kind: string; text: string }> = {};
      for (const artifact of step.artifacts) {
        const { preview } = await get(`${base}/outputs/${enc(artifact.output)}`);
        outputs[artifact.output] = { kind: preview.kind, text: preview.text ?? "" };
        if (artifact.name !== null && artifact.version !== null) {
          const version = await get(`/api/artifacts/${enc(artifact.name)}/${artifact.version}`);
          versions[`${step.stepId}.${artifact.output}`] = `${artifact.name}:${artifact.version} from ${version.producer?.run?.name ?? "?"}`;
        }
      }
      steps[step.stepId] = { status: step.status, logs, outputs };
    }
    await get("/api/stacks");
    await get("/api/components");
    await get(`/api/compare?a=${enc(runId)}&b=${enc(runId)}`);
    const pages: number[] = [];
    for (const page of [`/runs/${enc(runId)}`, "/runs", "/artifacts", "/stacks"]) {
      pages.push((await fetch(`${server.origin}${page}`, { headers: { authorization: `Bearer ${server.token}` } })).status);
    }
    return { status: detail.run.status, stack: detail.run.stack, steps, versions, pages };
  } finally {
    await server.stop();
  }
}
