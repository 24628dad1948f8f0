// For the `stackyard` CLI in tests (`orchestrator flavor register
// <this file>#locallyExecutedStepFunctionsFlavor`): the aws_step_functions
// orchestrator with its one seam replaced, so that executions run in the CLI's
// own process (aws-local-stepfunctions, each Task state a container of the
// local Docker engine, see local-ecs.ts) instead of in AWS. Config, schemas and
// everything else are the real flavor's.
//
// Environment: LOCAL_ECS_LABELS (JSON) labels the step containers;
// LOCAL_SFN_EXECUTIONS_FILE receives every execution once it is over (status,
// stop reason, history event types) and the ECS tasks that ran;
// LOCAL_SFN_SHARED_EXECUTIONS names a folder through which every process's
// executions are seen by the others (listed, described), as Step Functions'
// are by every machine (shared-executions.ts).
import { writeFileSync } from "node:fs";
import { type AnyFlavor, defineFlavor } from "@stackyard/core";
import { stepFunctionsOrchestratorFlavor } from "@stackyard/orchestrator-aws-stepfunctions";

/** What LOCAL_SFN_EXECUTIONS_FILE holds. */
export interface ExecutionsFile {
  executions: Array<{ arn: string; status: string; stopReason?: { error: string; cause: string }; events: string[] }>;
  tasks: Array<{ stateName: string; exitCode: number }>;
}

export const locallyExecutedStepFunctionsFlavor: AnyFlavor = defineFlavor({
  ...stepFunctionsOrchestratorFlavor,
  name: "aws_step_functions_local",
  description: "aws_step_functions with executions run locally (tests only)",
  implementation: async () => {
    const [
      { S3Client },
      { SFNClient },
      { connectDocker },
      { StepFunctionsOrchestrator },
      { polyfillWithResolvers, CREDENTIALS },
      { LocalEcs },
      { LocalExecutionBackend },
      { SharedExecutionBackend, recordSharedExecution },
    ] = await Promise.all([
      import("@aws-sdk/client-s3"),
      import("@aws-sdk/client-sfn"),
      import("@stackyard/image-builder"),
      import("@stackyard/orchestrator-aws-stepfunctions/implementation"),
      import("./harness.js"),
      import("./local-ecs.js"),
      import("./local-execution-backend.js"),
      import("./shared-executions.js"),
    ]);
    polyfillWithResolvers();
    const sfnModule = await import("aws-local-stepfunctions");
    const labels = JSON.parse(process.env.LOCAL_ECS_LABELS ?? "{}") as Record<string, string>;
    const file = process.env.LOCAL_SFN_EXECUTIONS_FILE;
    // One backend per process: the executions it runs live as long as the process.
    const shared = process.env.LOCAL_SFN_SHARED_EXECUTIONS;
    let backend: InstanceType<typeof LocalExecutionBackend> | undefined;
    let sharedBackend: InstanceType<typeof SharedExecutionBackend> | undefined;
    return class LocallyExecutedStepFunctionsOrchestrator extends StepFunctionsOrchestrator {
      protected override createExecutionBackend(): InstanceType<typeof LocalExecutionBackend> | InstanceType<typeof SharedExecutionBackend> {
        if (sharedBackend) return sharedBackend;
        if (backend) return backend;
        const endpoint = this.config.endpoint_url;
        if (!endpoint) throw new Error("aws_step_functions_local needs endpoint_url (moto)");
        const ecs = new LocalEcs({ docker: connectDocker(this.config.docker_host), endpoint, labels });
        const sfn = new SFNClient({ region: this.config.region, endpoint, credentials: CREDENTIALS });
        const s3 = new S3Client({ region: this.config.region, endpoint, forcePathStyle: true, credentials: CREDENTIALS });
        backend = new LocalExecutionBackend(
          sfnModule,
          sfn,
          ecs.runTask,
          (execution) => {
            if (shared) recordSharedExecution(shared, execution);
            if (!file) return;
            const content: ExecutionsFile = {
              executions: [...backend!.executions.values()].map((e) => ({
                arn: e.arn,
                status: e.status,
                ...(e.stopReason ? { stopReason: e.stopReason } : {}),
                events: e.events.map((event) => event.type ?? ""),
              })),
              tasks: ecs.tasks.map((t) => ({ stateName: t.stateName, exitCode: t.exitCode })),
            };
            writeFileSync(file, JSON.stringify(content, null, 2));
          },
          { s3 },
        );
        if (shared) return (sharedBackend = new SharedExecutionBackend(backend, shared));
        return backend;
      }
    };
  },
});
