// Runs every teammate sees: `stackyard runs list` in a fresh project whose
// stack shares a Step Functions orchestrator and an S3 artifact store (both on
// moto) with 1,000 executions of a deployment's state machine that other
// machines started (and 5 newer ones started by hand, which are never shown). The first listing records them all from ListExecutions
// and describes (DescribeExecution, 8 at once) only the page it shows (the
// command's default 50), reading the snapshot once and those runs' step
// records; listing all 1,000 then describes the rest; an unchanged listing
// makes one ListStateMachines and one ListExecutions page. Wall time of the
// whole `stackyard` process, as a user waits for it.
//
//   npx tsx bench/remote-runs.mjs [executions] [rounds]   default 1000, 3 (after npm run build)
//   BENCH_FIRST_TIMEOUT_MS=30000 npx tsx bench/remote-runs.mjs   a larger time bound for each look on a loaded machine
//
// The executions are started on moto, which keeps them RUNNING without
// executing anything; no step record exists for them, so each run is shown
// from its execution alone. Prints a Markdown table on stdout.
import { spawn } from "node:child_process";
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
/** Executions of the same state machine not started by Stackyard (no `stackyard` input). */
const FOREIGN = 5;
// The time bound of the first sync's looks (BENCH_FIRST_TIMEOUT_MS; default the CLI's 5 s). On a loaded
// machine a larger bound lets one look import everything, and the table says how long it took.
const FIRST_TIMEOUT_MS = process.env.BENCH_FIRST_TIMEOUT_MS ?? "5000";
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

/**
 * Runs the built CLI without blocking this process: moto's log is a pipe this
 * process drains, and moto stalls once it is full (so never spawnSync here).
 */
async function stackyard(cwd, args, extraEnv = {}) {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
  const code = await new Promise((resolve) => child.on("close", resolve));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) throw new Error(`stackyard ${args.join(" ")} exited ${code}: ${stderr}`);
  return { ms, stdout, stderr };
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
  await stackyard(producer, ["init"]);
  await stackyard(producer, ["run", "./chain.ts#single", "-q"]);
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
  // The newest executions of the machine were started from the console, not by Stackyard: never shown.
  for (let i = 0; i < FOREIGN; i++) {
    await sfn.send(new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn, name: `console-${i}`, input: JSON.stringify({ by: "hand" }) }));
  }
  sfn.destroy();

  /** A teammate's fresh project with the same stack. */
  const teammate = async (n) => {
    const dir = join(work, `teammate-${n}`);
    mkdirSync(dir);
    await stackyard(dir, ["init"]);
    await stackyard(dir, [
      "artifact-store",
      "register",
      "s3_store",
      "-f",
      "s3",
      `--path=s3://${bucket}`,
      `--endpoint_url=${endpoint}`,
      "--force_path_style=true",
    ]);
    await stackyard(dir, ["container-registry", "register", "ecr", "-f", "aws", `--uri=${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`]);
    await stackyard(dir, [
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
    await stackyard(dir, ["stack", "register", "aws_stack", "-o", "sfn", "-a", "s3_store", "-c", "ecr", "--set"]);
    return dir;
  };

  /** `runs list` with `args` until a look is not cut short by its time bound: the looks' whole-process times summed, and the last look's output. */
  const untilComplete = async (dir, args) => {
    let total = 0;
    let found = 0;
    for (let look = 1; ; look++) {
      const sync = await stackyard(dir, ["runs", "list", "--json", ...args], { STACKYARD_REMOTE_TIMEOUT_MS: FIRST_TIMEOUT_MS });
      if (/^Warning: /m.test(sync.stderr)) throw new Error(`runs list ${args.join(" ")}: ${sync.stderr}`);
      total += sync.ms;
      found += Number(/Found (\d+) new run/.exec(sync.stderr)?.[1] ?? 0);
      if (!/in time/.test(sync.stderr)) return { ms: total, looks: look, found, listed: JSON.parse(sync.stdout) };
      if (look === 20) throw new Error(`still not complete after 20 looks (${found} found)`);
    }
  };

  const first = [];
  const looks = [];
  const all = [];
  const allLooks = [];
  const second = [];
  const local = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dir = await teammate(round);
    // The first sync, as a user runs it: the default page of 50.
    const sync = await untilComplete(dir, []);
    if (sync.found !== EXECUTIONS) throw new Error(`the first listing found ${sync.found} runs, expected ${EXECUTIONS}`);
    if (sync.listed.length !== Math.min(50, EXECUTIONS)) throw new Error(`the first listing showed ${sync.listed.length} runs`);
    if (sync.listed.length && !sync.listed.every((r) => r.name.startsWith("nightly-") && r.deployment === "bench" && r.deploymentVersion === 1 && r.imported)) {
      throw new Error(`the first listing shows runs without their details: ${JSON.stringify(sync.listed[0])}`);
    }
    first.push(sync.ms);
    looks.push(sync.looks);
    // Every run shown: the other 950 are described now.
    const every = await untilComplete(dir, ["--limit", String(EXECUTIONS)]);
    if (every.listed.length !== EXECUTIONS || !every.listed.every((r) => r.name.startsWith("nightly-")))
      throw new Error(`listing all showed ${every.listed.length} runs, expected ${EXECUTIONS}`);
    all.push(every.ms);
    allLooks.push(every.looks);
    for (let i = 0; i < 3; i++) {
      const again = await stackyard(dir, ["runs", "list"]);
      if (/Found|Warning|in time/.test(again.stderr)) throw new Error(`the second listing changed something: ${again.stderr}`);
      second.push(again.ms);
      local.push((await stackyard(dir, ["runs", "list", "--local"])).ms);
    }
  }

  // The look-up alone, in this process (no process start, no module loading): what the orchestrator's listRuns costs.
  const { describeRemoteRuns, listRemoteRuns, StepFunctionsExecutionBackend } = await import(
    "../packages/orchestrator-aws-stepfunctions/dist/implementation.js"
  );
  const { ListStateMachinesCommand } = await import("@aws-sdk/client-sfn");
  const client = new SFNClient({ region: REGION, endpoint, credentials });
  const backend = new StepFunctionsExecutionBackend(client);
  const source = {
    backend,
    async listStateMachines(nextToken) {
      const page = await client.send(new ListStateMachinesCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
      return { stateMachines: page.stateMachines.map((m) => ({ name: m.name, stateMachineArn: m.stateMachineArn })), nextToken: page.nextToken };
    },
  };
  const lookFirst = [];
  const lookAgain = [];
  const describePage = [];
  const describeAll = [];
  let knownRuns = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    let t = process.hrtime.bigint();
    const runs = await listRemoteRuns(source, { known: () => undefined }, { prefix: "stackyard-" });
    lookFirst.push(Number(process.hrtime.bigint() - t) / 1e6);
    knownRuns = new Map(runs.map((r) => [r.orchestratorRunId, r.status]));
    t = process.hrtime.bigint();
    const again = await listRemoteRuns(source, { known: (arn) => knownRuns.get(arn) }, { prefix: "stackyard-" });
    lookAgain.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (again.length) throw new Error("the second look found changes");
    const arns = runs.map((r) => r.orchestratorRunId);
    t = process.hrtime.bigint();
    await describeRemoteRuns(backend, arns.slice(0, 50));
    describePage.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    const described = await describeRemoteRuns(backend, arns);
    describeAll.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (described.size !== EXECUTIONS + FOREIGN) throw new Error(`described ${described.size} runs`);
  }
  client.destroy();
  const row = (what, ms, target, met) => `| ${what} | ${ms.toFixed(0)} | ${target} | ${met ? "yes" : "no"} |`;
  const out = [
    `Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}; ${EXECUTIONS} executions started on moto in ${startSeconds.toFixed(1)} s${FOREIGN ? ` (and ${FOREIGN} not by Stackyard)` : ""}; ${ROUNDS} fresh projects; first sync's time bound ${FIRST_TIMEOUT_MS} ms`,
    "",
    "| measure | median ms | target | met |",
    "|---|---|---|---|",
    row(
      `First sync in a fresh project: \`runs list\` records all ${EXECUTIONS} runs, shows the newest 50 (whole processes; looks: ${looks.join(", ")})`,
      median(first),
      "< 5000",
      median(first) < 5000,
    ),
    row(`Then \`runs list --limit ${EXECUTIONS}\`: the other runs described and shown (whole processes; looks: ${allLooks.join(", ")})`, median(all), "", true),
    row("Second `runs list`, nothing changed (whole process)", median(second), "< 300", median(second) < 300),
    row("`runs list --local` (whole process, for comparison)", median(local), "", true),
    row(`listRuns alone, first look: ListStateMachines + ListExecutions of ${EXECUTIONS} (in process)`, median(lookFirst), "", true),
    row("describeRemoteRuns of the newest 50, 8 at once (in process)", median(describePage), "", true),
    row(`describeRemoteRuns of all ${EXECUTIONS}, 8 at once (in process)`, median(describeAll), "", true),
    row("listRuns alone, nothing changed: ListStateMachines + one ListExecutions page (in process)", median(lookAgain), "< 300", median(lookAgain) < 300),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
} finally {
  await moto.stop();
  rmSync(work, { recursive: true, force: true });
}
