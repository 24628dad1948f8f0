import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject } from "./cli-harness.js";

describe("flavor describe", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("flavor-describe");
  });
  afterAll(() => removeProject(dir));

  it("shows what an orchestrator flavor can do, in the table and in --json", () => {
    const table = cli(dir, ["orchestrator", "flavor", "describe", "local"]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/Capabilities:\n\s*CAPABILITY\s+VALUE\s+MEANING\n/);
    expect(table.stdout).toMatch(/parallel\s+yes\s+independent steps run at the same time/);
    expect(table.stdout).toMatch(/honoursResources\s+no/);
    expect(table.stdout).toMatch(/mapSteps\s+yes\s+map steps \(step.map\(\)\) run, one step run per item/);
    const json = cli(dir, ["orchestrator", "flavor", "describe", "local", "--json"]);
    expect(JSON.parse(json.stdout).capabilities).toEqual({
      remote: false,
      synchronous: true,
      schedulable: false,
      honoursResources: false,
      parallel: true,
      mapSteps: true,
    });
  });

  it("shows capabilities of a flavor registered by source path", () => {
    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/subprocess-orchestrator.ts#SubprocessOrchestratorFlavor"]).code).toBe(0);
    const json = cli(dir, ["orchestrator", "flavor", "describe", "subprocess", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).capabilities).toMatchObject({ remote: false, parallel: true });
  });
});

describe("flavor mistakes an author makes", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("flavor-mistakes");
  });
  afterAll(() => removeProject(dir));

  it("names a flavor whose implementation is not an orchestrator, and what it found (exit 2)", () => {
    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/wrong-class.ts#wrongClassFlavor"]).code).toBe(0);
    expect(cli(dir, ["orchestrator", "register", "wrong", "-f", "wrong_class"]).code).toBe(0);
    expect(cli(dir, ["stack", "register", "wrong_stack", "-o", "wrong", "-a", "default"]).code).toBe(0);
    const run = cli(dir, ["run", "./pipelines/hello.ts#hello", "--stack", "wrong_stack"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("The implementation of orchestrator 'wrong' (flavor wrong_class) is not an orchestrator");
    expect(run.stderr).toContain("NotAnOrchestrator");
    expect(run.stderr).toContain("has no submit(), capabilities");
    expect(run.stderr).toContain("BaseOrchestrator");
    expect(run.stderr).not.toMatch(/Unexpected error|TypeError|\n\s+at /);
  });

  it("suggests ./ for a file source path written without it", () => {
    const result = cli(dir, ["orchestrator", "flavor", "register", "flavors/subprocess-orchestrator.ts#SubprocessOrchestratorFlavor"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("write ./flavors/subprocess-orchestrator.ts");
    expect(result.stderr).not.toContain("npm install");
  });
});
