import type { RunEvents } from "@stackyard/core";
import {
  applyRunParameters,
  asDeployable,
  asScheduling,
  type CompileOptions,
  checkMapSupport,
  type DeploymentRef,
  isPipeline,
  type Pipeline,
  type RunResult,
  storeSnapshot,
} from "@stackyard/core";
import { ConfigError, NotFoundError } from "@stackyard/core/errors";
import { loadSource } from "../source/load-source.js";
import { checkStoreWritable } from "../store/lock-wait.js";
import type { Project } from "../store/open-project.js";
import { SqliteRunStore } from "../store/sqlite-run-store.js";
import { type LoadedStack, loadStack } from "./load-stack.js";
import { compileInProject, driveInProject } from "./run-pipeline.js";

/** One version of a deployment: a stored snapshot, on a stack, and what its orchestrator made for it. */
export interface DeploymentRecord {
  name: string;
  version: number;
  snapshotId: string;
  snapshotUri: string;
  pipeline: string;
  stack: string;
  orchestrator: string;
  created: string;
  /** What the orchestrator created for it (none on local and docker stacks: the stored snapshot is the deployment). */
  details?: Record<string, unknown>;
}

const DEPLOYMENT_NAME = /^[A-Za-z_][\w.-]{0,127}$/;

type Row = Record<string, unknown>;
function toDeployment(row: Row): DeploymentRecord {
  return {
    name: row.name as string,
    version: row.version as number,
    snapshotId: row.snapshot_id as string,
    snapshotUri: row.snapshot_uri as string,
    pipeline: row.pipeline as string,
    stack: row.stack as string,
    orchestrator: row.orchestrator as string,
    created: row.created as string,
    ...(typeof row.details === "string" && row.details ? { details: JSON.parse(row.details) as Record<string, unknown> } : {}),
  };
}

/** The deployments of a project's store: every version, newest first per name. */
export function listDeployments(project: Project): DeploymentRecord[] {
  return (project.db.prepare("SELECT * FROM deployments ORDER BY name, version DESC").all() as Row[]).map(toDeployment);
}

/**
 * A deployment's version (default: its newest).
 *
 * @throws NotFoundError naming the deployment (and version), with the names there are.
 */
export function getDeployment(project: Project, name: string, version?: number): DeploymentRecord {
  const row =
    version === undefined
      ? (project.db.prepare("SELECT * FROM deployments WHERE name = ? ORDER BY version DESC LIMIT 1").get(name) as Row | undefined)
      : (project.db.prepare("SELECT * FROM deployments WHERE name = ? AND version = ?").get(name, version) as Row | undefined);
  if (row) return toDeployment(row);
  const names = [...new Set(listDeployments(project).map((d) => d.name))];
  if (version !== undefined && names.includes(name))
    throw new NotFoundError(`Deployment '${name}' has no version ${version}`, { hint: `See its versions: stackyard deployment describe ${name}` });
  throw new NotFoundError(`No deployment '${name}'`, {
    hint: names.length ? `Deployments: ${names.join(", ")}` : "Deploy a pipeline first: stackyard pipeline deploy ./pipelines/x.ts#pipeline",
  });
}

/** Options of {@link deployPipelineInProject}. */
export interface DeployOptions extends Pick<CompileOptions, "config" | "parameters" | "tags" | "enableCache"> {
  /** Deployment name (default: the pipeline's name). */
  name?: string;
  /** Deploy for this stack instead of the active one. */
  stack?: string;
  /** The pipeline's source path, when the caller knows it. */
  source?: string;
  /** Where the orchestrator's deploy reports progress (default: stderr). */
  events?: RunEvents;
}

/** Progress of a deploy on stderr (the image build, task definitions, the state machine). */
function consoleEvents(): RunEvents {
  const line = (text: string) => process.stderr.write(`${text}\n`);
  return { stepStatus: () => {}, stepLog: () => {}, info: line, warn: (text) => line(`Warning: ${text}`) };
}

/** A deployment version as its orchestrator is given it. */
export function deploymentRef(record: DeploymentRecord): DeploymentRef {
  return { name: record.name, version: record.version, ...(record.details ? { details: record.details } : {}) };
}

/**
 * Deploys a pipeline: compiles one snapshot for the stack, stores it (store
 * and artifact store), lets the stack's orchestrator create what later runs
 * need, and records version N+1 of the deployment, also as
 * `deployments/<name>/<version>.json` in the artifact store, where teammates
 * whose stack shares it find it. The deployment's schedules move to the new
 * version (see `moveSchedulesToVersion`).
 */
export async function deployPipelineInProject(
  project: Project,
  pipeline: Pipeline,
  options: DeployOptions = {},
  loaded?: LoadedStack,
): Promise<DeploymentRecord> {
  const name = options.name ?? pipeline.name;
  if (!DEPLOYMENT_NAME.test(name)) {
    throw new ConfigError(`Invalid deployment name ${JSON.stringify(name)}: use letters, digits, '_', '-' or '.', starting with a letter or '_'`);
  }
  const stackName = loaded?.stack.name ?? options.stack ?? project.config.activeStackName();
  const { stack, components } = loaded ?? (await loadStack(project, stackName));
  const snapshot = await compileInProject(project, pipeline, components, options);
  checkMapSupport(snapshot, stack.orchestrator);
  checkStoreWritable(project.db);
  const snapshotUri = await storeSnapshot(snapshot, new SqliteRunStore(project.db), stack.artifactStore);
  const previous = project.db.prepare("SELECT MAX(version) AS v FROM deployments WHERE name = ?").get(name) as { v: number | null };
  const version = (previous.v ?? 0) + 1;
  // A deployable orchestrator creates what runs need where they run (Step Functions: image, task definitions, state machine).
  const deployable = asDeployable(stack.orchestrator);
  const details = deployable
    ? await deployable.deploy(snapshot, {
        deployment: { name, version },
        snapshotUri,
        stack,
        sourceRoot: project.paths.sourceRoot,
        events: options.events ?? consoleEvents(),
      })
    : undefined;
  const record: DeploymentRecord = {
    name,
    version,
    snapshotId: snapshot.id,
    snapshotUri,
    pipeline: snapshot.pipeline.name,
    stack: stackName,
    orchestrator: stack.orchestrator.name,
    created: new Date().toISOString(),
    ...(details ? { details } : {}),
  };
  await stack.artifactStore.writeFile(`deployments/${name}/${record.version}.json`, JSON.stringify(record, null, 2));
  project.db
    .prepare(
      "INSERT INTO deployments (name, version, snapshot_id, snapshot_uri, pipeline, stack, orchestrator, created, details) VALUES (@name, @version, @snapshotId, @snapshotUri, @pipeline, @stack, @orchestrator, @created, @details)",
    )
    .run({ ...record, details: details ? JSON.stringify(details) : null });
  // The state machine was updated in place: the deployment's schedules run the new version from now on.
  if (details && asScheduling(stack.orchestrator) && version > 1) {
    const { moveSchedulesToVersion } = await import("./schedules.js");
    await moveSchedulesToVersion(project, record, stack, options.events ?? consoleEvents());
  }
  return record;
}

/** Options of {@link triggerDeploymentInProject}. */
export interface TriggerOptions {
  /** Pipeline parameters over the deployment's; checked against the pipeline's schema before anything runs. */
  parameters?: Record<string, unknown>;
  runName?: string;
  /** A version of the deployment (default: the newest). */
  version?: number;
  quiet?: boolean;
}

/**
 * Starts a run of a deployment on its stack: its snapshot, with `parameters`
 * applied (see `applyRunParameters`); the run records the deployment and version.
 */
export async function triggerDeploymentInProject(project: Project, name: string, options: TriggerOptions = {}): Promise<RunResult> {
  const deployment = getDeployment(project, name, options.version);
  const store = new SqliteRunStore(project.db);
  const stored = await store.getSnapshot(deployment.snapshotId);
  if (!stored) throw new NotFoundError(`Deployment '${name}' version ${deployment.version} has no snapshot ${deployment.snapshotId} in this store`);
  const { stack } = await loadStack(project, deployment.stack);
  const pipeline = await loadSource(stored.pipeline.source, project.paths.sourceRoot);
  if (!isPipeline(pipeline)) throw new ConfigError(`'${stored.pipeline.source}' is no longer a pipeline: deployment '${name}' cannot be triggered`);
  const snapshot = applyRunParameters(stored, pipeline, options.parameters ?? {}, "the trigger's --param");
  return driveInProject(project, {
    pipeline,
    snapshot,
    stack,
    stackName: deployment.stack,
    quiet: options.quiet,
    ...(options.runName !== undefined ? { runName: options.runName } : {}),
    origin: { deployment: deployment.name, deploymentVersion: deployment.version },
    // A deployable orchestrator starts the run with what it deployed; others drive the stored snapshot from here.
    ...(deployment.details ? { deployment: deploymentRef(deployment) } : {}),
  });
}

/**
 * Deletes a deployment: what its orchestrator created for it (state
 * machine, schedules) and every version's record. Its snapshots and runs stay.
 */
export async function deleteDeploymentInProject(project: Project, name: string, events: RunEvents = consoleEvents()): Promise<number> {
  const newest = getDeployment(project, name);
  const versions = listDeployments(project).filter((d) => d.name === name);
  if (versions.some((v) => v.details)) {
    const { stack } = await loadStack(project, newest.stack);
    const context = { stack, events };
    // Its schedules first: they would fire at a state machine that is gone.
    const scheduling = asScheduling(stack.orchestrator);
    for (const schedule of scheduling ? await scheduling.listSchedules(context) : []) {
      if (schedule.deployment.name !== name) continue;
      await scheduling!.deleteSchedule(schedule.name, context);
      events.info(`Deleted schedule '${schedule.name}'`);
    }
    const deployable = asDeployable(stack.orchestrator);
    if (deployable) await deployable.undeploy(versions.map(deploymentRef), context);
  }
  return project.db.prepare("DELETE FROM deployments WHERE name = ?").run(name).changes;
}

/** A deployment as TypeScript sees it (`pipeline.deploy()`, `deployment(name)`): its newest version, and a way to start runs of it. */
export interface Deployment extends DeploymentRecord {
  /** Starts a run of this version of the deployment on its stack; see `stackyard deployment trigger`. */
  trigger(options?: Omit<TriggerOptions, "version">): Promise<RunResult>;
}

function withTrigger(record: DeploymentRecord, cwd: string | undefined): Deployment {
  return {
    ...record,
    trigger: (options = {}) => inProject(cwd, (project) => triggerDeploymentInProject(project, record.name, { ...options, version: record.version })),
  };
}

async function inProject<T>(cwd: string | undefined, work: (project: Project) => Promise<T>): Promise<T> {
  const { openProject } = await import("../store/open-project.js");
  const project = openProject(cwd ?? process.cwd());
  try {
    return await work(project);
  } finally {
    project.close();
  }
}

/**
 * Deploys a pipeline from TypeScript (what `pipeline.deploy()` calls): see
 * `stackyard pipeline deploy`. Resolves with the new version, which can be triggered.
 *
 * @example
 * ```ts
 * const nightly = await deployPipeline(trainingPipeline, { name: "nightly", parameters: { n_estimators: 100 } });
 * await nightly.trigger({ parameters: { test_size: 0.3 } });
 * ```
 */
export async function deployPipeline(pipeline: Pipeline, options: DeployOptions & { cwd?: string } = {}): Promise<Deployment> {
  const { cwd, ...rest } = options;
  return inProject(cwd, async (project) => withTrigger(await deployPipelineInProject(project, pipeline, rest), cwd));
}

/** A deployment of the project's store by name (its newest version, or `version`), to trigger from TypeScript. */
export async function deployment(name: string, options: { version?: number; cwd?: string } = {}): Promise<Deployment> {
  return inProject(options.cwd, async (project) => withTrigger(getDeployment(project, name, options.version), options.cwd));
}
