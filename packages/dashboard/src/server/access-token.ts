import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const COOKIE = "stackyard_token";

/** A fresh random access token, as Jupyter prints in its URL. */
export function newToken(): string {
  return randomBytes(24).toString("hex");
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === COOKIE) return value.join("=");
  }
  return undefined;
}

/**
 * How a request proved it holds the token: in the URL (`?token=`, the printed
 * link), a bearer header (scripts), or the cookie set after the first visit.
 */
export function tokenSource(req: IncomingMessage, url: URL, token: string): "query" | "header" | "cookie" | undefined {
  const query = url.searchParams.get("token");
  if (query !== null && same(query, token)) return "query";
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ") && same(auth.slice(7), token)) return "header";
  const cookie = cookieToken(req);
  if (cookie !== undefined && same(cookie, token)) return "cookie";
  return undefined;
}

/** The cookie that lets the page's own requests in; never readable by scripts. */
export function tokenCookie(token: string): string {
  return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Loopback addresses: anything else is reachable from other machines. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * On a loopback server, a request naming another host came through a DNS name
 * pointed at 127.0.0.1 by some web page (DNS rebinding): refuse it.
 */
export function hostAllowed(req: IncomingMessage, boundHost: string): boolean {
  if (!isLoopback(boundHost)) return true;
  const host = (req.headers.host ?? "").replace(/:\d+$/, "");
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}
