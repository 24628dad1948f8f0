import { StackyardError } from "@stackyard/core";

/** No Docker engine answers at the address tried. */
export class EngineUnreachableError extends StackyardError {}

/** An image build failed; carries the failing Dockerfile step and its output. */
export class ImageBuildError extends StackyardError {
  constructor(
    message: string,
    /** The failing step as the engine printed it (`Step 4/7 : RUN ...`), when known. */
    readonly step: string | undefined,
    /** What that step printed. */
    readonly output: string,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Pushing an image to a container registry failed. */
export class ImagePushError extends StackyardError {}
