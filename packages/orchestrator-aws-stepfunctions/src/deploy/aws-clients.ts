import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { SchedulerClient } from "@aws-sdk/client-scheduler";
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

/** The clients besides Step Functions' that {@link createAwsClients} can make. */
export type AwsService = "ecs" | "logs" | "scheduler";

/** Every client: what a caller that does not say gets. */
export const ALL_AWS_SERVICES: readonly AwsService[] = ["ecs", "logs", "scheduler"];

/**
 * Builds the Step Functions client and those of `services` (ECS, CloudWatch
 * Logs, EventBridge Scheduler; default all), loading only their SDK
 * packages, so that listing runs loads the Step Functions client alone. A
 * client not asked for throws when used. Credentials
 * from the connector (`connect("aws-generic")`) when there is one, else the
 * environment's; region and endpoint from the config, else the connector,
 * else AWS_REGION.
 */
export async function createAwsClients(
  config: Pick<StepFunctionsOrchestratorConfig, "region" | "endpoint_url">,
  connector: ServiceConnector | undefined,
  label: string,
  services: readonly AwsService[] = ALL_AWS_SERVICES,
): Promise<AwsClients> {
  const connected = await connectAws<SFNClient["config"]["credentials"]>(connector, "aws-generic");
  const region = resolveRegion([config.region, connected.region]);
  if (!region) {
    throw new ConfigError(`${label} has no region: set --region, attach an AWS connector with a region, or export AWS_REGION`);
  }
  const endpoint = config.endpoint_url ?? connected.endpoint;
  const base = { region, ...(endpoint ? { endpoint } : {}), ...(connected.credentials ? { credentials: connected.credentials } : {}) };
  const sfn = new SFNClient(base);
  const [ecs, logs, scheduler] = await Promise.all([
    services.includes("ecs") ? import("@aws-sdk/client-ecs").then((m) => new m.ECSClient(base)) : undefined,
    services.includes("logs") ? import("@aws-sdk/client-cloudwatch-logs").then((m) => new m.CloudWatchLogsClient(base)) : undefined,
    services.includes("scheduler") ? import("@aws-sdk/client-scheduler").then((m) => new m.SchedulerClient(base)) : undefined,
  ]);
  const missing = (service: AwsService): never => {
    throw new Error(`The ${service} client was not made for this call (createAwsClients' services)`);
  };
  return {
    region,
    endpoint,
    sfn,
    get ecs() {
      return ecs ?? missing("ecs");
    },
    get logs() {
      return logs ?? missing("logs");
    },
    get scheduler() {
      return scheduler ?? missing("scheduler");
    },
    destroy() {
      sfn.destroy();
      ecs?.destroy();
      logs?.destroy();
      scheduler?.destroy();
    },
  };
}
