import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { ConfigError, isPipeline } from "@stackyard/core";
import { loadSource } from "../../source/load-source.js";
import { findSourceRoot } from "../../store/project.js";
import { info, printDetails, printJson, printTable } from "../output.js";
import { parseParamPairs } from "../params.js";
import { quoteInput } from "../quote-input.js";
import { withProject } from "../with-project.js";
import { sourcePathFromArgument } from "./run.js";

/** `NAME` or `NAME:VERSION` (a whole number from 1), as artifacts are named. */
function parseDeploymentRef(ref: string): { name: string; version?: number } {
  const colon = ref.lastIndexOf(":");
  if (colon < 0) return { name: ref };
  const raw = ref.slice(colon + 1);
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new ConfigError(`Invalid deployment version ${quoteInput(raw)} in ${quoteInput(ref)}: expected NAME:VERSION with a whole number from 1`);
  }
  return { name: ref.slice(0, colon), version: Number(raw) };
}

/** `stackyard pipeline deploy SOURCE [-c config.yaml] [--name NAME] [--stack S] [-p k=v ...]`. */
export async function deployCommand(
  source: string,
  opts: { config?: string; name?: string; stack?: string; param?: string[]; tag?: string[]; cache?: boolean },
) {
  const sourceRoot = findSourceRoot();
  if (!sourceRoot)
    throw new ConfigError(`No Stackyard project in ${process.cwd()} or any folder above it`, { hint: "Run `stackyard init` in your project's root folder." });
  const sourcePath = sourcePathFromArgument(source, sourceRoot);
  const parameters = parseParamPairs(opts.param);
  await withProject(async (project) => {
    const { loadStack } = await import("../../client/load-stack.js");
    // The stack's implementations load before the pipeline's TypeScript (see `run`).
    const loaded = await loadStack(project, opts.stack ?? project.config.activeStackName());
    const pipeline = await loadSource(sourcePath, sourceRoot);
    if (!isPipeline(pipeline)) throw new ConfigError(`'${sourcePath}' is not a pipeline: export one made with pipeline() from @stackyard/core`);
    const { deployPipelineInProject } = await import("../../client/deployments.js");
    const deployment = await deployPipelineInProject(
      project,
      pipeline,
      {
        source: sourcePath,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.stack !== undefined ? { stack: opts.stack } : {}),
        ...(opts.config ? { config: resolve(opts.config) } : {}),
        ...(Object.keys(parameters).length ? { parameters } : {}),
        ...(opts.tag?.length ? { tags: opts.tag } : {}),
        ...(opts.cache === false ? { enableCache: false } : {}),
      },
      loaded,
    );
    info(
      `Deployed pipeline '${deployment.pipeline}' as deployment '${deployment.name}' version ${deployment.version} on stack '${deployment.stack}' (snapshot ${deployment.snapshotId}).`,
    );
    info(`Start a run of it: stackyard deployment trigger ${deployment.name} [-p name=value ...]`);
  });
}

export async function listDeploymentsCommand(opts: { json?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const { listDeployments } = await import("../../client/deployments.js");
    const all = listDeployments(project);
    const newest = all.filter((d, i) => i === 0 || all[i - 1]!.name !== d.name).map((d) => ({ ...d, versions: all.filter((v) => v.name === d.name).length }));
    if (opts.json) printJson(newest);
    else
      printTable(
        newest.map((d) => ({ name: d.name, version: d.version, pipeline: d.pipeline, stack: d.stack, created: d.created })),
        ["name", "version", "pipeline", "stack", "created"],
        "No deployments yet: stackyard pipeline deploy SOURCE",
      );
  });
}

export async function describeDeploymentCommand(ref: string, opts: { json?: boolean }): Promise<void> {
  const { name, version } = parseDeploymentRef(ref);
  await withProject(async (project) => {
    const { getDeployment, listDeployments } = await import("../../client/deployments.js");
    const { SqliteRunStore } = await import("../../store/sqlite-run-store.js");
    const deployment = getDeployment(project, name, version);
    const versions = listDeployments(project).filter((d) => d.name === name);
    const store = new SqliteRunStore(project.db);
    const snapshot = await store.getSnapshot(deployment.snapshotId);
    const runs = (await store.listRuns({ limit: 10_000 })).filter((r) => r.deployment === name);
    if (opts.json) {
      printJson({ ...deployment, parameters: snapshot?.pipeline.parameters ?? {}, versions, runs });
      return;
    }
    printDetails({
      name: deployment.name,
      version: deployment.version,
      pipeline: deployment.pipeline,
      source: snapshot?.pipeline.source ?? "",
      stack: deployment.stack,
      orchestrator: deployment.orchestrator,
      snapshot: deployment.snapshotId,
      created: deployment.created,
      parameters: JSON.stringify(snapshot?.pipeline.parameters ?? {}),
    });
    process.stdout.write("\nVersions:\n");
    printTable(
      versions.map((v) => ({ version: v.version, snapshot: v.snapshotId.slice(0, 8), stack: v.stack, created: v.created })),
      ["version", "snapshot", "stack", "created"],
    );
    process.stdout.write("\nRuns:\n");
    printTable(
      runs.slice(0, 20).map((r) => ({ name: r.name, version: r.deploymentVersion ?? "", status: r.status, started: r.started ?? r.created })),
      ["name", "version", "status", "started"],
      "  (none yet)",
    );
  });
}

/** `stackyard deployment trigger NAME[:VERSION] [-p name=value ...] [--run-name N]`. */
export async function triggerCommand(ref: string, opts: { param?: string[]; runName?: string; quiet?: boolean }): Promise<void> {
  const parameters = parseParamPairs(opts.param);
  const { name, version } = parseDeploymentRef(ref);
  if (opts.runName !== undefined && !opts.runName.trim()) throw new ConfigError("Invalid --run-name '': a run name cannot be empty");
  await withProject(async (project) => {
    const { triggerDeploymentInProject } = await import("../../client/deployments.js");
    await triggerDeploymentInProject(project, name, {
      parameters,
      ...(opts.runName !== undefined ? { runName: opts.runName } : {}),
      ...(version !== undefined ? { version } : {}),
      ...(opts.quiet ? { quiet: true } : {}),
    });
  });
}

/** `stackyard deployment delete NAME [--yes]`: asks first on a terminal; elsewhere needs --yes. */
export async function deleteDeploymentCommand(name: string, opts: { yes?: boolean }): Promise<void> {
  await withProject(async (project) => {
    const { deleteDeploymentInProject, getDeployment, listDeployments } = await import("../../client/deployments.js");
    getDeployment(project, name);
    const count = listDeployments(project).filter((d) => d.name === name).length;
    if (!opts.yes) {
      if (!process.stdin.isTTY) {
        throw new ConfigError(`Deleting deployment '${name}' (${count} version${count === 1 ? "" : "s"}) needs confirmation`, {
          hint: `Run it on a terminal to be asked, or add --yes: stackyard deployment delete ${name} --yes`,
        });
      }
      const prompt = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await prompt.question(`Delete deployment '${name}' and its ${count} version${count === 1 ? "" : "s"}? Its runs are kept. [y/N] `);
      prompt.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        info("Nothing deleted.");
        return;
      }
    }
    await deleteDeploymentInProject(project, name);
    info(`Deleted deployment '${name}' (${count} version${count === 1 ? "" : "s"}); its runs are kept.`);
  });
}
