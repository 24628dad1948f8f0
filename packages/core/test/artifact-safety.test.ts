import { existsSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  ConflictError,
  createArtifactReader,
  createArtifactWriter,
  PipelineDefinitionError,
  pipeline,
  pipelineSnapshotSchema,
  type StepContext,
  step,
} from "../src/index.js";
import { run, stores, tempDir } from "./helpers.js";

const produce = step({ name: "produce", outputs: { value: "json" } }, async () => ({ value: { answer: 42 } }));

describe("what a step may touch in the artifact store", () => {
  /** Runs `produce` (the earlier run), then a run of `produce` and a step that calls `act` with its context and the earlier run's id. */
  async function runWith(act: (ctx: StepContext, earlierRunId: string) => Promise<unknown>) {
    const env = stores();
    const earlier = await run(
      pipeline({ name: "earlier" }, () => void produce()),
      env,
    );
    const actor = step({ name: "actor", enableCache: false }, async (_inputs: { value: unknown }, ctx) => act(ctx, earlier.runId));
    const p = pipeline({ name: "acting" }, () => {
      const { value } = produce();
      actor({ value });
    });
    const result = await run(p, env);
    return { env, earlier, result };
  }

  it("refuses to remove the artifact store's root, and every run and snapshot stays", async () => {
    const { env, earlier, result } = await runWith((ctx) => ctx.artifactStore.rmtree(""));
    expect(result.records.actor!.status).toBe("failed");
    expect(result.records.actor!.error).toMatch(/Cannot remove the root of artifact store 'default'/);
    expect(existsSync(join(env.root, "runs", earlier.runId, "produce", "value", "data.json"))).toBe(true);
    expect(existsSync(join(env.root, "runs", result.runId, "actor", "logs.txt"))).toBe(true);
  });

  it("refuses writes and removals outside the step's own folder, and its log and record", async () => {
    const attempts: Record<string, string> = {};
    const { env, earlier, result } = await runWith(async (ctx, earlierRunId) => {
      const own = `runs/${ctx.runId}/${ctx.stepId}`;
      const tries: Record<string, () => Promise<unknown>> = {
        "another run": () => ctx.artifactStore.rmtree(`runs/${earlierRunId}`),
        "the runs folder": () => ctx.artifactStore.rmtree("runs"),
        "an upstream output": () => ctx.artifactStore.writeFile(`runs/${ctx.runId}/produce/value/data.json`, "{}"),
        "its own log": () => ctx.artifactStore.writeFile(`${own}/logs.txt`, "forged"),
        "its own record": () => ctx.artifactStore.writeFile(`${own}/step.json`, "{}"),
        "its own folder": () => ctx.artifactStore.rmtree(own),
        "a snapshot": () => ctx.artifactStore.writeFile("snapshots/x.json", "{}"),
      };
      for (const [what, attempt] of Object.entries(tries)) {
        attempts[what] = await attempt().then(
          () => "allowed",
          (error: unknown) => (error instanceof ConflictError ? error.message : `unexpected ${String(error)}`),
        );
      }
      await ctx.artifactStore.writeFile(`${own}/scratch/notes.txt`, "mine");
      return (await ctx.artifactStore.readFile(`${own}/scratch/notes.txt`)).toString();
    });
    expect(result.records.actor!.status, result.records.actor!.error).toBe("completed");
    for (const [what, outcome] of Object.entries(attempts)) expect(outcome, what).toMatch(/^Step 'actor' may not change '.*' in artifact store 'default'/);
    expect(existsSync(join(env.root, "runs", earlier.runId, "produce", "value", "data.json"))).toBe(true);
    expect(readFileSync(join(env.root, "runs", result.runId, "actor", "scratch", "notes.txt"), "utf8")).toBe("mine");
  });

  it("lets a step read its run and its inputs, also from another run, but not other runs", async () => {
    const env = stores();
    const first = await run(
      pipeline({ name: "first" }, () => void produce()),
      env,
    );
    let seen: { own: string; input: string; other: string } | undefined;
    const reader = step({ name: "reader", enableCache: false }, async (_inputs: { value: unknown }, ctx) => {
      const input = (await ctx.artifactStore.readFile(`runs/${first.runId}/produce/value/data.json`)).toString(); // cached: the input lives in the first run
      await ctx.artifactStore.writeFile(`runs/${ctx.runId}/${ctx.stepId}/seen.txt`, "seen");
      const own = (await ctx.artifactStore.list(`runs/${ctx.runId}`)).join(",");
      const other = await ctx.artifactStore.readFile(`runs/${first.runId}/produce/logs.txt`).then(
        () => "allowed",
        (error: Error) => error.message,
      );
      seen = { own, input, other };
      return true;
    });
    const second = await run(
      pipeline({ name: "second" }, () => reader({ value: produce().value })),
      env,
    );
    expect(second.records.produce!.status).toBe("cached");
    expect(second.records.reader!.status).toBe("completed");
    expect(seen!.input).toBe('{"answer":42}');
    expect(seen!.own).toBe("reader");
    expect(seen!.other).toMatch(/Step 'reader' may not read 'runs\/.*\/produce\/logs.txt'/);
  });
});

describe("output names", () => {
  it("refuses names that would leave or clash in the step's folder, naming the step and the output, and accepts safe ones", () => {
    for (const name of ["../../other-run/train/model", "..", ".", "", "logs.txt", "step.json", "a/b", "a\\b", "-x", "x".repeat(129)]) {
      const define = () => step({ name: "trainer", outputs: { [name]: "json" } }, async () => ({}));
      expect(define, name).toThrow(PipelineDefinitionError);
      expect(define, name).toThrow(`Step 'trainer' has an invalid output name ${JSON.stringify(name)}`);
    }
    const ok = step({ name: "ok", outputs: { model: "json", x_train: "json", "test-set": "json", _private: "json" } }, async () => ({
      model: 1,
      x_train: 2,
      "test-set": 3,
      _private: 4,
    }));
    expect(Object.keys(ok.definition.outputs)).toHaveLength(4);
  });
});

describe("a stored snapshot", () => {
  it("is refused when a step's output name would leave its folder", () => {
    const snapshot = JSON.parse(JSON.stringify(pipeline({ name: "snap" }, () => void produce()).compile({ source: "./p.ts#p" })));
    expect(pipelineSnapshotSchema.safeParse(snapshot).success).toBe(true);
    snapshot.steps[0].outputs = { "../../other/produce/value": { materializer: "json" } };
    const parsed = pipelineSnapshotSchema.safeParse(snapshot);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/output names must use letters, digits/);
  });
});

describe("loading an artifact checks it against its record", () => {
  /** Runs `produce` then a consumer, damages the produced file with `damage`, and runs again (produce cached, consumer not). */
  async function damagedRerun(damage: (file: string) => void) {
    const env = stores();
    const consume = step({ name: "consume", enableCache: false }, async ({ value }: { value: { answer: number } }) => value.answer);
    const p = pipeline({ name: "checked" }, () => void consume({ value: produce().value }));
    const first = await run(p, env);
    expect(first.records.consume!.status).toBe("completed");
    damage(join(env.root, "runs", first.runId, "produce", "value", "data.json"));
    return { first, second: await run(p, env) };
  }

  it("fails the consumer when an artifact was changed in place, naming the artifact, its run and step", async () => {
    const { first, second } = await damagedRerun((file) => writeFileSync(file, '{"answer":66}'));
    expect(second.records.produce!.status).toBe("cached");
    expect(second.records.consume!.status).toBe("failed");
    expect(second.records.consume!.error).toContain(`Artifact 'value' of step 'produce' in run ${first.runId}`);
    expect(second.records.consume!.error).toMatch(/does not match its record: its sha256 is [0-9a-f]{64}, recorded [0-9a-f]{64}/);
  });

  it("fails the consumer when an artifact grew or shrank", async () => {
    const longer = await damagedRerun((file) => writeFileSync(file, '{"answer":42, "more": true}'));
    expect(longer.second.records.consume!.error).toMatch(/does not match its record: it holds more than the 13 bytes recorded/);
    const shorter = await damagedRerun((file) => truncateSync(file, 5));
    expect(shorter.second.records.consume!.status).toBe("failed");
    expect(shorter.second.records.consume!.error).toMatch(/does not match its record/);
  });

  it("checks streams as the step reads them, and local file paths before handing them over", async () => {
    const { artifactStore, root } = stores();
    const writer = createArtifactWriter(artifactStore, "runs/r1/maker/data");
    await writer.write("data", Readable.from([Buffer.alloc(300_000, 1), Buffer.alloc(300_000, 2)]));
    const record = {
      id: "a1",
      runId: "r1",
      stepId: "maker",
      output: "data",
      uri: writer.uri,
      materializer: "stream",
      dataType: "stream",
      size: writer.size,
      sha256: writer.digest(),
      created: "",
    };
    const drain = async (stream: Readable) => {
      for await (const _ of stream);
    };
    await drain(await createArtifactReader(artifactStore, writer.uri, record).read("data"));
    const file = join(root, "runs/r1/maker/data/data");
    const bytes = readFileSync(file);
    bytes[123_456] = 9;
    writeFileSync(file, bytes);
    await expect(drain(await createArtifactReader(artifactStore, writer.uri, record).read("data"))).rejects.toThrow(
      /Artifact 'data' of step 'maker' in run r1 .* does not match its record: its sha256 is/,
    );
    await expect(createArtifactReader(artifactStore, writer.uri, record).localPath("data")).rejects.toThrow(/does not match its record/);
  });
});

describe("artifacts of several files", () => {
  it("are checked across their files in the order written, and say so when read in another order", async () => {
    const { artifactStore, root } = stores();
    const writer = createArtifactWriter(artifactStore, "runs/r2/multi/model");
    await writer.write("weights.bin", Buffer.alloc(1000, 7));
    await writer.write("meta.json", '{"layers":3}');
    const record = {
      id: "a2",
      runId: "r2",
      stepId: "multi",
      output: "model",
      uri: writer.uri,
      materializer: "x",
      dataType: "x",
      size: writer.size,
      sha256: writer.digest(),
      created: "",
    };
    const inOrder = createArtifactReader(artifactStore, writer.uri, record);
    await inOrder.readFile("weights.bin");
    expect((await inOrder.readFile("meta.json")).toString()).toBe('{"layers":3}');
    await inOrder.loaded();
    const reversed = createArtifactReader(artifactStore, writer.uri, record);
    await reversed.readFile("meta.json");
    await expect(reversed.readFile("weights.bin")).rejects.toThrow(
      /read in the order meta.json, weights.bin; a materializer must read its files in the order it wrote them/,
    );
    writeFileSync(join(root, "runs/r2/multi/model/meta.json"), '{"layers":9}');
    const tampered = createArtifactReader(artifactStore, writer.uri, record);
    await tampered.readFile("weights.bin");
    await expect(tampered.readFile("meta.json")).rejects.toThrow(/Artifact 'model' of step 'multi' in run r2 .* does not match its record: its sha256 is/);
  });
});

describe("symbolic links in the local artifact store", () => {
  it("never lets a read, write or removal leave the root through a link, and follows links inside it", async () => {
    const { artifactStore, root } = stores();
    const outside = tempDir();
    writeFileSync(join(outside, "secret.txt"), "secret");
    symlinkSync(outside, join(root, "linked-dir"));
    symlinkSync(join(outside, "secret.txt"), join(root, "linked-file"));
    await expect(artifactStore.readFile("linked-file")).rejects.toThrow(/'linked-file' leads out of artifact store 'default'/);
    await expect(artifactStore.readFile("linked-dir/secret.txt")).rejects.toThrow(/leads out of artifact store/);
    await expect(artifactStore.createReadStream("linked-dir/secret.txt")).rejects.toThrow(/leads out of artifact store/);
    await expect(artifactStore.writeFile("linked-dir/planted.txt", "x")).rejects.toThrow(/leads out of artifact store/);
    await expect(artifactStore.writeFile("linked-dir/new/deeper.txt", "x")).rejects.toThrow(/leads out of artifact store/);
    await expect(artifactStore.rmtree("linked-dir")).rejects.toThrow(/leads out of artifact store/);
    await expect(artifactStore.list("linked-dir")).rejects.toThrow(/leads out of artifact store/);
    expect(() => artifactStore.localPath("linked-dir/secret.txt")).toThrow(/leads out of artifact store/);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("secret");
    expect(existsSync(join(outside, "planted.txt"))).toBe(false);
    expect(existsSync(join(outside, "new"))).toBe(false);
    // Links that stay inside the root still work.
    mkdirSync(join(root, "real"));
    writeFileSync(join(root, "real", "a.txt"), "inside");
    symlinkSync(join(root, "real"), join(root, "alias"));
    expect((await artifactStore.readFile("alias/a.txt")).toString()).toBe("inside");
    await artifactStore.writeFile("alias/b.txt", "written");
    expect(readFileSync(join(root, "real", "b.txt"), "utf8")).toBe("written");
  });
});
