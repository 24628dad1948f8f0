import { ConfigError } from "@stackyard/core/errors";
import { withProject } from "../with-project.js";

interface ScheduleCreateOptions {
  deployment: string;
  cron?: string;
  every?: string;
  timezone?: string;
  start?: string;
  end?: string;
  param?: string[];
}

/**
 * `stackyard schedule create NAME --deployment D (--cron EXPR | --every DURATION)
 * [--timezone TZ] [--start ISO] [--end ISO] [-p key=value ...]`: every
 * input is checked (cron, time zone, interval, dates, the deployment and its
 * parameters) before the orchestrator is asked; an orchestrator that cannot
 * keep schedules is named, with nothing written.
 */
export async function createScheduleCommand(name: string, opts: ScheduleCreateOptions): Promise<void> {
  const { applyRunParameters, isPipeline, parseScheduleSpec } = await import("@stackyard/core");
  const { parseParamPairs } = await import("../params.js");
  if (!/^[A-Za-z_][\w.-]{0,63}$/.test(name)) throw new ConfigError(`Invalid schedule name ${JSON.stringify(name)}: use letters, digits, '_', '-' or '.'`);
  parseScheduleSpec(opts);
  const parameters = parseParamPairs(opts.param);
  await withProject(async (project) => {
    const { getDeployment } = await import("../../client/deployments.js");
    const { loadStack } = await import("../../client/load-stack.js");
    const { loadSource } = await import("../../source/load-source.js");
    const { SqliteRunStore } = await import("../../store/sqlite-run-store.js");
    const deployment = getDeployment(project, opts.deployment);
    const { stack } = await loadStack(project, deployment.stack);
    const snapshot = await new SqliteRunStore(project.db).getSnapshot(deployment.snapshotId);
    if (snapshot && Object.keys(parameters).length) {
      const pipeline = await loadSource(snapshot.pipeline.source, project.paths.sourceRoot);
      if (isPipeline(pipeline)) applyRunParameters(snapshot, pipeline, parameters, "the schedule's --param");
    }
    const orchestrator = stack.orchestrator;
    if (!orchestrator.capabilities.schedulable) {
      throw new ConfigError(
        `Orchestrator '${orchestrator.name}' (flavor ${orchestrator.flavor}) of stack '${deployment.stack}' cannot keep schedules: a schedule fires with no client running, so its orchestrator must start the runs itself (capabilities.schedulable)`,
        {
          hint: `Trigger deployment '${deployment.name}' from your own scheduler (cron, CI) with \`stackyard deployment trigger ${deployment.name}\`, or deploy it on a stack whose orchestrator flavor says 'runs can be scheduled' in \`stackyard orchestrator flavor describe\`.`,
        },
      );
    }
    throw new ConfigError(
      `Orchestrator '${orchestrator.name}' (flavor ${orchestrator.flavor}) says it can keep schedules, but this version of stackyard cannot create them yet`,
    );
  });
}
