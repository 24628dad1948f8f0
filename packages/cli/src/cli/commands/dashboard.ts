import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, ConflictError, StoreError } from "@stackyard/core/errors";
import { isAlive } from "../../client/stale-runs.js";
import { openProject, type Project } from "../../store/open-project.js";
import { findSourceRoot, STACKYARD_DIR } from "../../store/project.js";
import { info } from "../output.js";
import { quoteInput } from "../quote-input.js";

interface UpOptions {
  port?: string;
  host?: string;
  open?: boolean;
  detach?: boolean;
}

/** What `.stackyard/dashboard.json` keeps about a running dashboard, for `down`. */
interface DashboardState {
  pid: number;
  url: string;
  started: string;
}

function stateFile(): string {
  const root = findSourceRoot();
  if (!root)
    throw new StoreError(`No Stackyard project in ${process.cwd()} or any folder above it`, { hint: "Run `stackyard init` in your project's root folder." });
  return join(root, STACKYARD_DIR, "dashboard.json");
}

function readState(file: string): DashboardState | undefined {
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as DashboardState;
    return Number.isInteger(state.pid) && isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError(`Invalid --port ${quoteInput(raw)}: expected a whole number from 0 to 65535`, { hint: "0 (the default) picks a free port." });
  }
  return Number(raw);
}

function parseHost(raw: string | undefined): string {
  if (raw === undefined) return "127.0.0.1";
  if (!/^[A-Za-z0-9.:-]+$/.test(raw))
    throw new ConfigError(`Invalid --host ${quoteInput(raw)}: expected an IP address or a host name`, { hint: "For example --host 127.0.0.1" });
  return raw;
}

function refuseSecond(file: string): void {
  const running = readState(file);
  if (running)
    throw new ConflictError(`A dashboard is already running for this project: ${running.url} (pid ${running.pid})`, { hint: "Stop it with `stackyard down`." });
}

/** Opens the URL in the desktop's browser when there is one; says nothing when there is not. */
function openBrowser(url: string): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  const child = spawn(command, [url], { stdio: "ignore", detached: true });
  child.on("error", () => {});
  child.unref();
}

async function loadDashboard(): Promise<typeof import("@stackyard/dashboard")> {
  try {
    return await import("@stackyard/dashboard");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new ConfigError("Cannot import `@stackyard/dashboard`: the dashboard is not installed", { hint: "Install it: npm install @stackyard/dashboard" });
  }
}

/** `stackyard up --detach`: the same command in a process of its own; returns once it listens. */
async function detach(file: string, port: number, host: string): Promise<void> {
  const bin = fileURLToPath(new URL("./bin.js", import.meta.url));
  const log = openSync(join(file, "..", "dashboard.log"), "a");
  const child = spawn(process.execPath, [bin, "up", "--no-open", "--port", String(port), "--host", host], { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const state = readState(file);
    if (state && state.pid === child.pid) {
      process.stdout.write(`${state.url}\n`);
      info(`Stackyard dashboard running in the background (pid ${state.pid}); stop it with \`stackyard down\`.`);
      return;
    }
    if (child.exitCode !== null || !isAlive(child.pid!)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new ConfigError("The dashboard did not start", { hint: `See ${join(file, "..", "dashboard.log")}.` });
}

/** `stackyard up`: serves the dashboard until Ctrl+C (or `stackyard down`). */
export async function up(opts: UpOptions): Promise<void> {
  const port = parsePort(opts.port);
  const host = parseHost(opts.host);
  const file = stateFile();
  refuseSecond(file);
  if (opts.detach) return detach(file, port, host);

  // Signal handlers go in before anything listens: a Ctrl+C or `stackyard down` at any moment from here on
  // closes the server and forgets the state file, and a second signal during shutdown cannot kill the process.
  const stopSignal = new Promise<void>((resolve) => {
    process.on("SIGINT", () => resolve());
    process.on("SIGTERM", () => resolve());
  });
  let stopping = false;
  void stopSignal.then(() => {
    stopping = true;
  });

  const { startDashboard } = await loadDashboard();
  const { ProjectDashboardSource } = await import("../../client/dashboard-source.js");
  const project: Project = openProject();
  const dashboard = await startDashboard({ source: new ProjectDashboardSource(project), host, port }).catch((error: NodeJS.ErrnoException) => {
    project.close();
    if (error.code === "EADDRINUSE")
      throw new ConflictError(`Port ${port} on ${host} is taken`, { hint: "Pick another with --port, or leave it out for a free one." });
    if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") throw new ConfigError(`Cannot listen on ${quoteInput(host)}: no such address here`);
    throw error;
  });
  if (stopping) {
    await dashboard.close();
    project.close();
    return;
  }
  writeFileSync(file, JSON.stringify({ pid: process.pid, url: dashboard.url, started: new Date().toISOString() } satisfies DashboardState), { mode: 0o600 });
  if (dashboard.exposed) {
    info(
      `Warning: the dashboard listens on ${host}, not only on this machine's loopback: anyone who can reach port ${dashboard.port} and has the URL's token can read your runs.`,
    );
  }
  process.stdout.write(`${dashboard.url}\n`);
  info("Stackyard dashboard: open the URL above. Press Ctrl+C to stop.");
  if (opts.open !== false) openBrowser(dashboard.url);

  await stopSignal;
  await dashboard.close();
  if (readState(file)?.pid === process.pid) rmSync(file, { force: true });
  project.close();
}

/** `stackyard down`: stops the dashboard `up` started for this project. */
export async function down(): Promise<void> {
  const file = stateFile();
  const state = readState(file);
  if (!state) {
    rmSync(file, { force: true });
    info("No dashboard is running for this project.");
    return;
  }
  process.kill(state.pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (isAlive(state.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (isAlive(state.pid)) throw new ConfigError(`The dashboard (pid ${state.pid}) did not stop within 10 s`);
  rmSync(file, { force: true });
  info(`Stopped the dashboard at ${state.url.replace(/\?.*$/, "")} (pid ${state.pid}).`);
}
