import type { ContainerDefinition, ECSClient, RegisterTaskDefinitionCommandInput, TaskDefinition } from "@aws-sdk/client-ecs";
import { awsErrorCode, isAwsNotFound } from "@stackyard/aws-common";
import { ConfigError } from "@stackyard/core";
import { shortHash } from "../compiler/index.js";

/** CPU units and MiB of a task definition. */
export interface TaskShape {
  cpu: number;
  memoryMiB: number;
}

/** Size of registered task definitions for steps that ask for no resources (a valid Fargate pair). */
export const DEFAULT_TASK_SHAPE: TaskShape = { cpu: 512, memoryMiB: 1024 };

/** Everything a registered task definition is made of. */
export interface TaskDefinitionSpec {
  family: string;
  image: string;
  shape: TaskShape;
  containerName: string;
  launchType: "FARGATE" | "EC2";
  /** awsvpc when subnets are given (always for Fargate). */
  awsvpc: boolean;
  executionRoleArn?: string | undefined;
  taskRoleArn?: string | undefined;
  /** awslogs driver settings, when a log group is configured. */
  logs?: { group: string; region: string; streamPrefix: string } | undefined;
}

/** The awslogs stream prefix of registered task definitions; streams are `<prefix>/<container>/<task id>`. */
export const LOG_STREAM_PREFIX = "stackyard";

/** A task definition family for a state machine and a shape: `<state machine>-<cpu>-<memory>` (ECS allows 255 characters). */
export function familyFor(stateMachineName: string, shape: TaskShape): string {
  const family = `${stateMachineName}-${shape.cpu}cpu-${shape.memoryMiB}mib`;
  return family.length <= 255 ? family : `${family.slice(0, 246)}-${shortHash(family)}`;
}

/** The RegisterTaskDefinition request for a spec. */
export function taskDefinitionRequest(spec: TaskDefinitionSpec): RegisterTaskDefinitionCommandInput {
  const container: ContainerDefinition = {
    name: spec.containerName,
    image: spec.image,
    essential: true,
    // ECS (and moto) want container memory when the task has none; it equals the task's here.
    memory: spec.shape.memoryMiB,
    ...(spec.logs
      ? {
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": spec.logs.group, "awslogs-region": spec.logs.region, "awslogs-stream-prefix": spec.logs.streamPrefix },
          },
        }
      : {}),
  };
  return {
    family: spec.family,
    containerDefinitions: [container],
    requiresCompatibilities: [spec.launchType],
    ...(spec.awsvpc ? { networkMode: "awsvpc" } : {}),
    cpu: String(spec.shape.cpu),
    memory: String(spec.shape.memoryMiB),
    ...(spec.executionRoleArn ? { executionRoleArn: spec.executionRoleArn } : {}),
    ...(spec.taskRoleArn ? { taskRoleArn: spec.taskRoleArn } : {}),
    tags: [{ key: "stackyard", value: "pipeline-step" }],
  };
}

/** The parts of a task definition that decide whether it can be reused, in one comparable string. */
function fingerprint(
  definition: Pick<
    TaskDefinition,
    "family" | "cpu" | "memory" | "executionRoleArn" | "taskRoleArn" | "networkMode" | "containerDefinitions" | "requiresCompatibilities"
  >,
): string {
  const c = definition.containerDefinitions?.[0];
  return JSON.stringify([
    definition.family,
    c?.name,
    c?.image,
    String(definition.cpu ?? ""),
    String(definition.memory ?? ""),
    definition.executionRoleArn ?? "",
    definition.taskRoleArn ?? "",
    definition.networkMode ?? "",
    [...(definition.requiresCompatibilities ?? [])].sort(),
    c?.logConfiguration?.logDriver ?? "",
    c?.logConfiguration?.options?.["awslogs-group"] ?? "",
    c?.logConfiguration?.options?.["awslogs-stream-prefix"] ?? "",
  ]);
}

/** ECS answers a DescribeTaskDefinition of an unknown family with a ClientException ("Unable to describe task definition"). */
const isNotFound = (error: unknown): boolean =>
  isAwsNotFound(error) ||
  awsErrorCode(error) === "ClientException" ||
  /unable to describe|not found|does not exist/i.test((error as Error | undefined)?.message ?? "");

/**
 * The ARN of a task definition matching `spec`: the family's latest
 * revision when it has the same image, size, roles, network mode and log
 * settings; otherwise a newly registered revision.
 */
export async function ensureTaskDefinition(ecs: ECSClient, spec: TaskDefinitionSpec): Promise<{ arn: string; registered: boolean }> {
  if (spec.launchType === "FARGATE" && !spec.awsvpc) {
    throw new ConfigError("Fargate task definitions need the awsvpc network mode: set subnet_ids on the orchestrator");
  }
  const wanted = taskDefinitionRequest(spec);
  // The ECS SDK loads when a task definition is first needed, not with the orchestrator.
  const { DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand } = await import("@aws-sdk/client-ecs");
  let current: TaskDefinition | undefined;
  try {
    current = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: spec.family }))).taskDefinition;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (current?.taskDefinitionArn && current.status !== "INACTIVE" && fingerprint(current) === fingerprint(wanted as TaskDefinition)) {
    return { arn: current.taskDefinitionArn, registered: false };
  }
  const registered = await ecs.send(new RegisterTaskDefinitionCommand(wanted));
  return { arn: registered.taskDefinition!.taskDefinitionArn!, registered: true };
}
