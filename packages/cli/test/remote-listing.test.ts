/**
 * `runs list` on a stack whose orchestrator lists runs other machines started
 * (a fixture flavor reading executions from a file, as Step Functions lists
 * them: newest first, in pages, stopping at the first page with nothing new
 * or changed, details read only when asked).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject } from "./cli-harness.js";

interface Execution {
  id: string;
  status: string;
  started: string;
  ended?: string;
}

describe("runs other machines started, listed through their orchestrator", () => {
  let dir: string;
  let file: string;
  const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 3, minute)).toISOString();
  /** r00 (the oldest) still running, r01..r11 completed. */
  const executions: Execution[] = Array.from({ length: 12 }, (_, i) => ({
    id: `r${String(i).padStart(2, "0")}`,
    status: i === 0 ? "running" : "completed",
    started: at(i),
    ...(i === 0 ? {} : { ended: at(i + 1) }),
  }));
  const save = () => writeFileSync(file, JSON.stringify(executions));
  const described = () => (existsSync(`${file}.described`) ? readFileSync(`${file}.described`, "utf8").split("\n").filter(Boolean) : []);
  const list = () => {
    const out = cli(dir, ["runs", "list", "--json", "--limit", "50"]);
    expect(out.code, out.stderr).toBe(0);
    return Object.fromEntries((JSON.parse(out.stdout) as Array<{ id: string; status: string }>).map((r) => [r.id, r.status]));
  };

  beforeAll(() => {
    dir = newProject("remote-listing");
    file = join(dir, "executions.json");
    save();
    for (const args of [
      ["orchestrator", "flavor", "register", "./flavors/listing-orchestrator.ts#ListingOrchestratorFlavor"],
      ["orchestrator", "register", "lister", "-f", "listing", `--file=${file}`, "--page_size=5"],
      ["stack", "register", "shared", "-o", "lister", "-a", "default", "--set"],
    ]) {
      const out = cli(dir, args);
      if (out.code !== 0) throw new Error(`${args.join(" ")}: ${out.stderr}`);
    }
  });
  afterAll(() => removeProject(dir));

  it("lists them all on the first look", () => {
    const runs = list();
    expect(Object.keys(runs)).toHaveLength(12);
    expect(runs.r00).toBe("running");
    expect(runs.r11).toBe("completed");
  });

  it("refreshes a run it shows running that is older than the listing's first page, and nothing else", () => {
    // r00 ended, and one new run started: the listing's first page holds only the new one, and it stops there.
    executions[0] = { ...executions[0]!, status: "failed", ended: at(30) };
    executions.push({ id: "r12", status: "running", started: at(40) });
    save();
    const before = described().length;
    const runs = list();
    expect(runs.r00).toBe("failed");
    expect(runs.r12).toBe("running");
    // Asked about: the new run (to show it) and the one still running here; none of the finished ones.
    expect(described().slice(before).sort()).toEqual(["listing:r00", "listing:r12"]);

    // Nothing changed: only the run still running is asked about again.
    const again = described().length;
    expect(list()).toEqual(runs);
    expect(described().slice(again)).toEqual(["listing:r12"]);
  });
});
