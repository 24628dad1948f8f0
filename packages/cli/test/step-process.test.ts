import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject, storeContent } from "./cli-harness.js";

describe("a step process given only the artifact store", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("step-process");
  });
  afterAll(() => removeProject(dir));

  it("reports a bad artifact store config as a config error (exit 2), not a crash", () => {
    const description = JSON.stringify({
      id: "a1",
      name: "shared",
      flavor: "local",
      flavor_source: "@stackyard/core#localArtifactStoreFlavor",
      config: { path: 42 },
    });
    const result = cli(dir, ["step", "run", "--snapshot", "snapshots/x.json", "--step", "s", "--run", "r"], { STACKYARD_ARTIFACT_STORE: description });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Invalid config for artifact store 'shared' (flavor local)");
    expect(result.stderr).toContain("path");
    expect(result.stderr).not.toMatch(/Unexpected error|\n\s+at /);
  });

  it("names the variable when the description is not JSON", () => {
    const result = cli(dir, ["step", "run", "--snapshot", "snapshots/x.json", "--step", "s", "--run", "r"], { STACKYARD_ARTIFACT_STORE: "{oops" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("STACKYARD_ARTIFACT_STORE is not a valid artifact store description");
  });
});

describe("a step process told nothing about its run", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("step-orphan");
  });
  afterAll(() => removeProject(dir));

  it("refuses to run (exit 2) instead of writing into the store of the folder it started in", () => {
    const before = storeContent(dir);
    const result = cli(dir, ["step", "run", "--snapshot", "snapshots/x.json", "--step", "s", "--run", "r"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("neither STACKYARD_STORE nor STACKYARD_ARTIFACT_STORE is set");
    expect(storeContent(dir)).toBe(before);
  });
});
