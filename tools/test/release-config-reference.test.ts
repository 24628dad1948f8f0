/**
 * Each flavor package's README carries a config reference generated from its
 * flavors' zod schemas, and it is up to date (`npm run docs:config`
 * regenerates it).
 */
import * as s3Flavor from "@stackyard/artifact-store-s3";
import { describe, expect, it } from "vitest";
import { END, type ReadmeUpdate, readmeUpdates, START, withSection } from "../src/release/config-reference.js";

const updates: ReadmeUpdate[] = await readmeUpdates();
const section = (text: string) => text.slice(text.indexOf(START), text.indexOf(END) + END.length);

describe("generated config references", () => {
  it("cover every package that ships a flavor", () => {
    expect(updates.map((u) => u.pkg.manifest.name)).toEqual(
      expect.arrayContaining([
        "@stackyard/core",
        "@stackyard/orchestrator-local",
        "@stackyard/orchestrator-docker",
        "@stackyard/artifact-store-s3",
        "@stackyard/container-registry-ecr",
        "@stackyard/connector-aws",
      ]),
    );
  });

  it.each(updates.map((u) => [u.pkg.manifest.name, u] as const))("%s: README exists and its config reference is up to date", (_, u) => {
    expect(u.exists, `packages/${u.pkg.folder}/README.md is missing`).toBe(true);
    // Compare the sections first, for a readable diff; then the whole file (nothing else was touched).
    expect(section(u.current), `run npm run docs:config`).toBe(section(u.expected));
    expect(u.current).toBe(u.expected);
  });

  it("document every key: type, default, required, secret and a description", () => {
    const s3 = updates.find((u) => u.pkg.manifest.name === "@stackyard/artifact-store-s3")!;
    const table = section(s3.expected);
    expect(table).toMatch(/\| `path` \| string \|\s*\| yes \|\s*\| .+ \|/);
    // A key with a default: the table shows the schema's own default, whatever it is.
    const { s3ArtifactStoreFlavor } = s3Flavor;
    const concurrency = s3ArtifactStoreFlavor.configSchema.shape.multipart_concurrency.parse(undefined);
    expect(table).toMatch(new RegExp(`\\| \`multipart_concurrency\` \\| integer \\(min 1, max 64\\) \\| \`${concurrency}\` \\|\\s*\\|\\s*\\| .+ \\|`));
    expect(table).toMatch(/\| `secret_access_key` \| string \|\s*\|\s*\| yes \| .+ \|/);
    const local = section(updates.find((u) => u.pkg.manifest.name === "@stackyard/orchestrator-local")!.expected);
    expect(local).toContain("| `fail_fast` | boolean | `true` |");
    // Every row of every table has a description (from .describe() or the schema's TSDoc).
    for (const u of updates) {
      for (const row of section(u.expected)
        .split("\n")
        .filter((line) => line.startsWith("| `"))) {
        expect(
          row
            .split(" | ")
            .at(-1)!
            .replace(/\s*\|$/, "")
            .trim(),
          `${u.pkg.manifest.name}: ${row}`,
        ).not.toBe("");
      }
    }
  });

  it("replace only what is between the markers, or append a section when there are none", () => {
    const readme = `# x\n\nintro\n\n## Config reference\n\n${START}\nold\n${END}\n\n## After\n`;
    expect(withSection(readme, `${START}\nnew\n${END}`)).toBe(`# x\n\nintro\n\n## Config reference\n\n${START}\nnew\n${END}\n\n## After\n`);
    expect(withSection("# y\n\ntext\n", `${START}\nnew\n${END}`)).toBe(`# y\n\ntext\n\n## Config reference\n\n${START}\nnew\n${END}\n`);
  });
});
