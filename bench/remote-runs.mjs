// Runs every teammate sees: `stackyard runs list` in a fresh project whose
// stack shares a Step Functions orchestrator and an S3 artifact store (both on
// moto) with 1,000 executions of a deployment's state machine that other
// machines started. The first listing imports them all (ListExecutions, one
// DescribeExecution per new execution, the snapshot read once, the newest
// runs' step records looked for); the second finds nothing changed (one page
// of ListExecutions). Wall time of the whole `stackyard` process, as a user
// waits for it.
//
//   npx tsx bench/remote-runs.mjs [executions] [rounds]   default 1000, 3 (after npm run build)
//
// The executions are started on moto, which keeps them RUNNING without
// executing anything; no step record exists for them, so each run is shown
// from its execution alone. Prints a Markdown table on stdout.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { ensureMoto } from "../tools/src/engines/moto.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "packages/cli/dist/bin.js");
const EXECUTIONS = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 3);
const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const credentials = { accessKeyId: "AKIABENCHMARK0000001", secretAccessKey: "bench-secret" };
const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_REGION: REGION,
  STACKYARD_STORE: "",
  STACKYARD_STACK: "",
  FORCE_COLOR: "0",
};
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

function stackyard(cwd, args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`stackyard ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return { ms, stdout: result.stdout, stderr: result.stderr };
}

function findFile(dir, test) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const found = findFile(path, test);
      if (found) return found;
    } else if (test(path)) return path;
  }
  return undefined;
}

mkdirSync(join(root, ".test-tmp"), { recursive: true });
const work = mkdtempSync(join(root, ".test-tmp", "bench-remote-"));
const moto = await ensureMoto();
try {
  const endpoint = moto.endpoint;
  const bucket = "bench-remote-runs";
  const s3 = new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => {});

  // A real snapshot: a run of a one-step pipeline on the default stack, copied into the S3 store.
  const producer = join(work, "producer");
  mkdirSync(producer);
  cpSync(join(root, "bench/fixtures/chain.ts"), join(producer, "chain.ts"));
  stackyard(producer, ["init"]);
  stackyard(producer, ["run", "./chain.ts#single", "-q"]);
  const snapshotFile = findFile(join(producer, ".stackyard"), (p) => /snapshots\/[^/]+\.json$/.test(p));
  if (!snapshotFile) throw new Error("no snapshot written by the producer's run");
  const snapshotKey = `snapshots/${snapshotFile.split("/").pop()}`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: snapshotKey, Body: readFileSync(snapshotFile) }));
  s3.destroy();

  // The deployment's state machine and its executions, started as triggers and schedules start them.
  const sfn = new SFNClient({ region: REGION, endpoint, credentials });
  const machine = await sfn.send(
    new CreateStateMachineCommand({
      name: "stackyard-deployment-bench",
      definition: JSON.stringify({ StartAt: "s", States: { s: { Type: "Pass", End: true } } }),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/stackyard-state-machine`,
    }),
  );
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < EXECUTIONS; i = next++) {
        const input = {
          stackyard: {
            snapshot: `s3://${bucket}/${snapshotKey}`,
            run_name: `nightly-${String(i).padStart(4, "0")}`,
            deployment: "bench",
            deployment_version: 1,
            ...(i % 2 ? { schedule: "nightly" } : {}),
          },
        };
        await sfn.send(new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn, name: `run-${i}`, input: JSON.stringify(input) }));
      }
    }),
  );
  const startSeconds = (Date.now() - startedAt) / 1000;
  sfn.destroy();

  /** A teammate's fresh project with the same stack. */
  const teammate = (n) => {
    const dir = join(work, `teammate-${n}`);
    mkdirSync(dir);
    stackyard(dir, ["init"]);
    stackyard(dir, ["artifact-store", "register", "s3_store", "-f", "s3", `--path=s3://${bucket}`, `--endpoint_url=${endpoint}`, "--force_path_style=true"]);
    stackyard(dir, ["container-registry", "register", "ecr", "-f", "aws", `--uri=${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`]);
    stackyard(dir, [
      "orchestrator",
      "register",
      "sfn",
      "-f",
      "aws_step_functions",
      `--ecs_cluster_arn=arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/stackyard`,
      `--account_id=${ACCOUNT}`,
      `--region=${REGION}`,
      `--endpoint_url=${endpoint}`,
    ]);
    stackyard(dir, ["stack", "register", "aws_stack", "-o", "sfn", "-a", "s3_store", "-c", "ecr", "--set"]);
    return dir;
  };

  const first = [];
  const second = [];
  const local = [];
  let listed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const dir = teammate(round);
    const sync = stackyard(dir, ["runs", "list", "--json", "--limit", String(EXECUTIONS)]);
    if (sync.stderr.includes("Warning")) throw new Error(sync.stderr);
    listed = JSON.parse(sync.stdout).length;
    first.push(sync.ms);
    for (let i = 0; i < 3; i++) {
      const again = stackyard(dir, ["runs", "list"]);
      if (/Found|Warning/.test(again.stderr)) throw new Error(`the second listing changed something: ${again.stderr}`);
      second.push(again.ms);
      local.push(stackyard(dir, ["runs", "list", "--local"]).ms);
    }
  }
  if (listed !== EXECUTIONS) throw new Error(`listed ${listed} runs, expected ${EXECUTIONS}`);
  const row = (what, ms, target, met) => `| ${what} | ${ms.toFixed(0)} | ${target} | ${met ? "yes" : "no"} |`;
  const out = [
    `Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}; ${EXECUTIONS} executions started on moto in ${startSeconds.toFixed(1)} s; ${ROUNDS} fresh projects`,
    "",
    "| measure | median ms | target | met |",
    "|---|---|---|---|",
    row(`First \`runs list\` in a fresh project: imports ${EXECUTIONS} runs (whole process)`, median(first), "< 5000", median(first) < 5000),
    row("Second `runs list`, nothing changed (whole process)", median(second), "< 300", median(second) < 300),
    row("`runs list --local` (whole process, for comparison)", median(local), "", true),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
} finally {
  await moto.stop();
  rmSync(work, { recursive: true, force: true });
}
