import type { HistoryEvent } from "@aws-sdk/client-sfn";
import type { RunStatus } from "@stackyard/core";

/** A step status read from the execution history. */
export interface HistoryStepEvent {
  stepId: string;
  /** `running` (the Task state was entered), `retrying` (scheduled again after a failure) or `succeeded` (the ECS task ended well). */
  kind: "running" | "retrying" | "succeeded" | "failed";
  detail?: string | undefined;
}

const TASK_ARN = /arn:aws[a-z-]*:ecs:[^"\\\s]*:task\/[^"\\\s]+/g;
const FAILED = new Set(["TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed"]);

/**
 * Reads an execution's history, event by event, into step progress. Task
 * events name no state; each points at the previous event of its state
 * (`previousEventId`), so the state of any event is the one its chain leads
 * back to (this holds inside Parallel branches too).
 */
export class HistoryReader {
  private readonly stateOf = new Map<number, string>();
  private readonly failures = new Map<string, { error?: string | undefined; cause?: string | undefined }>();
  private readonly tasks = new Map<string, string[]>();
  private readonly seen = new Set<number>();

  /** @param steps state name to step id (the compiled `stateNames`, inverted). */
  constructor(private readonly steps: ReadonlyMap<string, string>) {}

  /** Applies events (already applied ones are ignored) and returns the step progress they show. */
  apply(events: readonly HistoryEvent[]): HistoryStepEvent[] {
    const out: HistoryStepEvent[] = [];
    for (const event of events) {
      if (event.id === undefined || this.seen.has(event.id)) continue;
      this.seen.add(event.id);
      const state =
        event.stateEnteredEventDetails?.name ??
        event.stateExitedEventDetails?.name ??
        (event.previousEventId !== undefined ? this.stateOf.get(event.previousEventId) : undefined);
      if (state === undefined) continue;
      this.stateOf.set(event.id, state);
      const stepId = this.steps.get(state);
      if (stepId === undefined) continue;
      for (const text of [event.taskSubmittedEventDetails?.output, event.taskSucceededEventDetails?.output, event.taskFailedEventDetails?.cause]) {
        for (const arn of text?.match(TASK_ARN) ?? []) {
          const list = this.tasks.get(stepId) ?? [];
          if (!list.includes(arn)) this.tasks.set(stepId, [...list, arn]);
        }
      }
      const type = event.type ?? "";
      if (type === "TaskStateEntered") out.push({ stepId, kind: "running" });
      else if (type === "TaskScheduled" && this.failures.has(stepId)) {
        const failure = this.failures.get(stepId)!;
        out.push({ stepId, kind: "retrying", detail: `ECS task failed (${failure.error ?? "error"}); retrying` });
      } else if (type === "TaskSucceeded") out.push({ stepId, kind: "succeeded" });
      else if (FAILED.has(type)) {
        const details =
          event.taskFailedEventDetails ?? event.taskTimedOutEventDetails ?? event.taskStartFailedEventDetails ?? event.taskSubmitFailedEventDetails;
        this.failures.set(stepId, { error: details?.error, cause: details?.cause });
        out.push({ stepId, kind: "failed", detail: details?.error });
      }
    }
    return out;
  }

  /** ARNs of the ECS tasks a step ran as (one per attempt), oldest first. */
  taskArns(stepId: string): string[] {
    return this.tasks.get(stepId) ?? [];
  }

  /** The last ECS failure of a step, if any. */
  failure(stepId: string): { error?: string | undefined; cause?: string | undefined } | undefined {
    return this.failures.get(stepId);
  }
}

/** Maps the history's step events to the statuses a reporter shows. */
export function liveStatus(event: HistoryStepEvent): RunStatus | undefined {
  return event.kind === "running" ? "running" : event.kind === "retrying" ? "retrying" : undefined;
}
