#!/usr/bin/env node
import { readFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
const { main } = await import("./cli/main.js");
process.exitCode = await main(process.argv, version);
// The command is done. Whatever it leaves behind (a stopped step's timer, an
// SDK's idle sockets) must not keep the process alive; output is flushed first.
setTimeout(() => process.exit(), 250).unref();
