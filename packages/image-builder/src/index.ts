/**
 * `@stackyard/image-builder`: content-addressed Docker images for pipeline
 * snapshots, shared by the docker and AWS Step Functions orchestrators.
 *
 * @packageDocumentation
 */

export { type BuildImageOptions, type BuiltImage, buildImage } from "./build.js";
export {
  type ContextHashes,
  type ContextHashInput,
  contextDigest,
  defaultCacheDir,
  digestEntries,
  hashContextFiles,
  imageContentHash,
} from "./content-hash.js";
export {
  builtInExcludes,
  type ContextEntry,
  type ContextLocation,
  dependencyFolderName,
  isDependencyPath,
  type ListContextOptions,
  listContext,
  locateContext,
  type SplitContext,
  scratchFolderName,
  splitContext,
} from "./context.js";
export { appDir, type DockerfileOptions, generateDependenciesDockerfile, generateDockerfile } from "./dockerfile.js";
export { assertEngineReachable, connectDocker, defaultDockerHost, describeEngine, resolveDockerHost } from "./engine.js";
export { EngineUnreachableError, ImageBuildError, ImagePushError } from "./errors.js";
export { type PushedImage, pushImage, splitImageName } from "./push.js";
export { looksLikeSecret, type SecretFile, secretExcludes } from "./secret-files.js";
export { type DockerSettings, type DockerSettingsInput, dockerSettingsSchema, parseDockerSettings } from "./settings.js";
export { defaultParentImage, type PrepareStepImagesOptions, prepareStepImages, type StepImage } from "./step-images.js";
