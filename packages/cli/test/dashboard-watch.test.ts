/**
 * The dashboard's event stream reads the store when it is written: the
 * project's source reports writes made by another process, and not the
 * dashboard's own reads.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProjectDashboardSource } from "../src/client/dashboard-source.js";
import { openProjectAt, type Project } from "../src/store/open-project.js";
import { cli, newProject, removeProject } from "./cli-harness.js";

describe("ProjectDashboardSource.watchStore", () => {
  let dir: string;
  let project: Project;

  beforeAll(() => {
    dir = newProject("dashboard-watch");
    project = openProjectAt(dir, false);
  });

  afterAll(() => {
    project?.close();
    if (dir) removeProject(dir);
  });

  it("reports a run another process writes, and stays quiet while the store is only read", async () => {
    const source = new ProjectDashboardSource(project);
    let writes = 0;
    const unwatch = source.watchStore(() => writes++);
    try {
      for (let i = 0; i < 3; i++) await source.listRuns({ limit: 50, offset: 0 });
      await sleep(100);
      expect(writes).toBe(0);

      const run = cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "watched", "-q"]);
      expect(run.code, run.stderr).toBe(0);
      await sleep(100);
      expect(writes).toBeGreaterThan(0);
      expect((await source.listRuns({ limit: 50, offset: 0 })).map((r) => r.name)).toContain("watched");
    } finally {
      unwatch();
    }
    const before = writes;
    const again = cli(dir, ["runs", "tag", "watched", "seen"]);
    expect(again.code, again.stderr).toBe(0);
    await sleep(100);
    expect(writes).toBe(before);
  });
});
