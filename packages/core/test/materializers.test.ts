import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type BaseArtifactStore, createArtifactReader, createArtifactWriter, pipeline, resolveMaterializer, SourceError, step } from "../src/index.js";
import { run, stores, tempDir } from "./helpers.js";

const sha = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

async function roundTrip(ref: string, value: unknown, artifactStore: BaseArtifactStore, options: { sourceRoot?: string } = {}) {
  const materializer = await resolveMaterializer(ref, options);
  const writer = createArtifactWriter(artifactStore, `runs/r/s/${ref.replace(/\W/g, "_")}`);
  const saved = await materializer.save(value, writer);
  const loaded = await materializer.load(createArtifactReader(artifactStore, writer.uri));
  return { loaded, size: writer.size, sha256: writer.digest(), dataType: saved?.dataType, uri: writer.uri };
}

describe("materializers", () => {
  it("round-trips JSON, text and bytes byte-exact, with size and sha256 of the stored bytes", async () => {
    const { artifactStore } = stores();
    const json = await roundTrip("json", { a: [1, 2.5, "é"], b: null }, artifactStore);
    expect(json.loaded).toEqual({ a: [1, 2.5, "é"], b: null });
    const jsonText = JSON.stringify({ a: [1, 2.5, "é"], b: null });
    expect(json).toMatchObject({ dataType: "object", size: Buffer.byteLength(jsonText), sha256: sha(jsonText) });

    const text = await roundTrip("text", "héllo\nwörld\n", artifactStore);
    expect(text).toMatchObject({ loaded: "héllo\nwörld\n", dataType: "string", size: Buffer.byteLength("héllo\nwörld\n"), sha256: sha("héllo\nwörld\n") });

    const bytes = randomBytes(100_000);
    const binary = await roundTrip("bytes", new Uint8Array(bytes), artifactStore);
    expect(Buffer.compare(binary.loaded as Buffer, bytes)).toBe(0);
    expect(binary).toMatchObject({ dataType: "bytes", size: bytes.length, sha256: sha(bytes) });
  });

  it("streams files: a path in, a local path out, same bytes and hash", async () => {
    const { artifactStore, root } = stores();
    const source = join(tempDir(), "big.bin");
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(source, bytes);
    const file = await roundTrip("file", source, artifactStore);
    expect(typeof file.loaded).toBe("string");
    expect((file.loaded as string).startsWith(root)).toBe(true);
    expect(sha(readFileSync(file.loaded as string))).toBe(sha(bytes));
    expect(file).toMatchObject({ dataType: "file", size: bytes.length, sha256: sha(bytes) });

    const stream = await roundTrip("stream", Readable.from([bytes.subarray(0, 10), bytes.subarray(10)]), artifactStore);
    const chunks: Buffer[] = [];
    for await (const chunk of stream.loaded as Readable) chunks.push(chunk as Buffer);
    expect(sha(Buffer.concat(chunks))).toBe(sha(bytes));
    expect(stream).toMatchObject({ dataType: "stream", size: bytes.length, sha256: sha(bytes) });
  });

  it("loads custom materializers by source path and says what is wrong with bad ones", async () => {
    const { artifactStore } = stores();
    const sourceRoot = new URL(".", import.meta.url).pathname;
    const csv = await roundTrip(
      "./fixtures/csv-materializer.ts#csvMaterializer",
      [
        ["a", "b"],
        ["1", "2"],
      ],
      artifactStore,
      { sourceRoot },
    );
    expect(csv).toMatchObject({
      loaded: [
        ["a", "b"],
        ["1", "2"],
      ],
      dataType: "table",
      sha256: sha("a,b\n1,2"),
    });
    await expect(resolveMaterializer("./fixtures/csv-materializer.ts#notAMaterializer", { sourceRoot })).rejects.toThrow(
      "Materializer ./fixtures/csv-materializer.ts#notAMaterializer is not usable: 'save' must be a function save(value, writer); 'load' must be a function load(reader)",
    );
    await expect(resolveMaterializer("pickle")).rejects.toThrow(SourceError);
    await expect(resolveMaterializer("pickle")).rejects.toThrow(/Unknown materializer 'pickle': use one of json, text, bytes, file, stream/);
  });

  it("records materializer, data type, size and sha256 of each output of a run", async () => {
    const env = stores();
    const bytes = randomBytes(5000);
    const make = step({ name: "make", outputs: { blob: "bytes", note: "text", meta: "json" } }, async () => ({ blob: bytes, note: "hi", meta: [1] }));
    const use = step({ name: "use" }, async ({ blob, note }: { blob: Uint8Array; note: string }) => `${note}:${blob.length}`);
    const p = pipeline({ name: "typed_outputs" }, () => {
      const m = make();
      use({ blob: m.blob, note: m.note });
    });
    const result = await run(p, env);
    expect(result.status).toBe("completed");
    const artifacts = await env.store.listArtifacts(result.runId);
    const byOutput = Object.fromEntries(artifacts.map((a) => [`${a.stepId}.${a.output}`, a]));
    expect(byOutput["make.blob"]).toMatchObject({ materializer: "bytes", dataType: "bytes", size: 5000, sha256: sha(bytes) });
    expect(byOutput["make.note"]).toMatchObject({ materializer: "text", dataType: "string", size: 2, sha256: sha("hi") });
    expect(byOutput["make.meta"]).toMatchObject({ materializer: "json", dataType: "array", sha256: sha("[1]") });
    expect(byOutput["use.output"]).toMatchObject({ materializer: "json", dataType: "string", sha256: sha('"hi:5000"') });
    expect(readFileSync(join(byOutput["make.blob"]!.uri, "data.bin")).equals(bytes)).toBe(true);
  });

  it("fails the step, naming output and materializer, when a value cannot be stored", async () => {
    const env = stores();
    const bad = step({ name: "bad" }, async () => ({ n: 1n }));
    const p = pipeline({ name: "bad_output" }, () => {
      bad();
    });
    const result = await run(p, env);
    expect(result.status).toBe("failed");
    expect(result.records.bad!.error).toBe(
      "Output 'output' of step 'bad' could not be saved with materializer 'json': StackyardError: the value is not JSON at 'n': a bigint is not JSON (use a number or a string)",
    );
  });
});

describe("materializers named by stored records", () => {
  const sourceRoot = new URL(".", import.meta.url).pathname;

  it("are only imported from the source root or a package installed for it", async () => {
    const outside = join(tempDir(), "evil.mjs");
    writeFileSync(outside, "export const m = { name: 'm', save() {}, load() {} };");
    await expect(resolveMaterializer(`${outside}#m`, { sourceRoot })).rejects.toThrow(`is not loaded: ${outside} is outside the source root`);
    await expect(resolveMaterializer("../../../../../tmp/evil.mjs#m", { sourceRoot })).rejects.toThrow(/is outside the source root/);
    await expect(resolveMaterializer("node:child_process#exec", { sourceRoot })).rejects.toThrow(/'node:child_process' is a Node.js built-in module/);
    await expect(resolveMaterializer("fs#readFileSync", { sourceRoot })).rejects.toThrow(/'fs' is a Node.js built-in module/);
    await expect(resolveMaterializer("not-installed-anywhere#m", { sourceRoot })).rejects.toThrow(/package 'not-installed-anywhere' is not installed in/);
    await expect(resolveMaterializer("zod/../../evil#m", { sourceRoot })).rejects.toThrow(/'zod\/..\/..\/evil' is not a package name or subpath/);
    // Allowed: a file in the source root (absolute or relative) and an installed package (this one is no materializer).
    await expect(resolveMaterializer(`${join(sourceRoot, "fixtures/csv-materializer.ts")}#csvMaterializer`, { sourceRoot })).resolves.toMatchObject({
      name: "csv",
    });
    await expect(resolveMaterializer("zod#z", { sourceRoot })).rejects.toThrow(/Materializer zod#z is not usable/);
  });

  it("fail the consuming step when a record names a module outside the source root, which is never imported", async () => {
    const env = stores();
    const folder = join(tempDir(), "elsewhere");
    mkdirSync(folder);
    const marker = join(folder, "imported");
    writeFileSync(join(folder, "evil.mjs"), `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "x"); export const m = {};`);
    const produce = step({ name: "produce", outputs: { value: "json" } }, async () => ({ value: 1 }));
    const consume = step({ name: "consume", enableCache: false }, async ({ value }: { value: number }) => value + 1);
    const p = pipeline({ name: "recorded_materializer" }, () => void consume({ value: produce().value }));
    const first = await run(p, env, {}, { sourceRoot });
    expect(first.records.consume!.status).toBe("completed");
    for (const artifact of await env.store.listArtifacts(first.runId)) {
      await env.store.putArtifact({ ...artifact, materializer: `${join(folder, "evil.mjs")}#m` });
    }
    const second = await run(p, env, {}, { sourceRoot });
    expect(second.records.produce!.status).toBe("cached");
    expect(second.records.consume!.status).toBe("failed");
    expect(second.records.consume!.error).toContain(`Materializer ${join(folder, "evil.mjs")}#m is not loaded`);
    expect(existsSync(marker)).toBe(false);
  });
});
