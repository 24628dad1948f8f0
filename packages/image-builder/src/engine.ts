import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "@stackyard/core";
import Docker from "dockerode";
import { EngineUnreachableError } from "./errors.js";

/** Where Docker listens when neither an address nor DOCKER_HOST says otherwise. */
export const defaultDockerHost = "unix:///var/run/docker.sock";

/** The engine address to use: `host`, else DOCKER_HOST, else {@link defaultDockerHost}. */
export function resolveDockerHost(host?: string): string {
  return host || process.env.DOCKER_HOST || defaultDockerHost;
}

/**
 * A dockerode client for a Docker engine address: `unix:///path/docker.sock`,
 * `tcp://host:port` (TLS when DOCKER_TLS_VERIFY=1, certificates from
 * DOCKER_CERT_PATH), `http(s)://host:port` or `ssh://user@host`. Without an
 * address, DOCKER_HOST is used, then the default socket. Connects lazily:
 * call {@link assertEngineReachable} to find out whether anything answers.
 */
export function connectDocker(host?: string): Docker {
  const address = resolveDockerHost(host);
  if (address.startsWith("unix://")) return new Docker({ socketPath: address.slice("unix://".length) });
  if (address.startsWith("/")) return new Docker({ socketPath: address });
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw unsupported(address);
  }
  if (url.protocol === "ssh:") {
    return new Docker({ protocol: "ssh", host: url.hostname, port: Number(url.port || 22), username: url.username || undefined } as Docker.DockerOptions);
  }
  if (!["tcp:", "http:", "https:"].includes(url.protocol)) throw unsupported(address);
  const tls = url.protocol === "https:" || (url.protocol === "tcp:" && ["1", "true"].includes(process.env.DOCKER_TLS_VERIFY ?? ""));
  const options: Docker.DockerOptions = { host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)), protocol: tls ? "https" : "http" };
  const certs = process.env.DOCKER_CERT_PATH;
  if (tls && certs) {
    options.ca = readFileSync(path.join(certs, "ca.pem"));
    options.cert = readFileSync(path.join(certs, "cert.pem"));
    options.key = readFileSync(path.join(certs, "key.pem"));
  }
  return new Docker(options);
}

function unsupported(address: string): ConfigError {
  return new ConfigError(`Unsupported Docker engine address '${address}'.`, {
    hint: "Use unix:///path/to/docker.sock or tcp://host:port in DOCKER_HOST or the orchestrator's docker_host config.",
  });
}

/** The address a dockerode client talks to, for messages. */
export function describeEngine(docker: Docker): string {
  const modem = docker.modem as { socketPath?: string; host?: string; port?: number | string; protocol?: string };
  if (modem.socketPath) return `unix://${modem.socketPath}`;
  return `${modem.protocol === "https" ? "https" : modem.protocol === "ssh" ? "ssh" : "tcp"}://${modem.host}:${modem.port}`;
}

/**
 * Throws an {@link EngineUnreachableError} naming `address` (and how to set
 * another one) unless the engine answers a ping within `timeoutMs`.
 */
export async function assertEngineReachable(docker: Docker, address: string = describeEngine(docker), timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    throw new EngineUnreachableError(`No Docker engine answers at ${address}: ${(error as Error).message}`, {
      hint: "Start Docker there, or point Stackyard at a running engine: set DOCKER_HOST (unix:///var/run/docker.sock, tcp://127.0.0.1:2375) or the orchestrator's docker_host config.",
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}
