/**
 * `@stackyard/image-builder`: content-addressed Docker images for pipeline
 * snapshots, shared by the docker and AWS Step Functions orchestrators.
 *
 * @packageDocumentation
 */
export { dockerSettingsSchema, parseDockerSettings, type DockerSettings, type DockerSettingsInput } from "./settings.js";
export { generateDockerfile, generateDependenciesDockerfile, appDir, type DockerfileOptions } from "./dockerfile.js";
export {
  builtInExcludes,
  dependencyFolderName,
  isDependencyPath,
  listContext,
  locateContext,
  scratchFolderName,
  splitContext,
  type ContextEntry,
  type ContextLocation,
  type ListContextOptions,
  type SplitContext,
} from "./context.js";
export { contextDigest, digestEntries, hashContextFiles, imageContentHash, defaultCacheDir, type ContextHashInput, type ContextHashes } from "./content-hash.js";
export { buildImage, type BuildImageOptions, type BuiltImage } from "./build.js";
export { pushImage, splitImageName, type PushedImage } from "./push.js";
export { connectDocker, assertEngineReachable, resolveDockerHost, describeEngine, defaultDockerHost } from "./engine.js";
export { EngineUnreachableError, ImageBuildError, ImagePushError } from "./errors.js";
