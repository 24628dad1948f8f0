import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject, storeContent } from "./cli-harness.js";

interface RunJson {
  name: string;
  status: string;
  snapshotId: string;
  deployment?: string;
  deploymentVersion?: number;
  artifacts: Array<{ step: string; uri: string }>;
}

const describeRun = (dir: string, run: string): RunJson => JSON.parse(cli(dir, ["runs", "describe", run, "--json"]).stdout) as RunJson;
const totalOf = (dir: string, run: string) =>
  JSON.parse(readFileSync(join(describeRun(dir, run).artifacts.find((a) => a.step === "total")!.uri, "data.json"), "utf8")) as { sum: number };

describe("deployments on a local stack", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("deployments");
  });
  afterAll(() => removeProject(dir));

  it("deploys a pipeline once as a versioned deployment and triggers runs of it with parameters, without recompiling", () => {
    const first = cli(dir, ["pipeline", "deploy", "./pipelines/fanout.ts#fanout", "-p", "count=3"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/Deployed pipeline 'fanout' as deployment 'fanout' version 1 on stack 'default'/);
    const second = cli(dir, ["pipeline", "deploy", "./pipelines/fanout.ts#fanout", "-p", "count=4"]);
    expect(second.stderr).toMatch(/deployment 'fanout' version 2/);
    const listed = JSON.parse(cli(dir, ["deployment", "list", "--json"]).stdout) as Array<{ name: string; version: number; versions: number }>;
    expect(listed).toEqual([expect.objectContaining({ name: "fanout", version: 2, versions: 2 })]);

    // The newest version, with its own parameters: 1+4+9+16.
    expect(cli(dir, ["deployment", "trigger", "fanout", "--run-name", "as-deployed"]).code).toBe(0);
    expect(totalOf(dir, "as-deployed").sum).toBe(30);
    // A parameter given at trigger time changes the output.
    const triggered = cli(dir, ["deployment", "trigger", "fanout", "-p", "count=5", "--run-name", "with-param"]);
    expect(triggered.code, triggered.stderr).toBe(0);
    expect(totalOf(dir, "with-param").sum).toBe(55);
    const run = describeRun(dir, "with-param");
    expect(run).toMatchObject({ deployment: "fanout", deploymentVersion: 2, status: "completed" });
    expect(cli(dir, ["runs", "describe", "with-param"]).stdout).toMatch(/^deployment: +fanout \(version 2\)$/m);
    // An older version still runs as it was deployed.
    expect(cli(dir, ["deployment", "trigger", "fanout:1", "--run-name", "old"]).code).toBe(0);
    expect(totalOf(dir, "old").sum).toBe(14);
    const described = JSON.parse(cli(dir, ["deployment", "describe", "fanout", "--json"]).stdout) as {
      parameters: { count: number };
      runs: Array<{ name: string }>;
    };
    expect(described.parameters.count).toBe(4);
    expect(described.runs.map((r) => r.name).sort()).toEqual(["as-deployed", "old", "with-param"]);
  });

  it("refuses bad parameters, names and flags with exit code 2 before anything is written", () => {
    const before = storeContent(dir);
    const cases: Array<[string[], RegExp]> = [
      [["deployment", "trigger", "fanout", "-p", "cont=4"], /Unknown parameter 'cont' for pipeline 'fanout'.*known parameters are count, failOn/],
      [["deployment", "trigger", "fanout", "-p", "count=many"], /parameters of pipeline 'fanout'.*'count': Invalid input: expected number/],
      [["deployment", "trigger", "fanout", "-p", "count"], /Invalid --param 'count': use --param name=value/],
      [["deployment", "trigger", "nope"], /No deployment 'nope'\n.*Deployments: fanout/],
      [["deployment", "trigger", "fanout:9"], /Deployment 'fanout' has no version 9/],
      [["deployment", "trigger", "fanout:0"], /Invalid deployment version '0' in 'fanout:0'/],
      [["pipeline", "deploy", "./pipelines/fanout.ts#fanout", "--name", "no spaces"], /Invalid deployment name "no spaces"/],
      [["pipeline", "deploy", "./pipelines/nope.ts#fanout"], /nope\.ts/],
      [["deployment", "delete", "fanout"], /Deleting deployment 'fanout' \(2 versions\) needs confirmation/],
    ];
    for (const [args, message] of cases) {
      const out = cli(dir, args);
      expect(out.code, `${args.join(" ")}: ${out.stderr}`).toBe(2);
      expect(out.stderr, args.join(" ")).toMatch(message);
      expect(out.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
    }
    expect(storeContent(dir)).toBe(before);
  });

  it("deploys and triggers from TypeScript, and deletes a deployment keeping its runs", () => {
    const script = join(dir, "deploy.ts");
    writeFileSync(
      script,
      `import { fanout } from "./pipelines/fanout.ts";
const nightly = await fanout.deploy({ name: "nightly", parameters: { count: 2 } });
const run = await nightly.trigger({ parameters: { count: 6 }, runName: "from-ts", quiet: true });
console.log(JSON.stringify({ version: nightly.version, status: run.status }));
`,
    );
    const tsx = join(dir, "..", "..", "node_modules", "tsx", "dist", "cli.mjs");
    const out = spawnSync(process.execPath, [tsx, script], { cwd: dir, encoding: "utf8", env: { ...process.env, STACKYARD_STORE: "", STACKYARD_STACK: "" } });
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout.trim().split("\n").at(-1)!)).toEqual({ version: 1, status: "completed" });
    expect(totalOf(dir, "from-ts").sum).toBe(91);
    expect(describeRun(dir, "from-ts")).toMatchObject({ deployment: "nightly", deploymentVersion: 1 });

    const deleted = cli(dir, ["deployment", "delete", "nightly", "--yes"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain("Deleted deployment 'nightly' (1 version); its runs are kept.");
    expect((JSON.parse(cli(dir, ["deployment", "list", "--json"]).stdout) as Array<{ name: string }>).map((d) => d.name)).toEqual(["fanout"]);
    expect(describeRun(dir, "from-ts").status).toBe("completed");
  });

  it("checks a schedule's cron, time zone and parameters before anything, and refuses one on a stack that cannot keep schedules", () => {
    const before = storeContent(dir);
    const cases: Array<[string[], RegExp]> = [
      [["--cron", "0 25 * * *"], /the hour field "25".*25 is outside 0-23/],
      [["--cron", "0 3 * * *", "--timezone", "Europe/Atlantis"], /Unknown time zone "Europe\/Atlantis"/],
      [["--every", "often"], /Invalid interval "often"/],
      [["--cron", "0 3 * * *", "-p", "cont=1"], /Unknown parameter 'cont' for pipeline 'fanout'/],
      [["--cron", "0 3 * * *", "--timezone", "Europe/Berlin"], /Orchestrator 'default' \(flavor local\) of stack 'default' cannot keep schedules/],
      // The flavors that can are named.
      [["--cron", "0 3 * * *"], /keep schedules: aws_step_functions \(@stackyard\/orchestrator-aws-stepfunctions\)/],
    ];
    for (const [args, message] of cases) {
      const out = cli(dir, ["schedule", "create", "nightly", "--deployment", "fanout", ...args]);
      expect(out.code, `${args.join(" ")}: ${out.stderr}`).toBe(2);
      expect(out.stderr, args.join(" ")).toMatch(message);
    }
    const missing = cli(dir, ["schedule", "create", "nightly", "--deployment", "nope", "--every", "1h"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No deployment 'nope'/);
    expect(storeContent(dir)).toBe(before);
  });
});
