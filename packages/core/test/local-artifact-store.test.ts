import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ConfigError, ConflictError, flavorProblems, LocalArtifactStore, localArtifactStoreFlavor, NotFoundError } from "../src/index.js";
import { stores, tempDir } from "./helpers.js";

describe("local artifact store", () => {
  it("confines every path to its root", async () => {
    const { artifactStore, root } = stores();
    await expect(artifactStore.writeFile("../escape.txt", "x")).rejects.toThrow(ConfigError);
    await expect(artifactStore.writeFile("a/../../escape.txt", "x")).rejects.toThrow(/escapes artifact store 'default'/);
    await expect(artifactStore.readFile("/etc/passwd")).rejects.toThrow(/is outside artifact store 'default'/);
    expect(() => artifactStore.localPath("file:///etc/passwd")).toThrow(ConfigError);
    expect(existsSync(join(root, "..", "escape.txt"))).toBe(false);
    await artifactStore.writeFile(join(root, "inside", "ok.txt"), "fine");
    expect(await artifactStore.readFile(`file://${root}/inside/ok.txt`)).toEqual(Buffer.from("fine"));
    expect(artifactStore.uri("inside/./ok.txt")).toBe(`${root}/inside/ok.txt`);
  });

  it("writes atomically, leaving no temporary files, also when a stream fails", async () => {
    const { artifactStore, root } = stores();
    await artifactStore.writeFile("dir/file.txt", "old");
    const failing = new Readable({
      read() {
        this.push(Buffer.from("new partial"));
        this.destroy(new Error("source broke"));
      },
    });
    await expect(artifactStore.writeFile("dir/file.txt", failing)).rejects.toThrow("source broke");
    expect(readFileSync(join(root, "dir/file.txt"), "utf8")).toBe("old");
    expect(readdirSync(join(root, "dir"))).toEqual(["file.txt"]);
    await artifactStore.writeFile("dir/file.txt", Readable.from([Buffer.from("ne"), Buffer.from("w")]));
    expect(readFileSync(join(root, "dir/file.txt"), "utf8")).toBe("new");
  });

  it("writes an artifact's new file in place, still replaces an existing one whole, and makes missing folders again", async () => {
    const { artifactStore, root } = stores();
    const folder = "runs/r1/step/output";
    await artifactStore.writeFile(`${folder}/data.json`, "[1,2]", { inPlace: true });
    expect(readFileSync(join(root, folder, "data.json"), "utf8")).toBe("[1,2]");
    // Written again (a retried attempt): the same file, replaced, with no temporary file left beside it.
    await artifactStore.writeFile(`${folder}/data.json`, Buffer.from("[3]"), { inPlace: true });
    expect(readFileSync(join(root, folder, "data.json"), "utf8")).toBe("[3]");
    expect(readdirSync(join(root, folder))).toEqual(["data.json"]);
    // The run's folder removed behind the store's back (another process): made again on the next write.
    rmSync(join(root, "runs", "r1"), { recursive: true });
    await artifactStore.writeFile(`${folder}/data.json`, "[4]", { inPlace: true });
    await artifactStore.writeFile("runs/r1/step/step.json", "{}");
    expect(readFileSync(join(root, folder, "data.json"), "utf8")).toBe("[4]");
    expect(readdirSync(join(root, "runs", "r1", "step")).sort()).toEqual(["output", "step.json"]);
  });

  it("lists, stats, copies, renames and removes", async () => {
    const { artifactStore } = stores();
    await artifactStore.writeFile("a/x.txt", "12345");
    await artifactStore.writeFile("a/b/y.txt", "y");
    expect(await artifactStore.list("a")).toEqual(["b", "x.txt"]);
    expect(await artifactStore.list("missing")).toEqual([]);
    expect(await artifactStore.stat("a/x.txt")).toMatchObject({ size: 5, isDirectory: false });
    expect((await artifactStore.stat("a")).isDirectory).toBe(true);
    await expect(artifactStore.stat("nope")).rejects.toThrow(NotFoundError);
    await expect(artifactStore.readFile("nope")).rejects.toThrow("No artifact at 'nope' in artifact store 'default'");
    await artifactStore.copy("a/x.txt", "c/x.txt");
    await expect(artifactStore.copy("a/x.txt", "c/x.txt")).rejects.toThrow(ConflictError);
    await artifactStore.copy("a", "d");
    expect(await artifactStore.readFile("d/b/y.txt")).toEqual(Buffer.from("y"));
    await artifactStore.rename("c/x.txt", "c/z.txt");
    expect(await artifactStore.exists("c/x.txt")).toBe(false);
    expect(await artifactStore.exists("c/z.txt")).toBe(true);
    await artifactStore.remove("c/z.txt");
    await expect(artifactStore.remove("c/z.txt")).rejects.toThrow(NotFoundError);
    await artifactStore.rmtree("a");
    expect(await artifactStore.exists("a")).toBe(false);
    await artifactStore.writeFile("a/again.txt", "recreated after rmtree");
    expect(await artifactStore.list("a")).toEqual(["again.txt"]);
  });

  it("is the `local` artifact_store flavor, with a strict config and a lazily loaded class", async () => {
    expect(flavorProblems(localArtifactStoreFlavor)).toEqual([]);
    expect(localArtifactStoreFlavor).toMatchObject({ name: "local", type: "artifact_store" });
    expect(localArtifactStoreFlavor.configSchema.safeParse({ path: "x", extra: 1 }).success).toBe(false);
    expect(await localArtifactStoreFlavor.implementation()).toBe(LocalArtifactStore);
    const sourceRoot = tempDir();
    const store = new LocalArtifactStore({ id: "1", name: "default", flavor: "local", config: { path: ".stackyard/artifacts" }, sourceRoot });
    expect(store.path).toBe(join(sourceRoot, ".stackyard/artifacts"));
  });
});
