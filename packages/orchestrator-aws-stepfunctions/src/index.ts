/**
 * `@stackyard/orchestrator-aws-stepfunctions`: the `aws_step_functions`
 * orchestrator flavor. A pipeline becomes an AWS Step Functions state machine
 * with one `ecs:runTask.sync` Task state per step; each run is one execution.
 *
 * This module is light (zod and core); the AWS SDK, the compiler and the
 * image builder load with the implementation, on first use.
 *
 * @packageDocumentation
 */
import { awsRegionSchema } from "@stackyard/aws-common";
import { defineFlavor, type OrchestratorCapabilities, requireRemoteStack } from "@stackyard/core";
import { z } from "zod";

const arn = (service: string, example: string) => z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `expected an ARN such as ${example}`);
const roleArn = arn("iam", "arn:aws:iam::123456789012:role/name");

/** Component config of an `aws_step_functions` orchestrator (seed 001's flags). */
export const stepFunctionsOrchestratorConfigSchema = z.strictObject({
  /** ECS cluster the step tasks run in. */
  ecs_cluster_arn: arn("ecs", "arn:aws:ecs:eu-west-1:123456789012:cluster/ml"),
  /**
   * Task definition that runs every step. Its container (`container_name`) must run the pipeline
   * image. Without one, a task definition is registered per image and resource shape, and reused while identical.
   */
  ecs_task_definition_arn: z.string().min(1).optional(),
  /** Task execution role (pulls the image from ECR, writes awslogs); needed to register task definitions. */
  execution_role: roleArn.optional(),
  /** Role the step containers run as (reads and writes the S3 artifact store). */
  task_role: roleArn.optional(),
  /** Subnets of the tasks' network interfaces (required for Fargate). */
  subnet_ids: z.array(z.string().min(1)).default([]),
  /** Security groups of the tasks' network interfaces. */
  security_group_ids: z.array(z.string().min(1)).default([]),
  /** AWS account id; names the default state machine role. */
  account_id: z
    .string()
    .regex(/^\d{12}$/, "expected a 12-digit AWS account id")
    .optional(),
  /** Region of Step Functions and ECS; default: the connector's, else AWS_REGION. */
  region: awsRegionSchema.optional(),
  /** `FARGATE` (default) or `EC2`. */
  launch_type: z.enum(["FARGATE", "EC2"]).default("FARGATE"),
  /** Give tasks a public IP (public subnets without a NAT gateway need it to pull from ECR). */
  assign_public_ip: z.boolean().default(false),
  /** State machines are named `<prefix><pipeline name>`, schedules `<prefix><schedule name>`. */
  state_machine_name_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, "letters, digits, '-' and '_' only")
    .default("stackyard-"),
  /** Role the state machine runs as. Default: `arn:aws:iam::<account_id>:role/stackyard-state-machine`. */
  state_machine_role_arn: roleArn.optional(),
  /**
   * Role EventBridge Scheduler assumes to start a deployment's state machine when a schedule fires
   * (trusts `scheduler.amazonaws.com`, may `states:StartExecution`); needed by `stackyard schedule create`.
   */
  scheduler_role_arn: roleArn.optional(),
  /** EventBridge Scheduler group the schedules are made in (created when missing, unless `default`). */
  schedule_group: z
    .string()
    .regex(/^[0-9a-zA-Z._-]{1,64}$/, "letters, digits, '.', '-' and '_' only, at most 64")
    .default("default"),
  /** CloudWatch Logs group of the step containers (awslogs driver of registered task definitions); enables `stackyard runs logs`. */
  log_group: z
    .string()
    .regex(/^[\w./#-]{1,512}$/, "expected a log group name such as /stackyard/steps")
    .optional(),
  /** Wait for the execution to finish and report step progress (default true); false returns once it started. */
  synchronous: z.boolean().default(true),
  /** `TimeoutSeconds` of each execution. */
  execution_timeout: z.number().int().positive().optional(),
  /** Endpoint for Step Functions, ECS, CloudWatch Logs and EventBridge Scheduler (emulators), e.g. http://127.0.0.1:5000. */
  endpoint_url: z.url({ protocol: /^https?$/ }).optional(),
  /** Name of the container that runs the step in the task definition. */
  container_name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/)
    .default("step"),
  /** Image the pipeline image is built on. Default: `node:<the client's Node version>-bookworm-slim`; settings.docker.parent_image wins. */
  parent_image: z.string().min(1).optional(),
  /** Pull the parent image when the engine lacks it (default false). */
  pull_parent_image: z.boolean().default(false),
  /** Docker engine that builds the image. Default: DOCKER_HOST, else the default socket. */
  docker_host: z.string().min(1).optional(),
  /** Seconds between two looks at a running execution (synchronous mode). */
  poll_interval: z.number().positive().default(5),
  /**
   * Item count above which a map step runs as a Distributed Map (each item a child execution with its
   * own history) instead of an inline Map, whose items share the execution's 25,000-event history.
   */
  distributed_map_threshold: z.number().int().nonnegative().default(1000),
});
export type StepFunctionsOrchestratorConfig = z.output<typeof stepFunctionsOrchestratorConfigSchema>;
export type StepFunctionsOrchestratorConfigInput = z.input<typeof stepFunctionsOrchestratorConfigSchema>;

/** Per-pipeline settings (`settings.orchestrator` or `settings."orchestrator.aws_step_functions"`). */
export const stepFunctionsOrchestratorSettingsSchema = z.strictObject({
  /** `TimeoutSeconds` of each step's Task state. */
  step_timeout: z.number().int().positive().optional(),
  /** Overrides the component's `execution_timeout`. */
  execution_timeout: z.number().int().positive().optional(),
  /** How Fargate memory between two valid sizes is handled (default `round-up`). */
  fargate_memory: z.enum(["round-up", "exact"]).optional(),
  /** Fargate platform version, e.g. `LATEST` or `1.4.0`. */
  platform_version: z.string().min(1).optional(),
  /** Where shared ECS parameters go: inline in every state, or once in the execution input (default `auto`). */
  shared_parameters: z.enum(["auto", "inline", "input"]).optional(),
  /** Overrides the component's `distributed_map_threshold` for this pipeline. */
  distributed_map_threshold: z.number().int().nonnegative().optional(),
});
export type StepFunctionsOrchestratorSettings = z.output<typeof stepFunctionsOrchestratorSettingsSchema>;

/** The `aws_step_functions` orchestrator flavor: a state machine per pipeline, an ECS task per step. */
/** What components of this flavor can do (with the default config). */
export const stepFunctionsOrchestratorCapabilities: OrchestratorCapabilities = {
  remote: true,
  synchronous: true,
  schedulable: true,
  deployable: true,
  honoursResources: true,
  parallel: true,
  mapSteps: true,
};

export const stepFunctionsOrchestratorFlavor = defineFlavor({
  capabilities: stepFunctionsOrchestratorCapabilities,
  name: "aws_step_functions",
  type: "orchestrator",
  description: "Runs pipelines as AWS Step Functions state machines, one ECS task per step",
  configSchema: stepFunctionsOrchestratorConfigSchema,
  settingsSchema: stepFunctionsOrchestratorSettingsSchema,
  remote: true,
  packageName: "@stackyard/orchestrator-aws-stepfunctions",
  docsUrl: "https://github.com/stackyard/stackyard/tree/main/packages/orchestrator-aws-stepfunctions#readme",
  connectorRequirements: { connectorType: "aws", resourceType: "aws-generic" },
  validateStack: requireRemoteStack,
  implementation: async () => (await import("./implementation.js")).StepFunctionsOrchestrator,
});
