import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DashboardSource } from "../source.js";
import { hostAllowed, isLoopback, newToken, tokenCookie, tokenSource } from "./access-token.js";
import { ApiRoutes } from "./api-routes.js";
import { RawFile } from "./artifact-routes.js";
import { HttpError } from "./http-error.js";
import { RunEvents } from "./run-events.js";
import { StaticFiles } from "./static-files.js";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  source: DashboardSource;
  /** Interface to bind; 127.0.0.1 by default. */
  host?: string;
  /** Port; 0 (the default) picks a free one. */
  port?: number;
  /** Access token; a random one by default. */
  token?: string;
  /** How often the event stream reads the store while a page listens (ms), when the source cannot report writes ({@link DashboardSource.watchStore}). */
  pollMs?: number;
}

/** A running dashboard. */
export interface Dashboard {
  /** The URL to open, token included. */
  url: string;
  host: string;
  port: number;
  token: string;
  /** True when bound to an address other machines may reach. */
  exposed: boolean;
  close(): Promise<void>;
}

/** The header every state-changing call carries (the UI sets it; cross-site forms cannot). */
export const CSRF_HEADER = "x-stackyard-action";

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

/** Most bytes a POST's body may have: its JSON names at most a step. */
const BODY_LIMIT = 16 * 1024;

/** A POST's body as text; a longer one than {@link BODY_LIMIT} is refused. */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= BODY_LIMIT) chunks.push(chunk as Buffer);
  }
  if (size > BODY_LIMIT) throw new HttpError(413, `The request body is over ${BODY_LIMIT / 1024} KiB`);
  return Buffer.concat(chunks).toString("utf8");
}

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * Starts the dashboard's HTTP server: the JSON API under /api/, server-sent
 * events at /api/events and the web UI everywhere else. Every request needs
 * the access token (in the URL, a bearer header, or the cookie the first
 * visit sets). The state-changing calls (stop a run, retry one) are POSTs
 * that also need the {@link CSRF_HEADER} header.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? "127.0.0.1";
  const token = options.token ?? newToken();
  const files = new StaticFiles();
  const api = new ApiRoutes(options.source);
  const events = new RunEvents(options.source, options.pollMs);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    if (!hostAllowed(req, host)) return sendJson(res, 403, { error: "Host not allowed: open the dashboard through 127.0.0.1 or localhost" });
    const proof = tokenSource(req, url, token);
    const isApi = url.pathname === "/api" || url.pathname.startsWith("/api/");
    if (!proof) {
      if (isApi) return sendJson(res, 401, { error: "Missing or wrong access token: open the URL `stackyard up` printed" });
      res.writeHead(401, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" });
      res.end("Stackyard dashboard: open the URL that `stackyard up` printed (it carries the access token).\n");
      return;
    }
    const cookie: Record<string, string> = proof === "query" ? { "set-cookie": tokenCookie(token) } : {};
    if (req.method === "POST" && isApi) {
      // A state change needs the token from a header or the cookie, never the URL (links leak),
      // and a header no cross-site form can send: a page elsewhere cannot trigger it.
      if (proof === "query") return sendJson(res, 403, { error: "Send the token in the Authorization header or the cookie for a POST, not in the URL" });
      if (req.headers[CSRF_HEADER] !== "1") return sendJson(res, 403, { error: `POST needs the header ${CSRF_HEADER}: 1` });
      return sendJson(res, 200, await api.handlePost(url.pathname, url.searchParams, await readBody(req)));
    }
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { error: `Method ${req.method} not allowed` }, { allow: "GET, HEAD" });
    if (url.pathname === "/api/events") return events.subscribe(res);
    if (isApi) {
      const body = await api.handle(url.pathname, url.searchParams);
      if (body instanceof RawFile) {
        // A file a step wrote: sandboxed (no scripts, its own origin), never sniffed, framed only by the dashboard.
        res.writeHead(200, {
          "content-type": body.type,
          "content-length": String(body.body.length),
          "content-security-policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; frame-ancestors 'self'",
          "x-content-type-options": "nosniff",
          "referrer-policy": "no-referrer",
          "cache-control": "no-store",
          ...cookie,
        });
        res.end(body.body);
        return;
      }
      return sendJson(res, 200, body, cookie);
    }
    const file = files.file(url.pathname);
    if (file) {
      res.writeHead(200, { ...SECURITY_HEADERS, "content-type": file.type, "cache-control": "no-cache", ...cookie });
      res.end(file.body);
      return;
    }
    if (url.pathname === "/") {
      // The token leaves the address bar once the cookie carries it.
      res.writeHead(302, { ...SECURITY_HEADERS, location: "/runs", ...cookie });
      res.end();
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-cache", ...cookie });
    res.end(files.shell());
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.end();
      if (error instanceof HttpError) return sendJson(res, error.status, { error: error.message });
      // The message may come from the store; the stack stays in the server's own output.
      process.stderr.write(`dashboard: ${(error as Error)?.stack ?? String(error)}\n`);
      sendJson(res, 500, { error: "Internal error while reading the store" });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${urlHost(host)}:${port}/?token=${token}`,
    host,
    port,
    token,
    exposed: !isLoopback(host),
    close: async () => {
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
