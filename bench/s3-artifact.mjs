// A large artifact streamed through the S3 artifact store against moto, compared
// with a plain AWS SDK multipart Upload of the same bytes.
//
//   npx tsx bench/s3-artifact.mjs [MiB] [rounds]   default 1024 (1 GiB), 2 rounds (after npm run build:
//   the uploads run the built packages under plain node)
//
// Each upload runs in its own child process so that peak RSS (sampled from
// /proc/self/status VmHWM) belongs to that upload alone. Data is generated on the
// fly (never held whole in memory). Prints a Markdown table on stdout.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

// The SDK warns once per process on Node 20 that it will need Node 22 from 2027; that is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const MiB = 1024 * 1024;
const PART = Number(process.env.BENCH_PART_MIB ?? 8) * MiB;
// The store's default (multipart_concurrency), for both uploads.
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const ROUNDS = Number(process.argv[3] ?? 2);

function* chunks(total, size = MiB) {
  const block = Buffer.alloc(size);
  for (let i = 0; i < size; i++) block[i] = (i * 131 + 7) & 0xff;
  for (let done = 0; done < total; done += size) yield total - done >= size ? block : block.subarray(0, total - done);
}

const peakRssMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024;

async function child(mode, endpoint, bytes) {
  const { S3Client, HeadObjectCommand, DeleteObjectCommand } = await import("@aws-sdk/client-s3");
  if (mode.startsWith("baseline")) {
    // What an upload process holds before any byte moves: Node, tsx, the SDK (and for the store, zod, core and its code).
    await import("@aws-sdk/lib-storage");
    if (mode === "baseline-store") await import("../packages/artifact-store-s3/dist/implementation.js");
    new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials: { accessKeyId: "AKIABENCHMARK0000001", secretAccessKey: "x" } });
    process.stdout.write(JSON.stringify({ seconds: 0, peakRssMiB: peakRssMiB() }));
    return;
  }
  const credentials = { accessKeyId: "AKIABENCHMARK0000001", secretAccessKey: "bench-secret" };
  const region = "us-east-1";
  const key = `bench-${mode}.bin`;
  const started = process.hrtime.bigint();
  if (mode === "sdk") {
    const { Upload } = await import("@aws-sdk/lib-storage");
    const client = new S3Client({ region, endpoint, forcePathStyle: true, credentials });
    await new Upload({ client, params: { Bucket: "bench", Key: key, Body: Readable.from(chunks(bytes)) }, partSize: PART, queueSize: CONCURRENCY }).done();
  } else {
    const { S3ArtifactStore } = await import("../packages/artifact-store-s3/dist/implementation.js");
    const store = new S3ArtifactStore({
      id: "bench",
      name: "bench",
      flavor: "s3",
      sourceRoot: process.cwd(),
      config: {
        path: "s3://bench",
        region,
        endpoint_url: endpoint,
        access_key_id: credentials.accessKeyId,
        secret_access_key: credentials.secretAccessKey,
        multipart_part_size: PART,
        multipart_concurrency: CONCURRENCY,
      },
    });
    await store.writeFile(key, Readable.from(chunks(bytes)));
    await store.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const client = new S3Client({ region, endpoint, forcePathStyle: true, credentials });
  const head = await client.send(new HeadObjectCommand({ Bucket: "bench", Key: key }));
  if (head.ContentLength !== bytes) throw new Error(`stored ${head.ContentLength} bytes, expected ${bytes}`);
  await client.send(new DeleteObjectCommand({ Bucket: "bench", Key: key })); // keep moto small between runs
  process.stdout.write(JSON.stringify({ seconds, peakRssMiB: peakRssMiB() }));
}

async function main() {
  const mib = Number(process.argv[2] ?? 1024);
  const bytes = mib * MiB;
  const { ensureMoto } = await import("../tools/src/engines/moto.ts");
  const { S3Client, CreateBucketCommand } = await import("@aws-sdk/client-s3");
  const moto = await ensureMoto();
  try {
    const s3 = new S3Client({
      region: "us-east-1",
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "AKIABENCHMARK0000001", secretAccessKey: "x" },
    });
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    const run = (mode) => {
      process.stderr.write(`uploading ${mib} MiB with ${mode}...\n`);
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", mode, moto.endpoint, String(bytes)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        // moto has been seen to stall a request for good; better a failed run than a hung benchmark.
        timeout: 900_000,
      });
      if (r.status !== 0) throw new Error(`${mode} upload failed (${r.error?.message ?? `exit ${r.status}`})`);
      const result = JSON.parse(r.stdout);
      process.stderr.write(`  ${mode}: ${result.seconds.toFixed(1)} s, peak RSS ${result.peakRssMiB.toFixed(0)} MiB\n`);
      return result;
    };
    const baselineSdk = run("baseline-sdk");
    const baselineStore = run("baseline-store");
    // Interleaved, twice each, to even out moto warming up; the faster run of each counts.
    const runs = { sdk: [], store: [] };
    for (let i = 0; i < ROUNDS; i++) for (const mode of ["sdk", "store"]) runs[mode].push(run(mode));
    const best = (list) => list.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const sdk = best(runs.sdk);
    const store = best(runs.store);
    const mbps = (r) => bytes / MiB / r.seconds;
    console.log(
      `${mib} MiB artifact, streamed from a generator, ${PART / MiB} MiB parts, ${CONCURRENCY} in flight, against moto on 127.0.0.1 (Node ${process.version}).\n`,
    );
    console.log("| upload | time (s) | throughput (MiB/s) | peak RSS (MiB) | RSS after imports, no upload (MiB) | added by the upload (MiB) |");
    console.log("|---|---:|---:|---:|---:|---:|");
    const row = (name, r, base) =>
      `| ${name} | ${r.seconds.toFixed(1)} | ${mbps(r).toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${base.peakRssMiB.toFixed(0)} | ${(r.peakRssMiB - base.peakRssMiB).toFixed(0)} |`;
    console.log(row("plain SDK `Upload` (lib-storage)", sdk, baselineSdk));
    console.log(row("`S3ArtifactStore.writeFile`", store, baselineStore));
    console.log(
      `\nAll runs (s): SDK ${runs.sdk.map((r) => r.seconds.toFixed(1)).join(", ")}; store ${runs.store.map((r) => r.seconds.toFixed(1)).join(", ")}.`,
    );
    console.log(`\nStore / SDK throughput: ${(mbps(store) / mbps(sdk)).toFixed(2)}x (target >= 0.8x). Store peak RSS target: < 200 MiB.`);
  } finally {
    await moto.stop();
  }
}

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();
