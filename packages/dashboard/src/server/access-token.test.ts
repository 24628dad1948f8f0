import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { hostAllowed, isLoopback, newToken, tokenSource } from "./access-token.js";

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const url = (query = "") => new URL(`http://127.0.0.1:1/api/runs${query}`);

describe("the access token", () => {
  const token = newToken();

  it("is random and long", () => {
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect(newToken()).not.toBe(token);
  });

  it("is accepted from the URL, a bearer header or the cookie, and nothing else", () => {
    expect(tokenSource(req({}), url(`?token=${token}`), token)).toBe("query");
    expect(tokenSource(req({ authorization: `Bearer ${token}` }), url(), token)).toBe("header");
    expect(tokenSource(req({ cookie: `a=b; stackyard_token=${token}` }), url(), token)).toBe("cookie");
    expect(tokenSource(req({}), url(), token)).toBeUndefined();
    expect(tokenSource(req({ cookie: `stackyard_token=${token}x` }), url(`?token=${token.slice(1)}`), token)).toBeUndefined();
  });
});

describe("the host check", () => {
  it("lets loopback names through to a loopback server and refuses others (DNS rebinding)", () => {
    expect(hostAllowed(req({ host: "127.0.0.1:4000" }), "127.0.0.1")).toBe(true);
    expect(hostAllowed(req({ host: "localhost:4000" }), "127.0.0.1")).toBe(true);
    expect(hostAllowed(req({ host: "evil.example:4000" }), "127.0.0.1")).toBe(false);
    expect(hostAllowed(req({ host: "evil.example" }), "0.0.0.0")).toBe(true);
  });

  it("knows loopback addresses", () => {
    expect(["127.0.0.1", "127.1.2.3", "localhost", "::1"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "192.168.1.2", "::"].some(isLoopback)).toBe(false);
  });
});
