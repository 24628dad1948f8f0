/**
 * The step entrypoint of `my_docker`: what `stackyard step run` takes and
 * does inside each step container. The flavor names it by source path, so
 * the step process loads it from the image as it loads the pipeline.
 */
import { EntrypointConfiguration, type StepEntrypointContext, type StepOutcome } from "@stackyard/core";

export class MyDockerEntrypoint extends EntrypointConfiguration {
  /** `--image IMAGE`: the image `my_docker` started the container from. */
  static override options() {
    return { image: { description: "the image my_docker started the step's container from", required: true } };
  }

  /** Around each step: how long it took inside its container, and from which image. */
  static override async wrap(context: StepEntrypointContext, runStep: () => Promise<StepOutcome>): Promise<StepOutcome> {
    const started = Date.now();
    const outcome = await runStep();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`my_docker entrypoint: ${context.options.step} ${outcome.status} in ${seconds} s (image ${context.options.extra?.image})`);
    return outcome;
  }
}
