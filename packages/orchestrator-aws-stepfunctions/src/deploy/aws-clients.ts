import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ECSClient } from "@aws-sdk/client-ecs";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SFNClient } from "@aws-sdk/client-sfn";
import { connectAws, resolveRegion } from "@stackyard/aws-common";
import { ConfigError, type ServiceConnector } from "@stackyard/core";
import type { StepFunctionsOrchestratorConfig } from "../index.js";

/** The AWS clients an orchestrator talks through, all for one region and endpoint. */
export interface AwsClients {
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly sfn: SFNClient;
  readonly ecs: ECSClient;
  readonly logs: CloudWatchLogsClient;
  /** EventBridge Scheduler (schedules of deployments). */
  readonly scheduler: SchedulerClient;
  /** Releases the clients' sockets. */
  destroy(): void;
}

/**
 * Builds the Step Functions, ECS, CloudWatch Logs and EventBridge Scheduler clients: credentials
 * from the connector (`connect("aws-generic")`) when there is one, else the
 * environment's; region and endpoint from the config, else the connector,
 * else AWS_REGION.
 */
export async function createAwsClients(
  config: Pick<StepFunctionsOrchestratorConfig, "region" | "endpoint_url">,
  connector: ServiceConnector | undefined,
  label: string,
): Promise<AwsClients> {
  const connected = await connectAws<SFNClient["config"]["credentials"]>(connector, "aws-generic");
  const region = resolveRegion([config.region, connected.region]);
  if (!region) {
    throw new ConfigError(`${label} has no region: set --region, attach an AWS connector with a region, or export AWS_REGION`);
  }
  const endpoint = config.endpoint_url ?? connected.endpoint;
  const base = { region, ...(endpoint ? { endpoint } : {}), ...(connected.credentials ? { credentials: connected.credentials } : {}) };
  const sfn = new SFNClient(base);
  const ecs = new ECSClient(base);
  const logs = new CloudWatchLogsClient(base);
  const scheduler = new SchedulerClient(base);
  return {
    region,
    endpoint,
    sfn,
    ecs,
    logs,
    scheduler,
    destroy() {
      sfn.destroy();
      ecs.destroy();
      logs.destroy();
      scheduler.destroy();
    },
  };
}
