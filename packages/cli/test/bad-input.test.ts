import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject, storeContent } from "./cli-harness.js";

/** Bad input: one clear message naming what and where, exit code 2, the store unchanged. */
describe("bad input never changes the store", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("bad-input");
    for (const args of [
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoOrchestratorFlavor"],
      ["orchestrator", "register", "demo_orch", "-f", "demo", "--token=abc"],
      ["stack", "register", "demo_stack", "-o", "demo_orch", "-a", "default"],
    ]) {
      const out = cli(dir, args);
      if (out.code !== 0) throw new Error(out.stderr);
    }
  });
  afterAll(() => removeProject(dir));

  const cases: Array<[string, string[], RegExp[]]> = [
    [
      "a source path without #EXPORT",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts"],
      [/Invalid source path '.\/flavors\/demo-flavor.ts': expected MODULE#EXPORT/],
    ],
    [
      "a file that does not exist",
      ["orchestrator", "flavor", "register", "./flavors/nope.ts#X"],
      [/Cannot load '.\/flavors\/nope.ts': no file at .*flavors\/nope.ts/],
    ],
    [
      "a package that is not installed",
      ["orchestrator", "flavor", "register", "@nobody/not-installed#flavor"],
      [/Cannot load '@nobody\/not-installed': the package is not installed/, /npm install @nobody\/not-installed/],
    ],
    [
      "an export that does not exist, listing what the module exports",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#Missing"],
      [
        /Module '.\/flavors\/demo-flavor.ts' has no export named 'Missing'/,
        /It exports: DemoOrchestratorFlavor, DemoStoreFlavor, RemoteDemoFlavor, notAFlavor/,
      ],
    ],
    [
      "an export that is not a flavor",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#notAFlavor"],
      [/'.\/flavors\/demo-flavor.ts#notAFlavor' is not a Stackyard flavor: 'name' must be/],
    ],
    [
      "a flavor of the wrong type",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoStoreFlavor"],
      [
        /is a artifact store flavor, not a orchestrator flavor|is an? artifact store flavor, not an? orchestrator flavor/,
        /stackyard artifact-store flavor register/,
      ],
    ],
    ["an unknown flavor", ["orchestrator", "register", "x", "-f", "kubeflow"], [/No orchestrator flavor named 'kubeflow'/, /Available: .*demo.*local/]],
    [
      "an unknown config key",
      ["orchestrator", "register", "x", "-f", "demo", "--concurrancy=3"],
      [/Invalid config for orchestrator 'x' \(flavor demo\): unknown key 'concurrancy'/, /Config keys of flavor demo: concurrency, verbose, subnet_ids, token/],
    ],
    [
      "a mistyped config value",
      ["orchestrator", "register", "x", "-f", "demo", "--concurrency=lots"],
      [/Invalid config for orchestrator 'x' \(flavor demo\): 'concurrency': .*expected number/i],
    ],
    ["a duplicate component name", ["orchestrator", "register", "demo_orch", "-f", "demo"], [/An? orchestrator named 'demo_orch' already exists/]],
    ["a duplicate stack name", ["stack", "register", "demo_stack", "-o", "default", "-a", "default"], [/A stack named 'demo_stack' already exists/]],
    [
      "a stack with a component that does not exist",
      ["stack", "register", "s2", "-o", "ghost", "-a", "default"],
      [/No orchestrator named 'ghost'/, /Registered orchestrators: default, demo_orch/],
    ],
    ["deleting a component a stack uses", ["orchestrator", "delete", "demo_orch"], [/Orchestrator 'demo_orch' is used by stack 'demo_stack'/]],
    ["deleting the active stack", ["stack", "delete", "default"], [/Stack 'default' is the active stack/]],
    ["setting a stack that does not exist", ["stack", "set", "nope"], [/No stack named 'nope'/]],
    ["an unknown command", ["stak", "list"], [/unknown command 'stak'/]],
    ["a bad flag", ["stack", "list", "--jsn"], [/unknown option '--jsn'/]],
    ["a missing required flag", ["orchestrator", "register", "x"], [/required option '-f, --flavor <flavor>' not specified/]],
    [
      "an output name that would leave its step's folder",
      ["run", "./pipelines/bad-output.ts#badOutput"],
      [/Step 'escape' has an invalid output name "\.\.\/\.\.\/other-run\/train\/model": use letters, digits, '_' or '-'/],
    ],
    ...["0", "-2", "two", "1.5"].map((attempt): [string, string[], RegExp[]] => [
      `step run with --attempt ${attempt}`,
      ["step", "run", "--snapshot", "s3://bucket/snapshots/snap.json", "--step", "train", "--run", "r1", `--attempt=${attempt}`],
      [new RegExp(`Invalid --attempt '${attempt.replace(".", "\\.")}': expected a whole number from 1 \\(the attempt to run\\) or 'next'`)],
    ]),
  ];

  for (const [what, args, messages] of cases) {
    it(`rejects ${what}`, () => {
      const before = storeContent(dir);
      const out = cli(dir, args);
      expect(out.code, out.stderr).toBe(2);
      for (const message of messages) expect(out.stderr).toMatch(message);
      expect(out.stderr).not.toMatch(/at .*\.(js|ts):\d+/); // no stack traces
      expect(storeContent(dir)).toBe(before);
    });
  }

  it("reports a corrupt store file by name and leaves it untouched", () => {
    const other = newProject("corrupt");
    try {
      const file = join(other, ".stackyard", "stackyard.db");
      const garbage = Buffer.from("this is not a database, it is a grocery list\n".repeat(200));
      writeFileSync(file, garbage);
      const out = cli(other, ["stack", "list"]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(`The Stackyard store at ${file} cannot be read`);
      expect(readFileSync(file).equals(garbage)).toBe(true);
    } finally {
      removeProject(other);
    }
  });

  it("says how to start when there is no project", () => {
    const out = cli("/", ["stack", "list"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("No Stackyard project in / or any folder above it");
    expect(out.stderr).toContain("stackyard init");
  });
});
