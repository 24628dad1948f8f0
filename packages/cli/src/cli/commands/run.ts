import { isAbsolute, relative, resolve } from "node:path";
import { ConfigError, isPipeline, parseSourcePath } from "@stackyard/core";
import { loadStack } from "../../client/load-stack.js";
import { runPipelineInProject } from "../../client/run-pipeline.js";
import { loadSource } from "../../source/load-source.js";
import { findSourceRoot } from "../../store/project.js";
import { parseParamPairs } from "../params.js";
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
  const sourcePath = sourcePathFromArgument(source, sourceRoot);
  const parameters = parseParamPairs(opts.param);
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

/**
 * A pipeline's source path as typed (`./pipelines/x.ts#p`, relative to where
 * the user stands) as a source path relative to the source root.
 *
 * @throws ConfigError (from the check) for a malformed source path, quoting it.
 */
export function sourcePathFromArgument(source: string, sourceRoot: string): string {
  // Checked as typed, so that a message quotes the user's own words.
  parseSourcePath(source);
  const hash = source.lastIndexOf("#");
  let module = source.slice(0, hash);
  if (module.startsWith(".") || isAbsolute(module)) {
    const rel = relative(sourceRoot, resolve(module));
    module = rel.startsWith("..") ? resolve(module) : `./${rel}`;
  }
  return `${module}#${source.slice(hash + 1)}`;
}
