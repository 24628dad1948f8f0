/**
 * `@stackyard/aws-common`: what the AWS flavors (`artifact-store-s3`,
 * `container-registry-ecr`, `connector-aws`, `orchestrator-aws-stepfunctions`)
 * share: region names and where a region comes from, how an AWS error is
 * classified, and a client built once and closed. It imports neither the AWS
 * SDK nor anything heavy, so flavor modules may import it at top level.
 *
 * @packageDocumentation
 */
export * from "./client.js";
export * from "./errors.js";
export * from "./region.js";
export * from "./resources.js";
