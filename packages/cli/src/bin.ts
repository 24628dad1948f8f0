#!/usr/bin/env node
import { readFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
const { main } = await import("./cli/main.js");
const code = await main(process.argv, version);
// The command is done. Whatever it leaves behind (a stopped step's timer, an
// SDK's idle sockets, the TypeScript loader thread) must not keep the process
// alive, and tearing the heap down piece by piece only costs time: exit as soon
// as what was written to stdout and stderr has been handed to the OS.
process.exitCode = code;
process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
