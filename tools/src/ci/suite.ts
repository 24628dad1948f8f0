/**
 * What `npm test` runs after the format check and the build: vitest under
 * this Node, with the other Nodes fetched and their SQLite drivers compiled
 * beside it (CPU the engine-bound test files leave idle while they wait on
 * Docker and moto), then the checks under the other Nodes, which find their
 * drivers ready. Exits with the first failure's code; the other Nodes are
 * checked only when vitest passed.
 *
 * Usage: `tsx tools/src/ci/suite.ts [vitest arguments]`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { root, run } from "./processes.js";

const otherNodes = join(root, "tools", "src", "ci", "other-nodes.ts");
const tsx = join(root, "node_modules", "tsx", "dist", "cli.mjs");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const node = (args: string[], logFile?: string) => run(process.execPath, args, logFile ? { logFile } : {});

const logs = join(root, ".test-engines", "other-nodes-logs");
mkdirSync(logs, { recursive: true });
const started = performance.now();
const prepared = node([tsx, otherNodes, "--prepare"], join(logs, "prepare.log"));
const tests = await node([vitest, "run", ...process.argv.slice(2)]);
const prepareCode = await prepared;
console.log(`\nOther Nodes prepared beside the suite (${prepareCode === 0 ? "ok" : "FAILED, see .test-engines/other-nodes-logs/prepare.log"}).`);
let code = tests;
if (code === 0) code = await node([tsx, otherNodes]);
console.log(
  `\nTest suite: ${code === 0 ? "passed" : "FAILED"} in ${((performance.now() - started) / 60_000).toFixed(1)} min (after the format check and the build).`,
);
process.exitCode = code;
