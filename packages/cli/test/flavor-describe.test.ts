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
    const json = cli(dir, ["orchestrator", "flavor", "describe", "local", "--json"]);
    expect(JSON.parse(json.stdout).capabilities).toEqual({ remote: false, synchronous: true, schedulable: false, honoursResources: false, parallel: true });
  });

  it("shows capabilities of a flavor registered by source path", () => {
    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/subprocess-orchestrator.ts#SubprocessOrchestratorFlavor"]).code).toBe(0);
    const json = cli(dir, ["orchestrator", "flavor", "describe", "subprocess", "--json"]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).capabilities).toMatchObject({ remote: false, parallel: true });
  });
});
