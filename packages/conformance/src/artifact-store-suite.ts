/**
 * The behaviour every artifact store must have, as a vitest suite.
 *
 * @example
 * ```ts
 * testArtifactStore({ name: "s3 on moto", create: async () => new S3ArtifactStore({...}) });
 * ```
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { type BaseArtifactStore, ConfigError, ConflictError, NotFoundError } from "@stackyard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Options of {@link testArtifactStore}. */
export interface ArtifactStoreSuiteOptions {
  /** Shown in the suite's title. */
  name: string;
  /** Builds the store under test, rooted at an empty location. Called once. */
  create: () => Promise<BaseArtifactStore>;
  /** Releases what `create` made (buckets, folders, clients). */
  cleanup?: (store: BaseArtifactStore) => Promise<void>;
  /** Size of the large streamed file; default 20 MB. */
  largeFileBytes?: number;
  /** Timeout of the large-file test; default 120 s. */
  largeFileTimeoutMs?: number;
}

/** Deterministic pseudo-random bytes, produced in chunks so the whole never sits in memory. */
function* pseudoRandomChunks(total: number, chunkSize = 256 * 1024): Generator<Buffer> {
  let state = 0x9e3779b9;
  for (let done = 0; done < total; ) {
    const n = Math.min(chunkSize, total - done);
    const chunk = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      // xorshift32
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      chunk[i] = state & 0xff;
    }
    done += n;
    yield chunk;
  }
}

async function digest(stream: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array>): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    hash.update(bytes);
    size += bytes.byteLength;
  }
  return { size, sha256: hash.digest("hex") };
}

/**
 * Registers `describe`/`it` blocks checking that an artifact store reads and
 * writes bytes exactly, streams, and has the folder, copy, rename, overwrite
 * and path-confinement semantics of the contract. Each test works in its own
 * folder under the store's root.
 */
export function testArtifactStore(options: ArtifactStoreSuiteOptions): void {
  const largeBytes = options.largeFileBytes ?? 20 * 1000 * 1000;
  describe(`artifact store conformance: ${options.name}`, () => {
    let store: BaseArtifactStore;
    let counter = 0;
    /** A fresh folder name for one test. */
    const folder = (): string => `t${++counter}-${Date.now().toString(36)}`;

    beforeAll(async () => {
      store = await options.create();
    });
    afterAll(async () => {
      if (store && options.cleanup) await options.cleanup(store);
    });

    describe("bytes", () => {
      it("reads back every one of the 256 byte values exactly", async () => {
        const f = folder();
        const bytes = Buffer.alloc(256 * 3);
        for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
        await store.writeFile(`${f}/all-bytes.bin`, bytes);
        const back = await store.readFile(`${f}/all-bytes.bin`);
        expect(back.equals(bytes)).toBe(true);
        expect((await store.stat(`${f}/all-bytes.bin`)).size).toBe(bytes.length);
      });

      it("writes strings as UTF-8", async () => {
        const f = folder();
        await store.writeFile(`${f}/text.txt`, "héllo wörld ✓ 🚀\n");
        expect((await store.readFile(`${f}/text.txt`)).toString("utf8")).toBe("héllo wörld ✓ 🚀\n");
        expect((await store.stat(`${f}/text.txt`)).size).toBe(Buffer.byteLength("héllo wörld ✓ 🚀\n"));
      });

      it("stores empty files", async () => {
        const f = folder();
        await store.writeFile(`${f}/empty`, new Uint8Array(0));
        expect(await store.exists(`${f}/empty`)).toBe(true);
        expect((await store.readFile(`${f}/empty`)).length).toBe(0);
        expect(await store.stat(`${f}/empty`)).toMatchObject({ size: 0, isDirectory: false });
        await store.writeFile(`${f}/empty-stream`, Readable.from([]));
        expect((await store.readFile(`${f}/empty-stream`)).length).toBe(0);
      });

      it("overwrites a file with new content, shorter or longer", async () => {
        const f = folder();
        await store.writeFile(`${f}/x`, "a long first version");
        await store.writeFile(`${f}/x`, "short");
        expect((await store.readFile(`${f}/x`)).toString()).toBe("short");
        await store.writeFile(`${f}/x`, "a much longer third version of it");
        expect((await store.readFile(`${f}/x`)).toString()).toBe("a much longer third version of it");
      });

      it("reports a missing file as NotFoundError", async () => {
        const f = folder();
        await expect(store.readFile(`${f}/nope`)).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.stat(`${f}/nope`)).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.exists(`${f}/nope`)).toBe(false);
      });
    });

    describe("streams", () => {
      it("writes from a Readable and from an async iterable, and reads as a stream", async () => {
        const f = folder();
        await store.writeFile(`${f}/readable`, Readable.from([Buffer.from("one "), Buffer.from("two "), Buffer.from("three")]));
        async function* gen(): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < 100; i++) yield new Uint8Array([i, 255 - i]);
        }
        await store.writeFile(`${f}/iterable`, gen());
        const chunks: Buffer[] = [];
        for await (const chunk of await store.createReadStream(`${f}/readable`)) chunks.push(Buffer.from(chunk as Uint8Array));
        expect(Buffer.concat(chunks).toString()).toBe("one two three");
        const back = await store.readFile(`${f}/iterable`);
        expect(back.length).toBe(200);
        expect([back[0], back[1], back[198], back[199]]).toEqual([0, 255, 99, 156]);
      });

      it(
        `streams ${largeBytes} bytes in and out byte-exact`,
        async () => {
          const f = folder();
          const expected = await digest(pseudoRandomChunks(largeBytes));
          await store.writeFile(`${f}/large.bin`, Readable.from(pseudoRandomChunks(largeBytes)));
          expect((await store.stat(`${f}/large.bin`)).size).toBe(largeBytes);
          expect(await digest(await store.createReadStream(`${f}/large.bin`))).toEqual(expected);
        },
        options.largeFileTimeoutMs ?? 120_000,
      );
    });

    describe("folders", () => {
      it("creates parent folders on write and lists direct children, sorted", async () => {
        const f = folder();
        await store.writeFile(`${f}/b.txt`, "b");
        await store.writeFile(`${f}/a.txt`, "a");
        await store.writeFile(`${f}/sub/deeper/c.txt`, "c");
        expect(await store.list(f)).toEqual(["a.txt", "b.txt", "sub"]);
        expect(await store.list(`${f}/sub`)).toEqual(["deeper"]);
        expect(await store.list(`${f}/sub/deeper/`)).toEqual(["c.txt"]);
        expect(await store.exists(`${f}/sub`)).toBe(true);
        expect(await store.stat(`${f}/sub`)).toMatchObject({ isDirectory: true });
        expect((await store.list("")).includes(f)).toBe(true);
      });

      it("lists a missing folder as empty", async () => {
        expect(await store.list(`${folder()}/missing`)).toEqual([]);
        expect(await store.listFiles(`${folder()}/missing`)).toEqual([]);
      });

      it("lists every file under a folder at any depth, sorted, with sizes, and no folders", async () => {
        const f = folder();
        await store.writeFile(`${f}/b.txt`, "bb");
        await store.writeFile(`${f}/a[1]/step.json`, "{}");
        await store.writeFile(`${f}/a[1]/out/data.json`, "[1,2,3]");
        await store.mkdirs(`${f}/empty/inside`);
        await store.writeFile(`${f}-sibling/c.txt`, "c");
        const files = await store.listFiles(f);
        expect(files.map((e) => [e.path, e.size])).toEqual([
          ["a[1]/out/data.json", 7],
          ["a[1]/step.json", 2],
          ["b.txt", 2],
        ]);
        const before = files.find((e) => e.path === "b.txt")!;
        await store.writeFile(`${f}/b.txt`, "changed");
        const after = (await store.listFiles(`${f}/`)).find((e) => e.path === "b.txt")!;
        // Changed content shows in the listing: a new tag, or a new size.
        expect(after.etag !== undefined ? after.etag !== before.etag : after.size !== before.size).toBe(true);
      });

      it("makes empty nested folders that exist, stat as folders and list", async () => {
        const f = folder();
        await store.mkdirs(`${f}/x/y/z`);
        await store.mkdirs(`${f}/x/y/z`); // idempotent
        expect(await store.exists(`${f}/x/y/z`)).toBe(true);
        expect(await store.exists(`${f}/x`)).toBe(true);
        expect(await store.stat(`${f}/x/y/z`)).toMatchObject({ isDirectory: true });
        expect(await store.list(`${f}/x/y`)).toEqual(["z"]);
        expect(await store.list(`${f}/x/y/z`)).toEqual([]);
        await store.writeFile(`${f}/x/y/z/file`, "in an existing folder");
        expect(await store.list(`${f}/x/y/z`)).toEqual(["file"]);
      });

      it("removes one file, and refuses missing files", async () => {
        const f = folder();
        await store.writeFile(`${f}/keep`, "k");
        await store.writeFile(`${f}/drop`, "d");
        await store.remove(`${f}/drop`);
        expect(await store.exists(`${f}/drop`)).toBe(false);
        expect(await store.list(f)).toEqual(["keep"]);
        await expect(store.remove(`${f}/drop`)).rejects.toBeInstanceOf(NotFoundError);
      });

      it("removes a folder tree, empty folders included, and nothing beside it", async () => {
        const f = folder();
        await store.writeFile(`${f}/tree/a`, "a");
        await store.writeFile(`${f}/tree/sub/b`, "b");
        await store.mkdirs(`${f}/tree/empty`);
        await store.writeFile(`${f}/tree-sibling`, "stays");
        await store.writeFile(`${f}/treehouse/x`, "stays too");
        await store.rmtree(`${f}/tree`);
        expect(await store.exists(`${f}/tree`)).toBe(false);
        expect(await store.exists(`${f}/tree/sub/b`)).toBe(false);
        expect(await store.list(f)).toEqual(["tree-sibling", "treehouse"]);
        await store.rmtree(`${f}/tree`); // removing what is gone is not an error
      });
    });

    describe("copy and rename", () => {
      it("copies a file, keeping the source", async () => {
        const f = folder();
        await store.writeFile(`${f}/src`, "payload");
        await store.copy(`${f}/src`, `${f}/copies/dst`);
        expect((await store.readFile(`${f}/copies/dst`)).toString()).toBe("payload");
        expect((await store.readFile(`${f}/src`)).toString()).toBe("payload");
      });

      it("renames a file, removing the source", async () => {
        const f = folder();
        await store.writeFile(`${f}/old`, "moved");
        await store.rename(`${f}/old`, `${f}/new/place`);
        expect(await store.exists(`${f}/old`)).toBe(false);
        expect((await store.readFile(`${f}/new/place`)).toString()).toBe("moved");
      });

      it("refuses to overwrite unless asked, for copy and rename", async () => {
        const f = folder();
        await store.writeFile(`${f}/a`, "A");
        await store.writeFile(`${f}/b`, "B");
        await expect(store.copy(`${f}/a`, `${f}/b`)).rejects.toBeInstanceOf(ConflictError);
        await expect(store.rename(`${f}/a`, `${f}/b`)).rejects.toBeInstanceOf(ConflictError);
        expect((await store.readFile(`${f}/b`)).toString()).toBe("B");
        expect(await store.exists(`${f}/a`)).toBe(true);
        await store.copy(`${f}/a`, `${f}/b`, { overwrite: true });
        expect((await store.readFile(`${f}/b`)).toString()).toBe("A");
        await store.writeFile(`${f}/c`, "C");
        await store.rename(`${f}/c`, `${f}/b`, { overwrite: true });
        expect((await store.readFile(`${f}/b`)).toString()).toBe("C");
        expect(await store.exists(`${f}/c`)).toBe(false);
      });

      it("reports a missing source as NotFoundError", async () => {
        const f = folder();
        await expect(store.copy(`${f}/ghost`, `${f}/x`)).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.rename(`${f}/ghost`, `${f}/x`)).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe("paths", () => {
      it("accepts full URIs under the root and normalises relative paths", async () => {
        const f = folder();
        await store.writeFile(store.uri(`${f}/via-uri`), "u");
        expect((await store.readFile(`${f}/via-uri`)).toString()).toBe("u");
        expect((await store.readFile(`${f}/./sub/../via-uri`)).toString()).toBe("u");
        expect(store.uri(`${f}/a/./b`)).toBe(`${store.uri("")}/${f}/a/b`);
      });

      it("rejects paths that escape the root or belong elsewhere", async () => {
        const root = store.uri("");
        const outside = ["../x", "a/../../x", `${root}-sibling/x`, "/etc/passwd", "file:///etc/passwd", "s3://some-other-bucket-zz/x", "http://127.0.0.1/x"];
        for (const path of outside) {
          await expect(store.writeFile(path, "x"), path).rejects.toBeInstanceOf(ConfigError);
          await expect(store.readFile(path), path).rejects.toBeInstanceOf(ConfigError);
          await expect(store.exists(path), path).rejects.toBeInstanceOf(ConfigError);
        }
        await expect(store.copy("a", "../b")).rejects.toBeInstanceOf(ConfigError);
        await expect(store.rmtree("..")).rejects.toBeInstanceOf(ConfigError);
      });

      it("never removes, moves or replaces its root, and keeps what is under it", async () => {
        const f = folder();
        await store.writeFile(`${f}/kept.txt`, "kept");
        for (const root of ["", ".", "./", "a/..", store.uri("")]) {
          await expect(store.rmtree(root), `rmtree('${root}')`).rejects.toThrow(/Cannot remove the root of artifact store/);
          await expect(store.remove(root), `remove('${root}')`).rejects.toBeInstanceOf(ConflictError);
          await expect(store.rename(root, `${f}/moved`), `rename('${root}')`).rejects.toBeInstanceOf(ConflictError);
          await expect(store.copy(`${f}/kept.txt`, root, { overwrite: true }), `copy to '${root}'`).rejects.toBeInstanceOf(ConflictError);
        }
        expect((await store.readFile(`${f}/kept.txt`)).toString()).toBe("kept");
      });
    });
  });
}
