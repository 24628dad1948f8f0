import { metadata } from "@stackyard/core";

/** The AWS console page of a Step Functions execution. */
export function executionConsoleUrl(region: string, executionArn: string): string {
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

/** The AWS console page of an ECS task (`arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`). */
export function ecsTaskConsoleUrl(region: string, taskArn: string): string {
  const [, cluster = "", id = ""] = /task\/([^/]+)\/([^/]+)$/.exec(taskArn) ?? [];
  return `https://${region}.console.aws.amazon.com/ecs/v2/clusters/${encodeURIComponent(cluster)}/tasks/${encodeURIComponent(id)}?region=${region}`;
}

/** CloudWatch's escaping of a log group or stream name inside its console URL. */
const cloudwatchEscape = (name: string): string => encodeURIComponent(encodeURIComponent(name)).replaceAll("%", "$");

/** The AWS console page of a CloudWatch log stream. */
export function logStreamConsoleUrl(region: string, group: string, stream: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${cloudwatchEscape(group)}/log-events/${cloudwatchEscape(stream)}`;
}

/** Run metadata linking a run to its execution in the console: `aws.execution`. */
export function executionLinks(region: string, executionArn: string) {
  return { "aws.execution": metadata.uri(executionConsoleUrl(region, executionArn)) };
}

/**
 * Step metadata linking a step to the ECS task of its last attempt and, when
 * the tasks log to CloudWatch, that task's log stream: `aws.ecs_task`, `aws.log_stream`.
 */
export function stepLinks(region: string, taskArn: string, logs?: { group: string; stream: string }) {
  return {
    "aws.ecs_task": metadata.uri(ecsTaskConsoleUrl(region, taskArn)),
    ...(logs ? { "aws.log_stream": metadata.uri(logStreamConsoleUrl(region, logs.group, logs.stream)) } : {}),
  };
}
