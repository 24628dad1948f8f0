import { isAbsolute, relative, resolve } from "node:path";
import { ConfigError, isPipeline, parseSourcePath } from "@stackyard/core";
import { loadStack } from "../../client/load-stack.js";
import { runPipelineInProject } from "../../client/run-pipeline.js";
import { loadSource } from "../../source/load-source.js";
import { findSourceRoot } from "../../store/project.js";
import { quoteInput } from "../quote-input.js";
import { withProject } from "../with-project.js";

interface RunCommandOptions {
  config?: string;
  runName?: string;
  stack?: string;
  cache?: boolean;
  param?: string[];
  tag?: string[];
  quiet?: boolean;
}

/** `stackyard run ./pipeline.ts#trainingPipeline --config configs/run.yaml`. */
export async function runCommand(source: string, opts: RunCommandOptions): Promise<void> {
  const sourceRoot = findSourceRoot();
  if (!sourceRoot)
    throw new ConfigError(`No Stackyard project in ${process.cwd()} or any folder above it`, { hint: "Run `stackyard init` in your project's root folder." });
  // A file path is given relative to where the user stands; source paths are relative to the source root.
  if (opts.runName !== undefined && !opts.runName.trim()) {
    throw new ConfigError("Invalid --run-name '': a run name cannot be empty", {
      hint: "Leave --run-name out for the default name, or give one such as my-run-{date}.",
    });
  }
  // Checked as typed, so that a message quotes the user's own words.
  parseSourcePath(source);
  const hash = source.lastIndexOf("#");
  let module = source.slice(0, hash);
  if (module.startsWith(".") || isAbsolute(module)) {
    const rel = relative(sourceRoot, resolve(module));
    module = rel.startsWith("..") ? resolve(module) : `./${rel}`;
  }
  const sourcePath = `${module}#${source.slice(hash + 1)}`;
  const parameters: Record<string, unknown> = {};
  for (const pair of opts.param ?? []) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new ConfigError(`Invalid --param ${quoteInput(pair)}: use --param name=value`);
    const raw = pair.slice(eq + 1);
    try {
      parameters[pair.slice(0, eq)] = JSON.parse(raw);
    } catch {
      parameters[pair.slice(0, eq)] = raw;
    }
  }
  await withProject(async (project) => {
    // Load the stack's implementations before the pipeline's TypeScript: once
    // the TypeScript hooks are registered every later import goes through them.
    const loaded = await loadStack(project, opts.stack ?? project.config.activeStackName());
    const pipeline = await loadSource(sourcePath, sourceRoot);
    if (!isPipeline(pipeline)) throw new ConfigError(`'${sourcePath}' is not a pipeline: export one made with pipeline() from @stackyard/core`);
    await runPipelineInProject(
      project,
      pipeline,
      {
        source: sourcePath,
        ...(opts.config ? { config: resolve(opts.config) } : {}),
        ...(opts.runName !== undefined ? { runName: opts.runName } : {}),
        ...(opts.cache === false ? { enableCache: false } : {}),
        ...(Object.keys(parameters).length ? { parameters } : {}),
        ...(opts.tag?.length ? { tags: opts.tag } : {}),
        ...(opts.quiet ? { quiet: true } : {}),
      },
      loaded,
    );
  });
}
