import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../src/store/migrations.js";
import { cli, newProject, removeProject, storeContent } from "./cli-harness.js";

const require = createRequire(import.meta.url);

const ok = (dir: string, args: string[]) => {
  const out = cli(dir, args);
  if (out.code !== 0) throw new Error(`stackyard ${args.join(" ")} failed: ${out.stderr}`);
  return out;
};
const connectorOf = (dir: string, store: string) => JSON.parse(ok(dir, ["artifact-store", "describe", store, "--json"]).stdout).connector;

/** Components keep their service connector through renames, and an in-use connector stays. */
describe("service connectors and the components that use them", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("connectors");
    ok(dir, ["artifact-store", "flavor", "register", "./flavors/connected-store.ts#ConnectedStoreFlavor"]);
  });
  afterAll(() => removeProject(dir));

  it("names the --type flag when a component names a connector that is not registered", () => {
    const out = cli(dir, ["artifact-store", "register", "cstore", "-f", "connected_local", "--path=./.stackyard/cstore", "--connector", "conn1"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("No service connector named 'conn1'");
    expect(out.stderr).toContain("stackyard service-connector register conn1 --type TYPE");
    expect(out.stderr).not.toContain("-f FLAVOR");
  });

  it("follows a connector's rename, refuses to delete it while used, and runs with it", () => {
    ok(dir, ["service-connector", "register", "conn1", "--type", "aws", "--auth_method=implicit", "--region=eu-west-1"]);
    ok(dir, ["artifact-store", "register", "cstore", "-f", "connected_local", "--path=./.stackyard/cstore", "--connector", "conn1"]);
    ok(dir, ["stack", "register", "cstack", "-o", "default", "-a", "cstore", "--set"]);

    ok(dir, ["service-connector", "update", "conn1", "--rename", "conn2"]);
    expect(connectorOf(dir, "cstore")).toBe("conn2");
    expect(JSON.parse(ok(dir, ["artifact-store", "list", "--json"]).stdout)).toContainEqual(expect.objectContaining({ name: "cstore", connector: "conn2" }));

    const before = storeContent(dir);
    const refused = cli(dir, ["service-connector", "delete", "conn2"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("Service connector 'conn2' is used by artifact store 'cstore'");
    expect(refused.stderr).toContain("stackyard artifact-store update cstore --connector OTHER");
    expect(storeContent(dir)).toBe(before);

    const run = cli(dir, ["run", "./pipelines/hello.ts#hello", "--run-name", "after-rename"]);
    expect(run.stderr).not.toContain("No service connector");
    expect(run.code, run.stderr).toBe(0);
  });
});

/** A store written when components named their connector: migrated to ids, a stale name reported with its fix. */
describe("a store from before connector references were ids", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("connectors-v1");
    const file = join(dir, ".stackyard", "stackyard.db");
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    const Database = require("better-sqlite3") as typeof import("better-sqlite3");
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!);
    db.pragma("user_version = 1");
    const t = "2026-01-01T00:00:00.000Z";
    const add = db.prepare("INSERT INTO components (id, type, name, flavor, config, connector, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    add.run("c-1", "service_connector", "conn1", "aws", JSON.stringify({ auth_method: "implicit", region: "eu-west-1" }), null, t, t);
    add.run("a-1", "artifact_store", "kept", "connected_local", JSON.stringify({ path: "./.stackyard/kept" }), "conn1", t, t);
    add.run("a-2", "artifact_store", "stale", "connected_local", JSON.stringify({ path: "./.stackyard/stale" }), "gone", t, t);
    add.run("o-1", "orchestrator", "default", "local", "{}", null, t, t);
    db.prepare("INSERT INTO flavors (type, name, source, description, remote, created) VALUES (?, ?, ?, ?, ?, ?)").run(
      "artifact_store",
      "connected_local",
      "./flavors/connected-store.ts#ConnectedStoreFlavor",
      null,
      0,
      t,
    );
    db.prepare("INSERT INTO stacks (id, name, created, updated) VALUES (?, ?, ?, ?)").run("s-1", "stale_stack", t, t);
    db.prepare("INSERT INTO stack_components (stack_id, type, component_id) VALUES (?, ?, ?), (?, ?, ?)").run(
      "s-1",
      "orchestrator",
      "o-1",
      "s-1",
      "artifact_store",
      "a-2",
    );
    db.close();
  });
  afterAll(() => removeProject(dir));

  it("keeps a resolvable connector through a rename after migrating", () => {
    expect(connectorOf(dir, "kept")).toBe("conn1");
    ok(dir, ["service-connector", "update", "conn1", "--rename", "conn3"]);
    expect(connectorOf(dir, "kept")).toBe("conn3");
    expect(cli(dir, ["service-connector", "delete", "conn3"]).stderr).toContain("is used by artifact store 'kept'");
  });

  it("reports a connector name that matched nothing, with the command that fixes it", () => {
    expect(JSON.parse(ok(dir, ["artifact-store", "describe", "stale", "--json"]).stdout).warning).toContain("service connector 'gone' no longer exists");
    const run = cli(dir, ["run", "./pipelines/hello.ts#hello", "--stack", "stale_stack"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("The artifact store 'stale' uses service connector 'gone', which no longer exists");
    expect(run.stderr).toContain("stackyard artifact-store update stale --connector NAME");
    ok(dir, ["artifact-store", "update", "stale", "--connector", "conn3"]);
    expect(connectorOf(dir, "stale")).toBe("conn3");
  });
});
