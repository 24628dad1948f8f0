import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, onTerminal, removeProject } from "./cli-harness.js";

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
