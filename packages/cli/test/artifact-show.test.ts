/**
 * `stackyard artifact show` for every kind of version: JSON and text as
 * values, other kinds as their bytes when piped, their start on a terminal,
 * or a new file with --out; every byte checked against the recorded sha256.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, cliPath, newProject, onTerminal, removeProject } from "./cli-harness.js";

const blob = Buffer.from(Uint8Array.from({ length: 10_240 }, (_, i) => i % 256));

/** The CLI's stdout as bytes (a pipe, not a terminal). */
function rawStdout(dir: string, args: string[]): { code: number; stdout: Buffer; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, ...args], { cwd: dir, env: { ...process.env, STACKYARD_STORE: "", FORCE_COLOR: "0" } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString("utf8") };
}

describe("stackyard artifact show", () => {
  let dir: string;
  let blobUri: string;

  beforeAll(() => {
    dir = newProject("artifact-show");
    const run = cli(dir, ["run", "./pipelines/blobs.ts#blobs", "--run-name", "blobs"]);
    if (run.code !== 0) throw new Error(run.stderr);
    blobUri = (JSON.parse(cli(dir, ["artifact", "describe", "blob", "--json"]).stdout) as { uri: string }).uri;
  });
  afterAll(() => removeProject(dir));

  it("prints a text version as text, and a bytes version's bytes when piped", () => {
    expect(cli(dir, ["artifact", "show", "blob_report"]).stdout).toBe("10240 bytes\n");
    const piped = rawStdout(dir, ["artifact", "show", "blob:1"]);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.equals(blob)).toBe(true);
  });

  it("shows the start of a bytes version on a terminal as a hex dump, and says how to save it", () => {
    const { code, screen } = onTerminal(dir, ["artifact", "show", "blob"]);
    expect(code).toBe(0);
    expect(screen).toContain("00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
    expect(screen).toContain("000000f0  f0 f1 f2 f3");
    expect(screen).not.toContain("00000100");
    expect(screen).toContain("The start of blob:1 (materializer 'bytes', bytes, 10.0 KiB)");
    expect(screen).toContain("stackyard artifact show blob:1 --out FILE");
  });

  it("writes a version to a new file with --out, and refuses a file that exists or a missing folder", () => {
    const out = cli(dir, ["artifact", "show", "blob", "--out", "blob.bin"]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain(`Wrote blob:1 (materializer 'bytes', bytes, 10.0 KiB) to ${join(dir, "blob.bin")}`);
    expect(readFileSync(join(dir, "blob.bin")).equals(blob)).toBe(true);
    // JSON and text versions too: their stored file as it is.
    expect(cli(dir, ["artifact", "show", "blob_report", "-o", "report.txt"]).code).toBe(0);
    expect(readFileSync(join(dir, "report.txt"), "utf8")).toBe("10240 bytes\n");

    writeFileSync(join(dir, "taken.bin"), "mine");
    const taken = cli(dir, ["artifact", "show", "blob", "--out", "taken.bin"]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain("'taken.bin' already exists: --out writes a new file");
    expect(readFileSync(join(dir, "taken.bin"), "utf8")).toBe("mine");
    const nowhere = cli(dir, ["artifact", "show", "blob", "--out", "no/such/folder/blob.bin"]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain("The folder of --out 'no/such/folder/blob.bin' does not exist");
  });

  it("refuses a damaged version, leaving no file behind", () => {
    const file = join(blobUri, "data.bin");
    const bytes = readFileSync(file);
    bytes[5000] = bytes[5000]! ^ 0xff;
    writeFileSync(file, bytes);
    const out = cli(dir, ["artifact", "show", "blob", "--out", "damaged.bin"]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("does not match its record: its sha256 is");
    expect(readdirSync(dir).filter((f) => f.startsWith("damaged.bin"))).toEqual([]);
    const piped = rawStdout(dir, ["artifact", "show", "blob"]);
    expect(piped.code).not.toBe(0);
    expect(piped.stderr).toContain("does not match its record");
    expect(existsSync(join(dir, "damaged.bin"))).toBe(false);
  });
});
