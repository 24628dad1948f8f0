import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";

/** Where one running step's output goes. */
export interface StepLogSink {
  /** Everything the step printed, as it will be stored in `logs.txt`. */
  chunks: string[];
  /** Called with each complete line. */
  onLine?: ((line: string, stream: "stdout" | "stderr") => void) | undefined;
  /** Partial lines waiting for their newline, per stream. */
  partial: { stdout: string; stderr: string };
}

const KEY = Symbol.for("stackyard.logCapture");
type Shared = { storage: AsyncLocalStorage<StepLogSink>; patchedConsoles: WeakSet<object>; streamsPatched: boolean };
const shared: Shared =
  ((globalThis as Record<symbol, unknown>)[KEY] as Shared | undefined) ??
  (((globalThis as Record<symbol, unknown>)[KEY] = {
    storage: new AsyncLocalStorage<StepLogSink>(),
    patchedConsoles: new WeakSet(),
    streamsPatched: false,
  } satisfies Shared) as Shared);

const CONSOLE_METHODS: Record<string, "stdout" | "stderr"> = {
  log: "stdout",
  info: "stdout",
  debug: "stdout",
  warn: "stderr",
  error: "stderr",
  trace: "stderr",
};

/** Appends text to a sink and reports complete lines. */
export function writeToSink(sink: StepLogSink, text: string, stream: "stdout" | "stderr"): void {
  sink.chunks.push(text);
  if (!sink.onLine) return;
  const buffered = sink.partial[stream] + text;
  const lines = buffered.split("\n");
  sink.partial[stream] = lines.pop() ?? "";
  if (!lines.length) return;
  // Outside the step's context: the listener may print (the CLI does), and
  // that must reach the terminal instead of coming back here.
  const onLine = sink.onLine;
  shared.storage.exit(() => {
    for (const line of lines) onLine(line, stream);
  });
}

/** Reports a trailing line without a newline at the end of a step. */
export function flushSink(sink: StepLogSink): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const rest = sink.partial[stream];
    const onLine = sink.onLine;
    if (rest && onLine) shared.storage.exit(() => onLine(rest, stream));
    sink.partial[stream] = "";
  }
}

/**
 * Installs the capture once per process (and per console object): console
 * methods and `process.stdout/stderr.write` check whether they run inside a
 * step (AsyncLocalStorage) and, if so, write to that step's log instead of
 * the terminal. Outside steps they behave as before. Parallel steps in one
 * process each get their own output.
 */
export function installLogCapture(): void {
  const target = globalThis.console as unknown as Record<string, (...args: unknown[]) => void>;
  if (!shared.patchedConsoles.has(target)) {
    shared.patchedConsoles.add(target);
    for (const [method, stream] of Object.entries(CONSOLE_METHODS)) {
      const original = target[method];
      if (typeof original !== "function") continue;
      target[method] = function captured(this: unknown, ...args: unknown[]) {
        const sink = shared.storage.getStore();
        if (!sink) return original.apply(this, args);
        writeToSink(
          sink,
          (method === "trace" ? `Trace: ${format(...args)}\n${new Error().stack?.split("\n").slice(2).join("\n") ?? ""}` : format(...args)) + "\n",
          stream,
        );
      };
    }
  }
  if (!shared.streamsPatched) {
    shared.streamsPatched = true;
    for (const stream of ["stdout", "stderr"] as const) {
      const target = process[stream];
      const original = target.write;
      target.write = function captured(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
        const sink = shared.storage.getStore();
        if (!sink) return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
        writeToSink(sink, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"), stream);
        const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
        if (callback) queueMicrotask(callback);
        return true;
      } as typeof target.write;
    }
  }
}

/** Runs `fn` with its output captured into `sink`. */
export function runCaptured<T>(sink: StepLogSink, fn: () => T): T {
  return shared.storage.run(sink, fn);
}
