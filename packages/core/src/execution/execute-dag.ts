import { PipelineDefinitionError } from "../errors/errors.js";
import type { StepOutcome } from "../orchestrator/base-orchestrator.js";
import type { MapSpec } from "../pipeline/step.js";
import { allowedFailures, itemId, type MapRuntime, type MapSummary } from "./map-items.js";

/** A node of the DAG: an invocation id and the ids it waits for; `map` for a map step, run as one node per item. */
export interface DagStep {
  id: string;
  upstream: readonly string[];
  map?: MapSpec | undefined;
}

/** Options of {@link executeDag}. */
export interface ExecuteDagOptions {
  /** The steps, e.g. `snapshot.steps`. */
  steps: readonly DagStep[];
  /** Most steps (and map items) running at once (default: all that are ready). */
  concurrency?: number;
  /**
   * True (default): after a failure, start no new step, let running ones
   * finish, and skip the rest. False: keep running everything that does
   * not depend on a failed step.
   */
  failFast?: boolean;
  /** When aborted, no new step starts; the steps not started are marked `stopped`. */
  signal?: AbortSignal;
  /** Runs one step, or one item of a map step (`score[3]`); a rejection counts as a failure of that step. */
  runOne(stepId: string): Promise<StepOutcome>;
  /** Records a step that will not run: `skipped` (an upstream step failed, or fail-fast) or `stopped` (aborted). */
  markSkipped(stepId: string, reason: string, status: "skipped" | "stopped"): Promise<void> | void;
  /**
   * Expands and records map steps (`context.maps` of a submit). Needed when
   * a step has `map`; without it such a step fails, saying so.
   */
  maps?: MapRuntime | undefined;
}

const SUCCESS = new Set(["completed", "cached"]);

/** A map step while its items run. */
interface ActiveMap {
  index: number;
  id: string;
  items: number;
  /** Next item index to consider. */
  next: number;
  /** Items already answered before any ran (cached), by index. */
  done: ReadonlyMap<number, StepOutcome> | undefined;
  running: number;
  limit: number;
  allowed: number;
  completed: number;
  cached: number;
  failed: number[];
  stopped: number;
  firstError: string | undefined;
  /** No further item starts: too many failed, or the run is stopping. */
  halted: boolean;
  /** Recorded (`maps.finish` called). */
  finished: boolean;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Runs a DAG of steps in topological order, independent steps in parallel
 * up to `concurrency`. A map step is expanded when its upstream steps are
 * done (`maps.expand`), its items run through `runOne` as `id[0]`,
 * `id[1]`, ... within the same concurrency and the map's own, under its
 * failure policy, and the map is recorded as one step (`maps.finish`).
 * Resolves with one outcome per step (a map counts once), in the order of
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
  /** Steps and items running now (what `concurrency` limits). */
  let running = 0;
  /** Map steps being expanded or recorded: work in flight that `concurrency` does not count. */
  let mapsBusy = 0;
  let done = 0;
  let stopping: string | undefined;
  const pending: Promise<void>[] = [];
  const active: ActiveMap[] = [];
  const started = new Uint8Array(steps.length);

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
      for (const map of active) map.halted = true;
    };

    /** A step (or a whole map) is over: settle it and release or skip what waits for it. */
    const complete = (i: number, outcome: StepOutcome): void => {
      settle(i, outcome);
      const id = steps[i]!.id;
      if (SUCCESS.has(outcome.status)) {
        for (const next of downstream[i]!) if (--waiting[next]! === 0) ready.push(next);
      } else {
        const reason = `upstream step '${id}' ${outcome.status === "stopped" ? "was stopped" : "failed"}`;
        for (const next of downstream[i]!) skipFrom(next, reason, outcome.status === "stopped" ? "stopped" : "skipped");
        if (failFast && !stopping && outcome.status !== "stopped") stopping = `step '${id}' failed and the run fails fast`;
      }
    };

    const runTask = (id: string): Promise<StepOutcome> => {
      let promise: Promise<StepOutcome>;
      try {
        promise = options.runOne(id);
      } catch (error) {
        promise = Promise.reject(error);
      }
      return promise.then(
        (outcome) => outcome,
        (error: unknown): StepOutcome => ({ stepId: id, status: "failed", error: errorText(error) }),
      );
    };

    const startStep = (i: number): void => {
      started[i] = 1;
      running++;
      void runTask(steps[i]!.id).then((outcome) => {
        running--;
        complete(i, outcome);
        pump();
      });
    };

    const startMap = (i: number): void => {
      started[i] = 1;
      const step = steps[i]!;
      if (!options.maps) {
        complete(i, {
          stepId: step.id,
          status: "failed",
          error: `step '${step.id}' is a map step, and this orchestrator ran the DAG without a map runtime (pass context.maps to executeDag)`,
        });
        return;
      }
      mapsBusy++;
      options.maps.expand(step.id).then(
        ({ items, done: answered }) => {
          mapsBusy--;
          const map: ActiveMap = {
            index: i,
            id: step.id,
            items,
            next: 0,
            done: answered,
            running: 0,
            limit: step.map!.concurrency ?? Number.POSITIVE_INFINITY,
            allowed: allowedFailures(step.map!, items),
            completed: 0,
            cached: 0,
            failed: [],
            stopped: 0,
            firstError: undefined,
            halted: stopping !== undefined,
            finished: false,
          };
          for (const outcome of answered?.values() ?? []) tally(map, -1, outcome);
          active.push(map);
          maybeFinishMap(map);
          pump();
        },
        (error: unknown) => {
          mapsBusy--;
          complete(i, { stepId: step.id, status: "failed", error: errorText(error) });
          pump();
        },
      );
    };

    const tally = (map: ActiveMap, item: number, outcome: StepOutcome): void => {
      if (outcome.status === "completed") map.completed++;
      else if (outcome.status === "cached") map.cached++;
      else if (outcome.status === "stopped") map.stopped++;
      else {
        if (item >= 0) map.failed.push(item);
        map.firstError ??= `${outcome.stepId}: ${outcome.error ?? outcome.status}`;
        if (map.failed.length > map.allowed) map.halted = true;
      }
    };

    /** Records the map once no item runs and none will start; true when it did. */
    const maybeFinishMap = (map: ActiveMap): boolean => {
      if (map.finished || map.running > 0) return false;
      if (!map.halted && nextItem(map) < map.items) return false;
      map.finished = true;
      active.splice(active.indexOf(map), 1);
      const ran = map.completed + map.cached + map.failed.length + map.stopped;
      const status: MapSummary["status"] = signal?.aborted
        ? "stopped"
        : map.failed.length > map.allowed || ran < map.items
          ? "failed"
          : map.cached === map.items && map.items > 0
            ? "cached"
            : "completed";
      const summary: MapSummary = {
        items: map.items,
        completed: map.completed,
        cached: map.cached,
        failed: map.failed.sort((a, b) => a - b),
        stopped: map.stopped,
        notStarted: map.items - ran,
        tolerated: map.allowed,
        status,
        ...(status === "failed"
          ? {
              error:
                map.failed.length > map.allowed
                  ? `${map.failed.length} of ${map.items} items failed${map.allowed ? ` (${map.allowed} tolerated)` : ""}; first: ${map.firstError}`
                  : `${map.items - ran} of ${map.items} items did not run: ${stopping ?? "the run ended"}`,
            }
          : {}),
      };
      mapsBusy++;
      options
        .maps!.finish(map.id, summary)
        .then(
          (outcome) => outcome,
          (error: unknown): StepOutcome => ({ stepId: map.id, status: "failed", error: errorText(error) }),
        )
        .then((outcome) => {
          mapsBusy--;
          complete(map.index, outcome);
          pump();
        });
      return true;
    };

    /** The next item of a map to start, past the ones already answered. */
    const nextItem = (map: ActiveMap): number => {
      while (map.next < map.items && map.done?.has(map.next)) map.next++;
      return map.next;
    };

    const startItem = (map: ActiveMap, item: number): void => {
      map.next = item + 1;
      map.running++;
      running++;
      const id = itemId(map.id, item);
      void runTask(id).then((outcome) => {
        running--;
        map.running--;
        tally(map, item, outcome);
        maybeFinishMap(map);
        pump();
      });
    };

    const pump = (): void => {
      if (signal?.aborted && !stopping) stopping = "the run was stopped";
      if (stopping) stopAll();
      while (!stopping && running < concurrency) {
        if (readyAt < ready.length) {
          const i = ready[readyAt++]!;
          if (outcomes[i] || started[i]) continue;
          if (steps[i]!.map) startMap(i);
          else startStep(i);
          continue;
        }
        // Items of the maps under way, the earliest map first.
        let startedOne = false;
        for (const map of active) {
          if (map.halted || map.running >= map.limit) continue;
          const item = nextItem(map);
          if (item >= map.items) continue;
          startItem(map, item);
          startedOne = true;
          break;
        }
        if (!startedOne) break;
      }
      for (const map of [...active]) if (map.halted || nextItem(map) >= map.items) maybeFinishMap(map);
      if (running === 0 && mapsBusy === 0) void Promise.all(pending).then(finishIfDone);
    };

    signal?.addEventListener("abort", () => pump(), { once: true });
    pump();
  });
}
