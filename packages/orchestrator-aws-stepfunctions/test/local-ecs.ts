// ECS's part in the local executions (see local-execution-backend.ts): what
// ECS does for an `ecs:runTask.sync` Task state. It reads the registered task
// definition from moto, runs its image in the local Docker engine with the
// state's overrides (command, environment, task-level CPU and memory as hard
// limits), stops the container when the execution is stopped, and writes the
// container's output to CloudWatch Logs on moto as the awslogs driver would.
import { randomUUID } from "node:crypto";
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeTaskDefinitionCommand, ECSClient } from "@aws-sdk/client-ecs";
import { runContainer } from "@stackyard/tools/engines";
import type Docker from "dockerode";
import { ACCOUNT, awsEnvironment, CREDENTIALS, REGION } from "./harness.js";
import type { RunTaskHandler } from "./local-execution-backend.js";

/** Label of every container a {@link LocalEcs} starts; its value is the state (step) name. */
export const TASK_LABEL = "io.stackyard.test.local-ecs-task";

/** One ECS task as it ran. */
export interface TaskRun {
  stateName: string;
  taskArn: string;
  image: string;
  command: string[];
  exitCode: number;
  /** The limits the container had (task-level overrides, as ECS enforces them). */
  memoryBytes: number | undefined;
  nanoCpus: number | undefined;
}

export interface LocalEcsOptions {
  docker: Docker;
  /** moto's endpoint: task definitions and CloudWatch Logs. */
  endpoint: string;
  /** Bind mounts of every task (`host:container`). */
  binds?: string[];
  /** `uid:gid` the step containers run as (files they write into `binds` are the caller's). */
  user?: string;
  /** More labels for every task's container. */
  labels?: Record<string, string>;
}

const number = (value: unknown): number | undefined => (value === undefined || value === null || value === "" ? undefined : Number(value));

/** Plays ECS for the Task states of local executions; `runTask` is the handler. */
export class LocalEcs {
  /** Every task that ran, in the order they ended. */
  readonly tasks: TaskRun[] = [];

  constructor(private readonly options: LocalEcsOptions) {}

  readonly runTask: RunTaskHandler = async (parameters, stateName, signal) => {
    const ecs = new ECSClient({ region: REGION, endpoint: this.options.endpoint, credentials: CREDENTIALS });
    const logs = new CloudWatchLogsClient({ region: REGION, endpoint: this.options.endpoint, credentials: CREDENTIALS });
    try {
      const definition = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: parameters.TaskDefinition }))).taskDefinition!;
      const override = parameters.Overrides.ContainerOverrides[0];
      const container = definition.containerDefinitions!.find((c) => c.name === override.Name)!;
      const env = Object.fromEntries((override.Environment ?? []).map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
      // Task size: the overrides, else the task definition; a container's memory is its hard limit.
      const memoryMiB = number(override.Memory) ?? number(parameters.Overrides.Memory) ?? number(container.memory) ?? number(definition.memory);
      const cpuUnits = number(parameters.Overrides.Cpu) ?? number(definition.cpu);
      const taskId = randomUUID().replaceAll("-", "");
      const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/stackyard/${taskId}`;
      const run: Omit<TaskRun, "exitCode"> = {
        stateName,
        taskArn,
        image: container.image!,
        command: override.Command,
        memoryBytes: memoryMiB === undefined ? undefined : memoryMiB * 1024 * 1024,
        nanoCpus: cpuUnits === undefined ? undefined : Math.round((cpuUnits / 1024) * 1e9),
      };
      // The task role's credentials, as ECS would provide them; network host reaches moto on 127.0.0.1.
      const result = await runContainer(this.options.docker, run.image, run.command, {
        network: "host",
        env: { ...env, ...awsEnvironment() },
        labels: { ...this.options.labels, [TASK_LABEL]: stateName },
        signal,
        ...(this.options.binds ? { binds: this.options.binds } : {}),
        ...(this.options.user ? { user: this.options.user } : {}),
        ...(run.memoryBytes !== undefined ? { memoryBytes: run.memoryBytes } : {}),
        ...(run.nanoCpus !== undefined ? { nanoCpus: run.nanoCpus } : {}),
      });
      this.tasks.push({ ...run, exitCode: result.exitCode });
      // The awslogs driver's part: the container's output into <group>/<prefix>/<container>/<task id>.
      const options = container.logConfiguration?.options;
      if (options) {
        const stream = `${options["awslogs-stream-prefix"]}/${container.name}/${taskId}`;
        await logs.send(new CreateLogStreamCommand({ logGroupName: options["awslogs-group"], logStreamName: stream }));
        const lines = `${result.stdout}${result.stderr}`.split("\n").filter((l) => l.length > 0);
        if (lines.length) {
          const now = Date.now();
          await logs.send(
            new PutLogEventsCommand({
              logGroupName: options["awslogs-group"],
              logStreamName: stream,
              logEvents: lines.map((message, i) => ({ message, timestamp: now + i })),
            }),
          );
        }
      }
      if (result.exitCode !== 0) {
        const reason = signal.aborted ? "Task stopped by the execution's stop" : "Essential container in task exited";
        const error = new Error(JSON.stringify({ TaskArn: taskArn, StoppedReason: reason, Containers: [{ Name: container.name, ExitCode: result.exitCode }] }));
        error.name = "States.TaskFailed";
        throw error;
      }
      return { TaskArn: taskArn, LastStatus: "STOPPED", Containers: [{ Name: container.name, ExitCode: 0 }] };
    } finally {
      ecs.destroy();
      logs.destroy();
    }
  };
}
