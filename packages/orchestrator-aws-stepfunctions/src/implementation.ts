/**
 * The Step Functions orchestrator's implementation. Loaded only through
 * `stepFunctionsOrchestratorFlavor.implementation()`, because it pulls in the
 * Step Functions client. The ECS, CloudWatch Logs and Scheduler clients, the
 * image builder (dockerode) and the compiler's entry load where first used,
 * so that listing runs loads none of them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateStateMachineCommand,
  DeleteStateMachineCommand,
  DescribeStateMachineCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  UpdateStateMachineCommand,
} from "@aws-sdk/client-sfn";
import { isAwsNotFound } from "@stackyard/aws-common";
import {
  BaseOrchestrator,
  ConfigError,
  componentSettings,
  copyStepFile,
  type DeployContext,
  type DeploymentRef,
  formatArtifactStoreDescription,
  MapProgressReader,
  type MapSpec,
  type OrchestratorCapabilities,
  type PipelineSnapshot,
  parseConfig,
  type RemoteRun,
  type RemoteRunQuery,
  RunFailedError,
  type RunHandle,
  type RunRecord,
  type RunStatusUpdate,
  type RunStore,
  readLiveRecord,
  readStepFile,
  type ScheduleContext,
  type ScheduleInfo,
  type ScheduleRequest,
  type SnapshotStep,
  STEP_ENV,
  type Stack,
  type StepOutcome,
  type StepRunRecord,
  type SubmitContext,
} from "@stackyard/core";
import type { CompiledStateMachine } from "./compiler/index.js";
import { shortHash } from "./compiler/names.js";
import { resolveTaskResources } from "./compiler/resources.js";
import { ALL_AWS_SERVICES, type AwsClients, type AwsService, createAwsClients } from "./deploy/aws-clients.js";
import { executionLinks, stepLinks } from "./deploy/console-links.js";
import { stateNamesFromDefinition } from "./deploy/definition.js";
import { type ExecutionBackend, StepFunctionsExecutionBackend } from "./deploy/execution-backend.js";
import {
  deploymentDetails,
  executionInput,
  INPUT_KEY,
  SNAPSHOT_INPUT_PATH,
  type StackyardExecutionInput,
  type StepFunctionsDeploymentDetails,
} from "./deploy/execution-input.js";
import { HistoryReader, liveStatus } from "./deploy/history.js";
import { describeRemoteRuns, listRemoteRuns, remoteRunStatus } from "./deploy/remote-runs.js";
import { eventBridgeScheduleName, scheduleCommandInput, scheduleInfoFrom } from "./deploy/schedules.js";
import { collectOutcomes, mapSummaryLine } from "./deploy/step-records.js";
import { DEFAULT_TASK_SHAPE, ensureTaskDefinition, familyFor, LOG_STREAM_PREFIX, type TaskShape } from "./deploy/task-definitions.js";
import {
  type StepFunctionsOrchestratorConfig,
  type StepFunctionsOrchestratorSettings,
  stepFunctionsOrchestratorCapabilities,
  stepFunctionsOrchestratorConfigSchema,
  stepFunctionsOrchestratorSettingsSchema,
} from "./index.js";

export type { AwsClients } from "./deploy/aws-clients.js";
export { stateNamesFromDefinition } from "./deploy/definition.js";
export {
  type ExecutionBackend,
  type ExecutionDescription,
  type ExecutionListItem,
  type ExecutionStatus,
  StepFunctionsExecutionBackend,
} from "./deploy/execution-backend.js";
export {
  executionInput,
  INPUT_KEY,
  originOf,
  parseExecutionInput,
  SNAPSHOT_INPUT_PATH,
  type StackyardExecutionInput,
  type StepFunctionsDeploymentDetails,
} from "./deploy/execution-input.js";
export { HistoryReader } from "./deploy/history.js";
export {
  type DescribeRemoteRunsOptions,
  describeRemoteRuns,
  type ListRemoteRunsOptions,
  listRemoteRuns,
  machineOrigin,
  type RemoteRunSource,
  remoteRunStatus,
  type StateMachineRef,
} from "./deploy/remote-runs.js";
export { eventBridgeExpression, eventBridgeScheduleName, scheduleCommandInput, scheduleInfoFrom } from "./deploy/schedules.js";
export { DEFAULT_TASK_SHAPE, familyFor, LOG_STREAM_PREFIX, taskDefinitionRequest } from "./deploy/task-definitions.js";

/**
 * The SDKs besides Step Functions', loaded where first used: listing and
 * describing runs needs none of them.
 */
const sdk = {
  ecs: () => import("@aws-sdk/client-ecs"),
  logs: () => import("@aws-sdk/client-cloudwatch-logs"),
  scheduler: () => import("@aws-sdk/client-scheduler"),
};

/** The Step Functions state machine and execution a run was submitted as. */
export interface StartedRun {
  stateMachineArn: string;
  executionArn: string;
  /** The Task state of each step, and each map step's expand task. */
  stateNames: Record<string, string>;
  mapStates: Record<string, { expand: string }>;
  /** Image each step runs. */
  images: Record<string, string>;
  /** Task definition each step runs. */
  taskDefinitions: Record<string, string>;
  /** The compile result, when this run compiled one (not for runs of a deployment). */
  compiled?: CompiledStateMachine;
}

/** What preparing a state machine needs from a run or a deploy. */
type PrepareContext = Pick<SubmitContext, "stack" | "sourceRoot" | "events" | "snapshotUri">;

/** The environment variable that tells a step container which artifact store to use (see the CLI's `step run`). */

const STOPPED_ERROR = "Stackyard.Stopped";

/** The map steps of a snapshot, by id. */
const mapSpecs = (snapshot: PipelineSnapshot | undefined): Map<string, MapSpec> =>
  new Map((snapshot?.steps ?? []).flatMap((step) => (step.map ? [[step.id, step.map] as const] : [])));

/**
 * Runs pipelines on AWS Step Functions: `submit` builds and pushes the
 * pipeline image, registers (or reuses) ECS task definitions, compiles the
 * snapshot into a state machine with one `ecs:runTask.sync` Task per step,
 * creates or updates it, and starts one execution named by the run id. In
 * synchronous mode (the default) `wait()` follows the execution and reports
 * each step; otherwise it returns at once and `fetchStatus` reconciles later.
 */
export class StepFunctionsOrchestrator extends BaseOrchestrator<StepFunctionsOrchestratorConfig> {
  readonly capabilities: OrchestratorCapabilities;

  constructor(init: ConstructorParameters<typeof BaseOrchestrator<StepFunctionsOrchestratorConfig>>[0]) {
    super({ ...init, config: parseConfig(stepFunctionsOrchestratorConfigSchema, init.config, `orchestrator '${init.name}' (flavor aws_step_functions)`) });
    this.capabilities = { ...stepFunctionsOrchestratorCapabilities, synchronous: this.config.synchronous };
  }

  /** Step Functions, ECS and CloudWatch Logs clients for this orchestrator's region and endpoint. Callers destroy them. */
  protected createClients(services: readonly AwsService[] = ALL_AWS_SERVICES): Promise<AwsClients> {
    return createAwsClients(this.config, this.connector, this.describe(), services);
  }

  /**
   * Where executions start and are watched: Step Functions. The one seam
   * tests replace (to run the stored definition in aws-local-stepfunctions);
   * everything else is the production path.
   */
  protected createExecutionBackend(clients: AwsClients): ExecutionBackend {
    return new StepFunctionsExecutionBackend(clients.sfn);
  }

  /** Name of the state machine of a pipeline: `<prefix><pipeline>`, unsafe characters as `-`, at most 80 characters. */
  stateMachineName(pipelineName: string): string {
    const name = `${this.config.state_machine_name_prefix}${pipelineName}`.replace(/[^A-Za-z0-9_-]/g, "-");
    return name.length <= 80 ? name : `${name.slice(0, 71)}-${shortHash(name)}`;
  }

  /** The role the state machine runs as. */
  stateMachineRoleArn(): string {
    if (this.config.state_machine_role_arn) return this.config.state_machine_role_arn;
    if (this.config.account_id) return `arn:aws:iam::${this.config.account_id}:role/stackyard-state-machine`;
    throw new ConfigError(`${this.describe()} has no role for its state machines`, {
      hint: `Run \`stackyard orchestrator update ${this.name} --state_machine_role_arn=arn:aws:iam::<ACCOUNT_ID>:role/<ROLE>\` (or set --account_id to use role stackyard-state-machine); examples/aws-stepfunctions/iam has its policies.`,
    });
  }

  /** Orchestrator settings of a snapshot: `settings.orchestrator`, then `settings."orchestrator.aws_step_functions"`. */
  settingsFor(snapshot: PipelineSnapshot): StepFunctionsOrchestratorSettings {
    return componentSettings(
      snapshot.settings,
      { type: "orchestrator", flavor: "aws_step_functions" },
      stepFunctionsOrchestratorSettingsSchema,
      "settings.orchestrator",
    );
  }

  async submit(snapshot: PipelineSnapshot, context: SubmitContext): Promise<RunHandle> {
    const clients = await this.createClients();
    let deployment: StartedRun;
    let backend: ExecutionBackend;
    try {
      backend = this.createExecutionBackend(clients);
      deployment = await this.startRun(snapshot, context, clients, backend);
    } catch (error) {
      clients.destroy();
      throw error;
    }
    context.events.info(`Started execution ${deployment.executionArn}`);
    // The run links to its execution in the AWS console (runs describe, the dashboard).
    await context.store.logMetadata({ run: context.runId }, executionLinks(clients.region, deployment.executionArn)).catch(() => {});
    if (!this.config.synchronous) {
      clients.destroy();
      return {
        orchestratorRunId: deployment.executionArn,
        wait: async () => this.outcomesSoFar(snapshot, context),
      };
    }
    return {
      orchestratorRunId: deployment.executionArn,
      wait: async () => {
        try {
          return await this.follow(snapshot, context, backend, deployment, clients.region);
        } finally {
          clients.destroy();
        }
      },
    };
  }

  /**
   * Everything up to a started execution. A run of a deployment starts its
   * deployed state machine (`context.deployment`); any other run first builds
   * the image, registers task definitions and creates or updates the
   * pipeline's state machine. Either way the execution is named by the run
   * id and its input carries the snapshot and where the run comes from.
   */
  async startRun(snapshot: PipelineSnapshot, context: SubmitContext, clients: AwsClients, backend: ExecutionBackend): Promise<StartedRun> {
    const deployed = deploymentDetails(context.deployment?.details);
    const prepared: Omit<StartedRun, "executionArn"> = deployed
      ? { ...deployed, mapStates: deployed.mapStates }
      : await this.prepareStateMachine(snapshot, context, clients, {
          stateMachineName: this.stateMachineName(snapshot.pipeline.name),
          run: this.inputOf(snapshot, context),
        });
    const input = executionInput(deployed?.executionInput ?? prepared.compiled?.executionInput, this.inputOf(snapshot, context));
    const { executionArn } = await backend.start({ stateMachineArn: prepared.stateMachineArn, name: context.runId, input: JSON.stringify(input) });
    return { ...prepared, executionArn };
  }

  /** What a run's execution input says about it (`input.stackyard`). */
  private inputOf(snapshot: PipelineSnapshot, context: Pick<SubmitContext, "snapshotUri" | "runName" | "origin">): StackyardExecutionInput {
    const origin = context.origin ?? {};
    const parameters = snapshot.pipeline.parameters ?? {};
    return {
      snapshot: context.snapshotUri,
      run_name: context.runName,
      ...(origin.deployment !== undefined ? { deployment: origin.deployment } : {}),
      ...(origin.deploymentVersion !== undefined ? { deployment_version: origin.deploymentVersion } : {}),
      ...(origin.schedule !== undefined ? { schedule: origin.schedule } : {}),
      // Shown in the console; the steps read them from the snapshot. Big ones stay out of the 256 KB input.
      ...(JSON.stringify(parameters).length <= 8192 ? { parameters } : {}),
    };
  }

  /** Name of a deployment's state machine: `<prefix>deployment-<name>`, unsafe characters as `-`, at most 80 characters. */
  deploymentStateMachineName(deploymentName: string): string {
    return this.stateMachineName(`deployment-${deploymentName}`);
  }

  /**
   * Deploys a pipeline for runs that need no client: its image, task
   * definitions and a state machine of its own (`<prefix>deployment-<name>`)
   * whose steps read the snapshot from the execution input, so a trigger, a
   * schedule or the console starts a run with `{"stackyard": {"snapshot": URI}}`.
   * Re-deploying updates it in place.
   */
  async deploy(snapshot: PipelineSnapshot, context: DeployContext): Promise<Record<string, unknown>> {
    const clients = await this.createClients();
    try {
      const stateMachineName = this.deploymentStateMachineName(context.deployment.name);
      const prepared = await this.prepareStateMachine(snapshot, context, clients, {
        stateMachineName,
        snapshotPath: SNAPSHOT_INPUT_PATH,
        run: {
          snapshot: context.snapshotUri,
          deployment: context.deployment.name,
          deployment_version: context.deployment.version,
          schedule: "s".repeat(64),
          parameters: snapshot.pipeline.parameters ?? {},
        },
      });
      const { [INPUT_KEY]: _run, ...template } = prepared.compiled?.executionInput ?? {};
      const details: StepFunctionsDeploymentDetails = {
        stateMachineArn: prepared.stateMachineArn,
        stateMachineName,
        region: clients.region,
        executionInput: template,
        stateNames: prepared.stateNames,
        mapStates: prepared.mapStates,
        taskDefinitions: prepared.taskDefinitions,
        images: prepared.images,
      };
      return { ...details };
    } finally {
      clients.destroy();
    }
  }

  /** Deletes the state machines of a deployment's versions and deregisters the task definitions registered for them. */
  async undeploy(versions: readonly DeploymentRef[], context: ScheduleContext): Promise<void> {
    const clients = await this.createClients(["ecs"]);
    try {
      const machines = new Set<string>();
      const taskDefinitions = new Set<string>();
      for (const version of versions) {
        const details = deploymentDetails(version.details);
        if (!details) continue;
        machines.add(details.stateMachineArn);
        for (const arn of Object.values(details.taskDefinitions)) if (arn !== this.config.ecs_task_definition_arn) taskDefinitions.add(arn);
      }
      for (const stateMachineArn of machines) {
        try {
          await clients.sfn.send(new DeleteStateMachineCommand({ stateMachineArn }));
          context.events.info(`Deleted state machine ${stateMachineArn}`);
        } catch (error) {
          if (!isAwsNotFound(error)) throw error;
        }
      }
      for (const taskDefinition of taskDefinitions) {
        try {
          await clients.ecs.send(new (await sdk.ecs()).DeregisterTaskDefinitionCommand({ taskDefinition }));
          context.events.info(`Deregistered task definition ${taskDefinition}`);
        } catch (error) {
          context.events.warn(`Could not deregister task definition ${taskDefinition}: ${(error as Error).message}`);
        }
      }
    } finally {
      clients.destroy();
    }
  }

  /** The role EventBridge Scheduler starts executions as. */
  schedulerRoleArn(): string {
    if (this.config.scheduler_role_arn) return this.config.scheduler_role_arn;
    throw new ConfigError(
      `${this.describe()} has no scheduler_role_arn: EventBridge Scheduler needs a role to start the deployment's state machine when a schedule fires`,
      {
        hint: `Run \`stackyard orchestrator update ${this.name} --scheduler_role_arn=arn:aws:iam::<ACCOUNT_ID>:role/stackyard-scheduler\`; examples/aws-stepfunctions/iam has the role's trust policy and policy.`,
      },
    );
  }

  /** EventBridge name of a schedule: `<prefix><name>`, at most 64 characters. */
  scheduleName(name: string): string {
    return eventBridgeScheduleName(this.config.state_machine_name_prefix, name);
  }

  /** The EventBridge request of a schedule, checked with no call made: role, deployment details, expression, window. */
  private scheduleInput(request: ScheduleRequest) {
    const roleArn = this.schedulerRoleArn();
    const deployment = deploymentDetails(request.deployment.details);
    if (!deployment) {
      throw new ConfigError(
        `Deployment '${request.deployment.name}' version ${request.deployment.version} has no state machine of ${this.describe()}: it was not deployed on Step Functions`,
        { hint: `Deploy it on this stack first: stackyard pipeline deploy SOURCE --name ${request.deployment.name}` },
      );
    }
    return scheduleCommandInput(request, { scheduleName: this.scheduleName(request.name), groupName: this.config.schedule_group, roleArn, deployment });
  }

  /** Checks a schedule request (role, expression, window) before anything is written; see {@link SchedulingOrchestrator.checkSchedule}. */
  checkSchedule(request: Omit<ScheduleRequest, "snapshotUri">): void {
    this.scheduleInput({ ...request, snapshotUri: "s3://check/snapshot.json" });
  }

  /**
   * Creates an EventBridge schedule (`<prefix><name>` in `schedule_group`)
   * that starts the deployment's state machine with the schedule's snapshot,
   * deployment, version and name in `input.stackyard`.
   */
  async createSchedule(request: ScheduleRequest, context: ScheduleContext): Promise<ScheduleInfo> {
    const input = this.scheduleInput(request);
    const clients = await this.createClients(["scheduler"]);
    try {
      await this.ensureScheduleGroup(clients, context);
      try {
        await clients.scheduler.send(new (await sdk.scheduler()).CreateScheduleCommand(input));
      } catch (error) {
        if ((error as { name?: string }).name === "ConflictException") {
          throw new ConfigError(`Schedule '${request.name}' already exists (EventBridge schedule ${input.Name} in group ${input.GroupName})`, {
            hint: `Change it with \`stackyard schedule update ${request.name}\`, or delete it first.`,
          });
        }
        throw error;
      }
      context.events.info(`Created EventBridge schedule ${input.Name} (${input.ScheduleExpression}, ${input.ScheduleExpressionTimezone})`);
      return (await this.readSchedule(clients, request.name)) ?? { ...request, expression: input.ScheduleExpression! };
    } finally {
      clients.destroy();
    }
  }

  /** Replaces a schedule's settings (UpdateSchedule replaces every field). */
  async updateSchedule(request: ScheduleRequest, context: ScheduleContext): Promise<ScheduleInfo> {
    const input = this.scheduleInput(request);
    const clients = await this.createClients(["scheduler"]);
    try {
      try {
        await clients.scheduler.send(new (await sdk.scheduler()).UpdateScheduleCommand(input));
      } catch (error) {
        if (isAwsNotFound(error) || (error as { name?: string }).name === "ResourceNotFoundException") throw this.noSchedule(request.name);
        throw error;
      }
      context.events.info(`Updated EventBridge schedule ${input.Name}`);
      return (await this.readSchedule(clients, request.name)) ?? { ...request, expression: input.ScheduleExpression! };
    } finally {
      clients.destroy();
    }
  }

  async getSchedule(name: string, _context: ScheduleContext): Promise<ScheduleInfo | undefined> {
    const clients = await this.createClients(["scheduler"]);
    try {
      return await this.readSchedule(clients, name);
    } finally {
      clients.destroy();
    }
  }

  /** The schedules this orchestrator made: its prefix, in its group, with a Stackyard input. */
  async listSchedules(_context: ScheduleContext): Promise<ScheduleInfo[]> {
    const clients = await this.createClients(["scheduler"]);
    const prefix = this.config.state_machine_name_prefix;
    try {
      const names: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await clients.scheduler
          .send(
            new (await sdk.scheduler()).ListSchedulesCommand({
              GroupName: this.config.schedule_group,
              ...(prefix ? { NamePrefix: prefix } : {}),
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          )
          .catch((error: unknown) => {
            if (isAwsNotFound(error) || (error as { name?: string }).name === "ResourceNotFoundException") return { Schedules: [], NextToken: undefined };
            throw error;
          });
        for (const summary of page.Schedules ?? [])
          if (summary.Name?.startsWith(prefix) && summary.GroupName === this.config.schedule_group) names.push(summary.Name);
        nextToken = page.NextToken;
      } while (nextToken);
      const out: ScheduleInfo[] = [];
      for (const scheduleName of names) {
        const info = await this.readByEventBridgeName(clients, scheduleName);
        if (info) out.push(info);
      }
      return out.sort((a, b) => a.name.localeCompare(b.name));
    } finally {
      clients.destroy();
    }
  }

  async deleteSchedule(name: string, context: ScheduleContext): Promise<void> {
    const clients = await this.createClients(["scheduler"]);
    const scheduleName = this.scheduleName(name);
    try {
      await clients.scheduler.send(new (await sdk.scheduler()).DeleteScheduleCommand({ Name: scheduleName, GroupName: this.config.schedule_group }));
      context.events.info(`Deleted EventBridge schedule ${scheduleName}`);
    } catch (error) {
      if (isAwsNotFound(error) || (error as { name?: string }).name === "ResourceNotFoundException") throw this.noSchedule(name);
      throw error;
    } finally {
      clients.destroy();
    }
  }

  private noSchedule(name: string): ConfigError {
    return new ConfigError(
      `No schedule '${name}' on ${this.describe()} (EventBridge schedule ${this.scheduleName(name)} in group ${this.config.schedule_group})`,
      {
        hint: "See the schedules there are: stackyard schedule list",
      },
    );
  }

  private async readSchedule(clients: AwsClients, name: string): Promise<ScheduleInfo | undefined> {
    const info = await this.readByEventBridgeName(clients, this.scheduleName(name));
    return info?.name === name ? info : undefined;
  }

  private async readByEventBridgeName(clients: AwsClients, scheduleName: string): Promise<ScheduleInfo | undefined> {
    try {
      const schedule = await clients.scheduler.send(
        new (await sdk.scheduler()).GetScheduleCommand({ Name: scheduleName, GroupName: this.config.schedule_group }),
      );
      return scheduleInfoFrom(schedule);
    } catch (error) {
      if (isAwsNotFound(error) || (error as { name?: string }).name === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  /** A group other than `default` is created on first use. */
  private async ensureScheduleGroup(clients: AwsClients, context: ScheduleContext): Promise<void> {
    const group = this.config.schedule_group;
    if (group === "default") return;
    try {
      await clients.scheduler.send(new (await sdk.scheduler()).GetScheduleGroupCommand({ Name: group }));
    } catch (error) {
      if (!isAwsNotFound(error) && (error as { name?: string }).name !== "ResourceNotFoundException") throw error;
      await clients.scheduler.send(new (await sdk.scheduler()).CreateScheduleGroupCommand({ Name: group, Tags: [{ Key: "stackyard", Value: "schedules" }] }));
      context.events.info(`Created EventBridge schedule group ${group}`);
    }
  }

  /** The image, task definitions and the created or updated state machine of a snapshot. */
  private async prepareStateMachine(
    snapshot: PipelineSnapshot,
    context: PrepareContext,
    clients: AwsClients,
    target: { stateMachineName: string; snapshotPath?: string; run: StackyardExecutionInput },
  ): Promise<Omit<StartedRun, "executionArn">> {
    const registry = context.stack.containerRegistry;
    if (!registry) {
      throw new ConfigError(`${this.describe()} needs a container registry in stack '${context.stack.name}' to push the pipeline image to`, {
        hint: `Register one (\`stackyard container-registry register ecr_registry -f aws --uri=<ACCOUNT_ID>.dkr.ecr.<REGION>.amazonaws.com\`) and add it with \`stackyard stack update ${context.stack.name} -c ecr_registry\`.`,
      });
    }
    const artifactStore = snapshot.stack.components.artifact_store;
    if (!artifactStore) throw new ConfigError(`Snapshot ${snapshot.id} has no artifact store`);
    const settings = this.settingsFor(snapshot);
    const launchType = this.config.launch_type;
    if (launchType === "FARGATE" && this.config.subnet_ids.length === 0) {
      throw new ConfigError(`${this.describe()}: Fargate tasks need subnets`, {
        hint: `Run \`stackyard orchestrator update ${this.name} --subnet_ids='["subnet-..."]'\`.`,
      });
    }
    const { stateMachineName } = target;
    const roleArn = this.stateMachineRoleArn();

    // One image per distinct settings.docker (usually one for the whole snapshot).
    const { images, sourceRoot } = await this.buildImages(snapshot, context);

    // One task definition per image and resource shape, unless the config names one.
    const taskDefinitions: Record<string, string> = {};
    if (this.config.ecs_task_definition_arn) {
      await this.checkConfiguredTaskDefinition(clients, new Set(Object.values(images)), context);
      for (const step of snapshot.steps) taskDefinitions[step.id] = this.config.ecs_task_definition_arn;
    } else {
      if (!this.config.execution_role && launchType === "FARGATE") {
        context.events.warn(
          `${this.describe()} has no execution_role: Fargate tasks cannot pull from ECR or write logs without one (--execution_role=arn:aws:iam::...:role/...).`,
        );
      }
      const byKey = new Map<string, Promise<{ arn: string; registered: boolean }>>();
      for (const step of snapshot.steps) {
        const image = images[step.id]!;
        const shape = this.shapeOf(step, settings);
        const family = familyFor(stateMachineName, shape);
        const key = `${family}|${image}`;
        let pending = byKey.get(key);
        if (!pending) {
          pending = ensureTaskDefinition(clients.ecs, {
            family,
            image,
            shape,
            containerName: this.config.container_name,
            launchType,
            awsvpc: this.config.subnet_ids.length > 0,
            executionRoleArn: this.config.execution_role,
            taskRoleArn: this.config.task_role,
            logs: this.config.log_group ? { group: this.config.log_group, region: clients.region, streamPrefix: LOG_STREAM_PREFIX } : undefined,
          });
          byKey.set(key, pending);
          const { arn, registered } = await pending;
          context.events.info(`${registered ? "Registered" : "Reusing"} task definition ${arn}`);
        }
        taskDefinitions[step.id] = (await pending).arn;
      }
    }

    const environment: Record<string, string> = {
      [STEP_ENV.artifactStore]: formatArtifactStoreDescription(artifactStore),
      ...(sourceRoot ? { [STEP_ENV.sourceRoot]: sourceRoot } : {}),
    };
    const firstImage = Object.values(images)[0];
    const { compileStateMachine } = await import("./compiler/index.js");
    const compiled = compileStateMachine(snapshot, {
      stateMachineName,
      clusterArn: this.config.ecs_cluster_arn,
      taskDefinitionFor: (step: SnapshotStep) => taskDefinitions[step.id]!,
      containerName: this.config.container_name,
      launchType,
      subnets: this.config.subnet_ids,
      securityGroups: this.config.security_group_ids,
      assignPublicIp: this.config.assign_public_ip,
      ...(settings.platform_version ? { platformVersion: settings.platform_version } : {}),
      ...(firstImage ? { image: firstImage } : {}),
      snapshotUri: context.snapshotUri,
      ...(target.snapshotPath ? { snapshotPath: target.snapshotPath } : {}),
      // The input's `stackyard` key as big as a run's can be, so the compiler's size checks hold for every run.
      executionInput: executionInput(undefined, target.run),
      environment,
      // The flavor's entrypoint configuration (the stack's), when it names one.
      ...(context.stack.entrypoint ? { entrypoint: context.stack.entrypoint } : {}),
      ...(settings.shared_parameters ? { sharedParameters: settings.shared_parameters } : {}),
      ...(typeof artifactStore.config.path === "string" ? { artifactStoreUri: artifactStore.config.path } : {}),
      distributedMapThreshold: settings.distributed_map_threshold ?? this.config.distributed_map_threshold,
      ...(settings.fargate_memory ? { fargateMemory: settings.fargate_memory } : {}),
      ...(settings.step_timeout ? { stepTimeoutSeconds: settings.step_timeout } : {}),
      ...((settings.execution_timeout ?? this.config.execution_timeout)
        ? { executionTimeoutSeconds: settings.execution_timeout ?? this.config.execution_timeout }
        : {}),
    });
    const stateMachineArn = await this.upsertStateMachine(clients, stateMachineName, compiled.json, roleArn, context);
    const mapStates = Object.fromEntries(Object.entries(compiled.mapStates).map(([step, states]) => [step, { expand: states.expand }]));
    return { stateMachineArn, stateNames: compiled.stateNames, mapStates, images, taskDefinitions, compiled };
  }

  /** The ECS size a step's task definition gets: its resources, else {@link DEFAULT_TASK_SHAPE}. */
  private shapeOf(step: SnapshotStep, settings: StepFunctionsOrchestratorSettings): TaskShape {
    if (!Object.keys(step.resources).length) return DEFAULT_TASK_SHAPE;
    const size = resolveTaskResources(step.id, step.resources, this.config.launch_type, settings.fargate_memory);
    return { cpu: size.cpu ?? DEFAULT_TASK_SHAPE.cpu, memoryMiB: size.memoryMiB ?? DEFAULT_TASK_SHAPE.memoryMiB };
  }

  /** The image each step runs (see `prepareStepImages`), and where the project sits in them. */
  private async buildImages(snapshot: PipelineSnapshot, context: PrepareContext): Promise<{ images: Record<string, string>; sourceRoot: string | undefined }> {
    // The image builder (dockerode and all) loads only when images are built.
    const { connectDocker, prepareStepImages, resolveDockerHost } = await import("@stackyard/image-builder");
    const prepared = await prepareStepImages({
      docker: connectDocker(resolveDockerHost(this.config.docker_host)),
      snapshot,
      sourceRoot: context.sourceRoot,
      parentImage: this.config.parent_image,
      pullParentImage: this.config.pull_parent_image,
      registry: context.stack.containerRegistry,
      local: false,
      events: context.events,
    });
    const images: Record<string, string> = {};
    let sourceRoot: string | undefined;
    for (const [stepId, image] of prepared) {
      images[stepId] = image.image;
      sourceRoot ??= image.sourceRoot;
    }
    return { images, sourceRoot };
  }

  /** A configured task definition cannot be given the image per run (ECS has no image override): say so when it runs another. */
  private async checkConfiguredTaskDefinition(clients: AwsClients, images: Set<string>, context: PrepareContext): Promise<void> {
    const arn = this.config.ecs_task_definition_arn!;
    const described = await clients.ecs.send(new (await sdk.ecs()).DescribeTaskDefinitionCommand({ taskDefinition: arn })).catch(() => undefined);
    const container = described?.taskDefinition?.containerDefinitions?.find((c) => c.name === this.config.container_name);
    if (!described) {
      context.events.warn(`Could not describe task definition ${arn}; using it as configured.`);
    } else if (!container) {
      throw new ConfigError(`Task definition ${arn} has no container named '${this.config.container_name}'`, {
        hint: `Set --container_name to its container's name, or drop ecs_task_definition_arn to have one registered.`,
      });
    } else if (!images.has(container.image ?? "")) {
      context.events.warn(
        `Task definition ${arn} runs image ${container.image}, not this run's ${[...images].join(", ")}: ECS cannot override the image, so the steps run the task definition's. Drop ecs_task_definition_arn to have task definitions registered per image.`,
      );
    }
  }

  private async upsertStateMachine(clients: AwsClients, name: string, definition: string, roleArn: string, context: PrepareContext): Promise<string> {
    let existing: string | undefined;
    let nextToken: string | undefined;
    do {
      const page = await clients.sfn.send(new ListStateMachinesCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) }));
      existing = page.stateMachines?.find((m) => m.name === name)?.stateMachineArn;
      nextToken = page.nextToken;
    } while (!existing && nextToken);
    if (!existing) {
      const created = await clients.sfn.send(
        new CreateStateMachineCommand({ name, definition, roleArn, type: "STANDARD", tags: [{ key: "stackyard", value: "pipeline" }] }),
      );
      context.events.info(`Created state machine ${created.stateMachineArn}`);
      return created.stateMachineArn!;
    }
    const current = await clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: existing }));
    if (current.definition !== definition || current.roleArn !== roleArn) {
      await clients.sfn.send(new UpdateStateMachineCommand({ stateMachineArn: existing, definition, roleArn }));
      context.events.info(`Updated state machine ${existing}`);
    }
    return existing;
  }

  /** Outcomes of the steps whose containers already wrote their records (asynchronous mode). */
  private async outcomesSoFar(snapshot: PipelineSnapshot, context: SubmitContext): Promise<StepOutcome[]> {
    const out: StepOutcome[] = [];
    for (const step of snapshot.steps) {
      const file = await readStepFile(context.stack.artifactStore, context.runId, step.id);
      if (!file || file.step.status === "running" || file.step.status === "retrying") continue;
      await copyStepFile(context.store, file);
      out.push({ stepId: step.id, status: file.step.status, ...(file.step.error ? { error: file.step.error } : {}) });
    }
    return out;
  }

  /**
   * Follows an execution until it ends: step progress from its history,
   * outcomes from the records the step containers wrote (copied into the
   * client's store) and, for steps without one, from the execution's failure.
   */
  private async follow(
    snapshot: PipelineSnapshot,
    context: SubmitContext,
    backend: ExecutionBackend,
    started: StartedRun,
    region: string,
  ): Promise<StepOutcome[]> {
    const { executionArn, stateNames } = started;
    // A map step shows as running from its expand task on; its end comes from its items' records.
    const reader = new HistoryReader(
      new Map([
        ...Object.entries(stateNames).map(([step, state]) => [state, step] as const),
        ...Object.entries(started.mapStates).map(([step, states]) => [states.expand, step] as const),
      ]),
    );
    const maps = mapSpecs(snapshot);
    // Map items' records, read as they appear (one listing a poll, only new records fetched).
    const progress = maps.size
      ? new MapProgressReader({ artifactStore: context.stack.artifactStore, store: context.store, runId: context.runId, mapStepIds: maps.keys() })
      : undefined;
    const onItem = (item: StepOutcome) => context.events.stepStatus(item.stepId, item.status, item.error);
    const known = new Map<string, StepOutcome>();
    // Steps whose last attempt failed with attempts left, by the record their container wrote.
    const retrying = new Map<string, StepRunRecord>();
    const stepIds = snapshot.steps.map((s) => s.id);
    let stopRequested = false;
    for (;;) {
      if (context.signal.aborted && !stopRequested) {
        stopRequested = true;
        await backend.stop(executionArn, { error: STOPPED_ERROR, cause: "stopped by the user" }).catch((error: unknown) => {
          context.events.warn(`Could not stop execution ${executionArn}: ${(error as Error).message}`);
        });
      }
      const description = await backend.describe(executionArn);
      for (const event of reader.apply(await this.history(backend, executionArn))) {
        let status = liveStatus(event);
        let detail = event.detail;
        if (maps.has(event.stepId)) {
          if (event.kind === "running") context.events.stepStatus(event.stepId, "running", "expanding");
          continue;
        }
        if (event.kind === "failed" && !known.has(event.stepId)) {
          // The attempt's container says whether its retry policy allows another: then the state's Retry runs it.
          const record = await readLiveRecord(context.stack.artifactStore, context.runId, event.stepId);
          if (record?.status === "retrying") {
            retrying.set(event.stepId, record);
            await context.store.putStepRun(record);
            status = "retrying";
            detail = `attempt ${record.attempt} failed (${record.error ?? "unknown error"}); Step Functions retries it in a new ECS task`;
          }
        } else if (event.kind === "retrying" && retrying.has(event.stepId)) {
          // The retry's ECS task is scheduled: the next attempt is under way.
          const record = retrying.get(event.stepId)!;
          retrying.delete(event.stepId);
          const attempt = record.attempt + 1;
          await context.store.putStepRun({ ...record, status: "running", attempt, error: undefined });
          status = "running";
          detail = `attempt ${attempt}`;
        }
        if (status) context.events.stepStatus(event.stepId, status, detail);
        if (event.kind === "succeeded" && !known.has(event.stepId)) {
          const file = await readStepFile(context.stack.artifactStore, context.runId, event.stepId);
          if (file) {
            await copyStepFile(context.store, file);
            known.set(event.stepId, { stepId: event.stepId, status: file.step.status, ...(file.step.error ? { error: file.step.error } : {}) });
            context.events.stepStatus(event.stepId, file.step.status, file.step.error);
          }
        }
      }
      if (progress && remoteRunStatus(description.status) === "running") await this.readMapProgress(progress, maps.keys(), onItem, context);
      if (remoteRunStatus(description.status) !== "running") {
        const before = new Set(known.keys());
        const collected = await collectOutcomes({
          runId: context.runId,
          stepIds,
          artifactStore: context.stack.artifactStore,
          store: context.store,
          execution: description,
          stateNames,
          known,
          maps,
          progress,
          onItem,
        });
        for (const outcome of collected.steps) {
          if (before.has(outcome.stepId)) continue;
          const fromFile = await context.store.getStepRun(context.runId, outcome.stepId);
          const summary = collected.maps?.[outcome.stepId];
          if (fromFile && fromFile.status === outcome.status)
            context.events.stepStatus(outcome.stepId, outcome.status, summary ? mapSummaryLine(summary) : outcome.error);
          else await context.markStep(outcome.stepId, outcome.status, outcome.error);
        }
        // After the steps' own records are in: those writes would replace metadata logged before them.
        await this.recordStepLinks(reader, stepIds, context, region);
        if (collected.status === "failed" && !collected.steps.some((s) => s.status === "failed")) {
          // No step to blame (a timeout, an error outside the steps): the run fails as a whole.
          throw new RunFailedError(`Execution ${executionArn} ${collected.error ?? "failed"}`, {
            hint: `See the execution in the Step Functions console, or \`aws stepfunctions describe-execution --execution-arn ${executionArn}\`.`,
          });
        }
        return collected.steps;
      }
      try {
        // Once the stop is asked for, the aborted signal must not cut the wait short: that would poll without pause.
        await sleep(this.config.poll_interval * 1000, undefined, stopRequested ? {} : { signal: context.signal });
      } catch {
        // Aborted: stop the execution on the next turn, then keep following it until it ends.
      }
    }
  }

  /**
   * Copies what the maps' items recorded since the last poll into the store
   * and reports it: a map once expanded with its item count, each item as it
   * starts and ends. A failed read is left for the next poll.
   */
  private async readMapProgress(
    progress: MapProgressReader,
    mapStepIds: Iterable<string>,
    onItem: (item: StepOutcome) => void,
    context: SubmitContext,
  ): Promise<void> {
    const ids = [...mapStepIds];
    const update = await progress.read().catch((error: unknown) => {
      context.events.warn(`Could not read the progress of map step${ids.length === 1 ? "" : "s"} ${ids.join(", ")}: ${(error as Error).message}`);
      return undefined;
    });
    for (const map of update?.expanded ?? []) {
      if (map.items !== undefined) context.events.stepStatus(map.stepId, "running", `${map.items} item${map.items === 1 ? "" : "s"}`);
    }
    for (const item of update?.items ?? []) onItem(item);
  }

  /** Each step that ran as ECS tasks links to the last one, and to its CloudWatch log stream when tasks log there. */
  private async recordStepLinks(reader: HistoryReader, stepIds: readonly string[], context: SubmitContext, region: string): Promise<void> {
    for (const stepId of stepIds) {
      const taskArn = reader.taskArns(stepId).at(-1);
      if (!taskArn) continue;
      const taskId = taskArn.split("/").pop()!;
      const logs = this.config.log_group ? { group: this.config.log_group, stream: `${LOG_STREAM_PREFIX}/${this.config.container_name}/${taskId}` } : undefined;
      await context.store.logMetadata({ run: context.runId, step: stepId }, stepLinks(region, taskArn, logs)).catch(() => {});
    }
  }

  private async history(backend: ExecutionBackend, executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await backend.history(executionArn, nextToken);
      events.push(...page.events);
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  }

  /** Reads a run's status from its execution and the step records in the artifact store, copying those into `store`. */
  override async fetchStatus(run: RunRecord, context: { store: RunStore; stack: Stack }): Promise<RunStatusUpdate> {
    const executionArn = this.executionArnOf(run);
    const clients = await this.createClients([]);
    try {
      const backend = this.createExecutionBackend(clients);
      const execution = await backend.describe(executionArn);
      const snapshot = await context.store.getSnapshot(run.snapshotId);
      const stepIds = snapshot?.steps.map((s) => s.id) ?? [];
      let stateNames: Record<string, string> | undefined;
      if (execution.status === "FAILED") {
        const definition = await backend.definition(executionArn).catch(() => undefined);
        if (definition) stateNames = stateNamesFromDefinition(definition, stepIds);
      }
      const collected = await collectOutcomes({
        runId: run.id,
        stepIds,
        artifactStore: context.stack.artifactStore,
        store: context.store,
        execution,
        stateNames,
        maps: mapSpecs(snapshot),
      });
      return { status: collected.status, steps: collected.steps, ...(collected.error ? { error: collected.error } : {}) };
    } finally {
      clients.destroy();
    }
  }

  /**
   * Runs of this orchestrator's state machines (`<prefix><pipeline>` and
   * `<prefix>deployment-<name>`) that `query` does not know or knows with
   * another status: each execution Stackyard started (its input carries
   * `stackyard.snapshot`), named by its execution name (the run id), with
   * its status and times from the listing alone (`detailsPending`: its
   * snapshot, run name and origin are read by {@link describeRuns} when it
   * is shown). Loads the Step Functions client only. See
   * {@link listRemoteRuns} for how little it reads.
   */
  async listRuns(query: RemoteRunQuery, _context: { stack: Stack; store: RunStore }): Promise<RemoteRun[]> {
    const clients = await this.createClients([]);
    try {
      const backend = this.createExecutionBackend(clients);
      return await listRemoteRuns(
        {
          backend,
          listStateMachines: async (nextToken) => {
            const page = await clients.sfn.send(new ListStateMachinesCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) }), {
              ...(query.signal ? { abortSignal: query.signal } : {}),
            });
            return {
              stateMachines: (page.stateMachines ?? []).map((m) => ({ name: m.name!, stateMachineArn: m.stateMachineArn! })),
              nextToken: page.nextToken,
            };
          },
        },
        query,
        { prefix: this.config.state_machine_name_prefix },
      );
    } finally {
      clients.destroy();
    }
  }

  /**
   * The details of runs {@link listRuns} returned with `detailsPending`, by
   * execution ARN (DescribeExecution, 8 at once): `null` for an execution
   * Stackyard did not start. See {@link describeRemoteRuns}.
   */
  async describeRuns(executionArns: readonly string[], context: { stack: Stack; signal?: AbortSignal }): Promise<Map<string, RemoteRun | null>> {
    const clients = await this.createClients([]);
    try {
      return await describeRemoteRuns(this.createExecutionBackend(clients), executionArns, { signal: context.signal });
    } finally {
      clients.destroy();
    }
  }

  /** Stops a run's execution (Step Functions stops its running ECS tasks). */
  override async stop(run: RunRecord): Promise<void> {
    const executionArn = this.executionArnOf(run);
    const clients = await this.createClients([]);
    try {
      await this.createExecutionBackend(clients).stop(executionArn, { error: STOPPED_ERROR, cause: "stopped with stackyard runs stop" });
    } finally {
      clients.destroy();
    }
  }

  /**
   * A step's output from CloudWatch Logs (the awslogs driver of registered
   * task definitions), every attempt in order. Undefined when no log group is
   * configured or nothing was logged, so the caller falls back to the log the
   * step wrote into the artifact store.
   */
  async fetchLogs(run: RunRecord, stepId: string): Promise<string | undefined> {
    if (!this.config.log_group || !run.orchestratorRunId) return undefined;
    const executionArn = run.orchestratorRunId;
    const clients = await this.createClients(["logs"]);
    try {
      const backend = this.createExecutionBackend(clients);
      const definition = await backend.definition(executionArn);
      if (!definition) return undefined;
      const stateName = stateNamesFromDefinition(definition, [stepId])[stepId];
      if (!stateName) return undefined;
      const reader = new HistoryReader(new Map([[stateName, stepId]]));
      reader.apply(await this.history(backend, executionArn));
      const parts: string[] = [];
      const arns = reader.taskArns(stepId);
      for (const [i, arn] of arns.entries()) {
        const taskId = arn.split("/").pop()!;
        const lines = await this.logLines(clients, `${LOG_STREAM_PREFIX}/${this.config.container_name}/${taskId}`);
        if (lines === undefined) continue;
        if (arns.length > 1) parts.push(`--- attempt ${i + 1} (ECS task ${taskId}) ---\n`);
        parts.push(...lines.map((l) => `${l}\n`));
      }
      return parts.length ? parts.join("") : undefined;
    } finally {
      clients.destroy();
    }
  }

  private async logLines(clients: AwsClients, logStreamName: string): Promise<string[] | undefined> {
    const lines: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 1000; page++) {
      let result;
      try {
        result = await clients.logs.send(
          new (await sdk.logs()).GetLogEventsCommand({
            logGroupName: this.config.log_group!,
            logStreamName,
            startFromHead: true,
            ...(token ? { nextToken: token } : {}),
          }),
        );
      } catch (error) {
        if ((error as { name?: string }).name === "ResourceNotFoundException") return page === 0 ? undefined : lines;
        throw error;
      }
      for (const event of result.events ?? []) lines.push(event.message ?? "");
      if (!result.nextForwardToken || result.nextForwardToken === token || !(result.events ?? []).length) break;
      token = result.nextForwardToken;
    }
    return lines;
  }

  private executionArnOf(run: RunRecord): string {
    if (!run.orchestratorRunId) {
      throw new ConfigError(`Run '${run.name}' has no Step Functions execution recorded (it failed before it started)`);
    }
    return run.orchestratorRunId;
  }
}
