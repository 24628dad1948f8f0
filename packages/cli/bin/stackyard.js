#!/usr/bin/env node
// Kept outside dist/ so that npm links the command at install time, before a build.
import module from "node:module";

// Node 22.1 and later keep the compiled code of the modules a command loads
// between runs, so start-up does not parse them again; Node 20 has no such cache.
module.enableCompileCache?.();
await import("../dist/bin.js");
