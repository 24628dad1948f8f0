#!/usr/bin/env node
// Kept outside dist/ so that npm links the command at install time, before a build.
import "../dist/bin.js";
