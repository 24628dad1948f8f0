/**
 * A vitest reporter that lists the slowest test files at the end of a run,
 * so a CI log says where the time went without another tool.
 */
import { relative } from "node:path";
import type { Reporter, TestModule } from "vitest/node";

const COUNT = 10;

function fileSeconds(module: TestModule): number {
  const d = module.diagnostic();
  return (d.setupDuration + d.collectDuration + d.prepareDuration + d.duration) / 1000;
}

/** Prints the ten slowest files (setup, import and tests) with their project. */
export default class SlowestFiles implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (modules.length === 0) return;
    const rows = modules
      .map((m) => ({ file: relative(process.cwd(), m.moduleId), project: m.project.name, seconds: fileSeconds(m) }))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, COUNT);
    const lines = rows.map((r) => `  ${r.seconds.toFixed(1).padStart(7)} s  ${r.project ? `[${r.project}] ` : ""}${r.file}`);
    process.stdout.write(`\nSlowest ${rows.length} test files:\n${lines.join("\n")}\n`);
  }
}
