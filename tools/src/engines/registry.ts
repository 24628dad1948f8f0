/**
 * Debian's docker-registry (distribution 2.8) on 127.0.0.1:5001, the stand-in
 * for ECR in push tests. 127.0.0.0/8 counts as an insecure registry by
 * default, so the engine pushes to it over plain http; it ignores auth.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { acquireSharedEngine, EngineUnavailableError, ensurePrograms, findProgram, terminate } from "./docker.js";

/** A registry that answers. */
export interface LocalRegistry {
  /** `127.0.0.1:5001`: what a container registry's `uri` holds. */
  address: string;
  /** `http://127.0.0.1:5001`. */
  url: string;
  /** True when this call started the registry. */
  started: boolean;
  /** Lets go; the last user stops a registry the tooling started, and waits for it to exit. */
  stop(): Promise<void>;
}

/** The registry's address. */
export const registryAddress = "127.0.0.1:5001";

async function registryAnswers(): Promise<boolean> {
  try {
    const response = await fetch(`http://${registryAddress}/v2/`, { signal: AbortSignal.timeout(2_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Returns the registry on 127.0.0.1:5001, reusing one that answers, else
 * starting `docker-registry serve` with filesystem storage under
 * `.test-engines/registry/data` (installed with apt-get when missing).
 */
export async function ensureRegistry(): Promise<LocalRegistry> {
  const lease = await acquireSharedEngine({ name: "registry", answers: registryAnswers, start: startRegistry });
  return { address: registryAddress, url: `http://${registryAddress}`, started: lease.started, stop: lease.release };
}

async function startRegistry(dir: string): Promise<number> {
  await ensurePrograms(["docker-registry"]);
  const config = path.join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log: {level: warn}",
      "storage:",
      `  filesystem: {rootdirectory: ${JSON.stringify(path.join(dir, "data"))}}`,
      "  delete: {enabled: true}",
      `http: {addr: "${registryAddress}"}`,
      "",
    ].join("\n"),
  );
  const logFile = path.join(dir, "registry.log");
  const log = openSync(logFile, "a");
  const child = spawn(findProgram("docker-registry") ?? "docker-registry", ["serve", config], { detached: true, stdio: ["ignore", log, log] });
  closeSync(log);
  let exited: string | undefined;
  child.on("exit", (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.on("error", (error) => (exited = error.message));
  child.unref();
  const deadline = Date.now() + 30_000;
  while (!(await registryAnswers())) {
    if (exited || Date.now() > deadline) {
      if (!exited && child.pid) await terminate(child.pid);
      throw new EngineUnavailableError(
        `docker-registry did not come up on ${registryAddress} (${exited ?? "no answer after 30 s"}). Last lines of ${logFile}:\n${readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-20).join("\n")}`,
        `free port 5001 on 127.0.0.1 (another program may hold it), or install docker-registry (apt-get install -y docker-registry).`,
      );
    }
    await sleep(100);
  }
  return child.pid!;
}
