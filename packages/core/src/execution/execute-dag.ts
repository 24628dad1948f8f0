import { PipelineDefinitionError } from "../errors/errors.js";
import type { StepOutcome } from "../orchestrator/base-orchestrator.js";

/** A node of the DAG: an invocation id and the ids it waits for. */
export interface DagStep {
  id: string;
  upstream: readonly string[];
}

/** Options of {@link executeDag}. */
export interface ExecuteDagOptions {
  /** The steps, e.g. `snapshot.steps`. */
  steps: readonly DagStep[];
  /** Most steps running at once (default: all that are ready). */
  concurrency?: number;
  /**
   * True (default): after a failure, start no new step, let running ones
   * finish, and skip the rest. False: keep running everything that does
   * not depend on a failed step.
   */
  failFast?: boolean;
  /** When aborted, no new step starts; the steps not started are marked `stopped`. */
  signal?: AbortSignal;
  /** Runs one step; a rejection counts as a failure of that step. */
  runOne(stepId: string): Promise<StepOutcome>;
  /** Records a step that will not run: `skipped` (an upstream step failed, or fail-fast) or `stopped` (aborted). */
  markSkipped(stepId: string, reason: string, status: "skipped" | "stopped"): Promise<void> | void;
}

const SUCCESS = new Set(["completed", "cached"]);

/**
 * Runs a DAG of steps in topological order, independent steps in parallel
 * up to `concurrency`. Resolves with one outcome per step, in the order of
 * `steps`, once every step has finished or been skipped. Orchestrators that
 * run steps in containers reuse it with a `runOne` that starts a container.
 */
export async function executeDag(options: ExecuteDagOptions): Promise<StepOutcome[]> {
  const { steps, signal } = options;
  const failFast = options.failFast ?? true;
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? Number.POSITIVE_INFINITY));
  const index = new Map<string, number>();
  for (const [i, step] of steps.entries()) index.set(step.id, i);
  const waiting = new Int32Array(steps.length);
  const downstream: number[][] = steps.map(() => []);
  steps.forEach((step, i) => {
    for (const up of step.upstream) {
      const j = index.get(up);
      if (j === undefined) throw new PipelineDefinitionError(`Step '${step.id}' waits for '${up}', which is not a step of this DAG`);
      downstream[j]!.push(i);
      waiting[i]!++;
    }
  });

  const outcomes: (StepOutcome | undefined)[] = new Array(steps.length);
  const ready: number[] = [];
  for (let i = 0; i < steps.length; i++) if (waiting[i] === 0) ready.push(i);
  let readyAt = 0;
  let running = 0;
  let done = 0;
  let stopping: string | undefined;
  const pending: Promise<void>[] = [];

  return new Promise<StepOutcome[]>((resolveAll) => {
    const finishIfDone = (): void => {
      if (done === steps.length) resolveAll(outcomes as StepOutcome[]);
    };

    const settle = (i: number, outcome: StepOutcome): void => {
      outcomes[i] = outcome;
      done++;
    };

    // Marks a step and everything downstream of it as not run.
    const skipFrom = (i: number, reason: string, status: "skipped" | "stopped"): void => {
      const stack = [i];
      while (stack.length) {
        const k = stack.pop()!;
        if (outcomes[k]) continue;
        const id = steps[k]!.id;
        settle(k, { stepId: id, status, error: reason });
        pending.push(Promise.resolve(options.markSkipped(id, reason, status)).catch(() => {}));
        for (const next of downstream[k]!) stack.push(next);
      }
    };

    const stopAll = (): void => {
      const status = signal?.aborted ? "stopped" : "skipped";
      for (let i = 0; i < steps.length; i++) {
        if (!outcomes[i] && !started[i]) skipFrom(i, stopping!, status);
      }
    };

    const started = new Uint8Array(steps.length);

    const pump = (): void => {
      if (signal?.aborted && !stopping) stopping = "the run was stopped";
      if (stopping) {
        stopAll();
        if (running === 0) void Promise.all(pending).then(finishIfDone);
        return;
      }
      while (running < concurrency && readyAt < ready.length) {
        const i = ready[readyAt++]!;
        if (outcomes[i]) continue;
        started[i] = 1;
        running++;
        const id = steps[i]!.id;
        let promise: Promise<StepOutcome>;
        try {
          promise = options.runOne(id);
        } catch (error) {
          promise = Promise.reject(error);
        }
        promise
          .then(
            (outcome) => outcome,
            (error: unknown): StepOutcome => ({ stepId: id, status: "failed", error: error instanceof Error ? error.message : String(error) }),
          )
          .then((outcome) => {
            running--;
            settle(i, outcome);
            if (SUCCESS.has(outcome.status)) {
              for (const next of downstream[i]!) if (--waiting[next]! === 0) ready.push(next);
            } else {
              const reason = `upstream step '${id}' ${outcome.status === "stopped" ? "was stopped" : "failed"}`;
              for (const next of downstream[i]!) skipFrom(next, reason, outcome.status === "stopped" ? "stopped" : "skipped");
              if (failFast && !stopping) stopping = `step '${id}' failed and the run fails fast`;
            }
            pump();
          });
      }
      if (running === 0) void Promise.all(pending).then(finishIfDone);
    };

    signal?.addEventListener("abort", () => pump(), { once: true });
    pump();
  });
}
