import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliPath, newProject, removeProject } from "./cli-harness.js";

/**
 * Runs the CLI on a pseudo-terminal (Python's pty module), types `answer`
 * once the hidden prompt shows, and returns everything the terminal showed.
 */
function onTerminal(cwd: string, args: string[], answer: string): { code: number; screen: string } {
  const script = `
import json, os, pty, sys
argv = json.loads(sys.argv[1])
answer = sys.argv[2].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
screen = b""
sent = False
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    screen += chunk
    if not sent and b"(input hidden): " in screen:
        os.write(fd, answer + b"\\r")
        sent = True
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "screen": screen.decode("utf8", "replace")}))
`;
  const result = spawnSync("python3", ["-c", script, JSON.stringify([process.execPath, cliPath, ...args]), answer], {
    cwd,
    env: { ...process.env, STACKYARD_STORE: "", FORCE_COLOR: "0" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`python3 pty failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { code: number; screen: string };
}

describe("secrets asked for on a terminal", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("secret-prompt");
    const out = cli(dir, ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoOrchestratorFlavor"]);
    if (out.code !== 0) throw new Error(out.stderr);
  });
  afterAll(() => removeProject(dir));

  const secrets = () => JSON.parse(readFileSync(join(dir, ".stackyard", "secrets.json"), "utf8")) as Record<string, { token?: string }>;
  const idOf = (name: string) => {
    const out = cli(dir, ["orchestrator", "describe", name, "--json"]);
    return (JSON.parse(out.stdout) as { id: string }).id;
  };

  it.each([
    ["a bare secret flag", "--token", "typed_bare_s3cret"],
    ["a secret flag reading standard input", "--token=-", "typed_dash_s3cret"],
  ])("%s asks for the value without echoing it", (_what, flag, answer) => {
    const name = `o_${answer.split("_")[1]}`;
    const { code, screen } = onTerminal(dir, ["orchestrator", "register", name, "-f", "demo", flag], answer);
    expect(code, screen).toBe(0);
    expect(screen).toContain("Value of --token (input hidden): ");
    expect(screen).not.toContain(answer);
    expect(secrets()[idOf(name)]?.token).toBe(answer);
  });

  it("a bare secret flag without a terminal is refused, naming the ways to give it", () => {
    const out = cli(dir, ["orchestrator", "register", "o_pipe", "-f", "demo", "--token"]);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/--token is given without a value, and there is no terminal to ask for it on/);
    expect(out.stderr).toMatch(/--token=@FILE/);
  });
});
