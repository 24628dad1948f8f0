import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject, storeContent } from "./cli-harness.js";

describe("stacks and components from the command line", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("components");
  });
  afterAll(() => removeProject(dir));

  it("init makes a default stack with the local orchestrator and artifact store, active", () => {
    const stacks = JSON.parse(cli(dir, ["stack", "list", "--json"]).stdout);
    expect(stacks).toEqual([expect.objectContaining({ name: "default", active: true, orchestrator: "default", artifact_store: "default" })]);
    const store = JSON.parse(cli(dir, ["artifact-store", "describe", "default", "--json"]).stdout);
    expect(store.flavor).toBe("local");
    expect(store.config.path).toBe(join(dir, ".stackyard", "artifacts"));
    // A second init keeps what is there.
    expect(cli(dir, ["init"]).code).toBe(0);
    expect(JSON.parse(cli(dir, ["stack", "list", "--json"]).stdout)).toHaveLength(1);
  });

  it("registers a flavor by source path and a component with values coerced by its schema", () => {
    const flavor = cli(dir, ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoOrchestratorFlavor"]);
    expect(flavor.stderr).toContain("Registered orchestrator flavor 'demo'");
    expect(flavor.code).toBe(0);
    const register = cli(dir, [
      "orchestrator",
      "register",
      "demo_orch",
      "-f",
      "demo",
      "--concurrency=4",
      "--verbose=true",
      `--subnet_ids=["subnet-a","subnet-b"]`,
      "--token=s3cr3t-t0ken-value",
    ]);
    expect(register.code, register.stderr).toBe(0);
    const described = JSON.parse(cli(dir, ["orchestrator", "describe", "demo_orch", "--json"]).stdout);
    expect(described.config).toEqual({ concurrency: 4, verbose: true, subnet_ids: ["subnet-a", "subnet-b"], token: "********" });
    expect(described.flavor_source).toBe("./flavors/demo-flavor.ts#DemoOrchestratorFlavor");
  });

  it("keeps secrets in a 0600 file, out of the store and out of every output", () => {
    const outputs = [
      cli(dir, ["orchestrator", "describe", "demo_orch"]),
      cli(dir, ["orchestrator", "describe", "demo_orch", "--json"]),
      cli(dir, ["orchestrator", "list", "--json"]),
      cli(dir, ["status"]),
    ];
    for (const out of outputs) expect(out.stdout + out.stderr).not.toContain("s3cr3t-t0ken-value");
    expect(readFileSync(join(dir, ".stackyard", "stackyard.db")).includes("s3cr3t-t0ken-value")).toBe(false);
    const secrets = join(dir, ".stackyard", "secrets.json");
    expect(readFileSync(secrets, "utf8")).toContain("s3cr3t-t0ken-value");
    expect(statSync(secrets).mode & 0o777).toBe(0o600);
  });

  it("reads secret values from a file, standard input or a variable, and only secret ones", () => {
    writeFileSync(join(dir, "token.txt"), "t0ken-from-a-file\n");
    const registered = [
      cli(dir, ["orchestrator", "register", "from_file", "-f", "demo", "--token=@token.txt", "--subnet_ids=@token.txt"]),
      cli(dir, ["orchestrator", "register", "from_stdin", "-f", "demo", "--token", "-"], {}, "t0ken-from-stdin\r\n"),
      cli(dir, ["orchestrator", "register", "from_env", "-f", "demo", "--token=env:DEMO_TOKEN"], { DEMO_TOKEN: "t0ken-from-env" }),
    ];
    for (const out of registered) expect(out.code, out.stderr).toBe(0);
    const idOf = (name: string) => JSON.parse(cli(dir, ["orchestrator", "describe", name, "--json"]).stdout).id as string;
    const secrets = () => JSON.parse(readFileSync(join(dir, ".stackyard", "secrets.json"), "utf8")) as Record<string, { token?: string }>;
    expect(secrets()[idOf("from_file")]!.token).toBe("t0ken-from-a-file");
    expect(secrets()[idOf("from_stdin")]!.token).toBe("t0ken-from-stdin");
    expect(secrets()[idOf("from_env")]!.token).toBe("t0ken-from-env");
    // subnet_ids is no secret: its value is taken as typed.
    expect(JSON.parse(cli(dir, ["orchestrator", "describe", "from_file", "--json"]).stdout).config.subnet_ids).toEqual(["@token.txt"]);
    expect(cli(dir, ["orchestrator", "update", "from_file", "--token=env:DEMO_TOKEN"], { DEMO_TOKEN: "t0ken-updated" }).code).toBe(0);
    expect(secrets()[idOf("from_file")]!.token).toBe("t0ken-updated");
    for (const name of ["from_file", "from_stdin", "from_env"]) expect(cli(dir, ["orchestrator", "delete", name]).code).toBe(0);
  });

  it("updates config values, unsets them and renames", () => {
    expect(cli(dir, ["orchestrator", "update", "demo_orch", "--concurrency", "8", "--unset", "verbose"]).code).toBe(0);
    const described = JSON.parse(cli(dir, ["orchestrator", "describe", "demo_orch", "--json"]).stdout);
    expect(described.config).toMatchObject({ concurrency: 8, verbose: false, token: "********" });
  });

  it("registers, sets, describes, updates and deletes stacks", () => {
    expect(cli(dir, ["stack", "register", "demo_stack", "-o", "demo_orch", "-a", "default", "--set"]).code).toBe(0);
    const status = JSON.parse(cli(dir, ["status", "--json"]).stdout);
    expect(status.active_stack).toBe("demo_stack");
    expect(status.components.orchestrator).toBe("demo_orch (demo)");
    const table = cli(dir, ["stack", "list"]).stdout;
    expect(table).toMatch(/\*\s+demo_stack\s+demo_orch\s+default/);
    expect(cli(dir, ["stack", "update", "demo_stack", "-o", "default"]).code).toBe(0);
    expect(JSON.parse(cli(dir, ["stack", "describe", "--json"]).stdout).components.orchestrator.name).toBe("default");
    expect(cli(dir, ["stack", "set", "default"]).code).toBe(0);
    expect(cli(dir, ["stack", "delete", "demo_stack"]).code).toBe(0);
    expect(JSON.parse(cli(dir, ["stack", "list", "--json"]).stdout).map((s: { name: string }) => s.name)).toEqual(["default"]);
  });

  it("validates stacks with the flavors' rules, naming what is missing", () => {
    expect(cli(dir, ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#RemoteDemoFlavor"]).code).toBe(0);
    expect(cli(dir, ["orchestrator", "register", "remote", "-f", "remote_demo"]).code).toBe(0);
    const before = storeContent(dir);
    const result = cli(dir, ["stack", "register", "remote_stack", "-o", "remote", "-a", "default"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Stack 'remote_stack' is not valid");
    expect(result.stderr).toContain("orchestrator 'remote': needs a container registry");
    expect(storeContent(dir)).toBe(before);
  });

  it("lists every flavor with where it comes from, and describes one with its config schema", () => {
    const flavors = JSON.parse(cli(dir, ["flavor", "list", "--json"]).stdout) as Array<{ type: string; name: string; origin: string }>;
    expect(flavors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "orchestrator", name: "local", origin: "built-in" }),
        expect.objectContaining({ type: "artifact_store", name: "local", origin: "built-in" }),
        expect.objectContaining({ type: "orchestrator", name: "demo", origin: "registered" }),
      ]),
    );
    const described = cli(dir, ["orchestrator", "flavor", "describe", "demo"]);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/concurrency\s+integer\s+2\s+steps at once/);
    expect(described.stdout).toMatch(/token\s+string\s+yes/);
    expect(described.stdout).toContain("some_setting");
  });

  it("prints help for every group and exits 0", () => {
    for (const args of [["--help"], ["stack", "--help"], ["orchestrator", "register", "--help"], ["service-connector", "--help"]]) {
      const out = cli(dir, args);
      expect(out.code).toBe(0);
      expect(out.stdout).toContain("Usage: stackyard");
    }
  });
});
