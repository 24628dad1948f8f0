import { describe, expect, it } from "vitest";
import { ConfigError, EntrypointConfiguration, entrypointProblems, type StepEntrypointContext, type StepOutcome } from "../src/index.js";

class QueueEntrypoint extends EntrypointConfiguration {
  static override options() {
    return { queue: { description: "the queue the step was sent to", required: true }, niceness: { description: "the step's priority" } };
  }
}

class EnvRunEntrypoint extends EntrypointConfiguration {
  static override runIdFromEnvironment(env: Readonly<Record<string, string | undefined>>): string | undefined {
    return env.EXECUTION_ID;
  }
}

const error = (run: () => unknown): ConfigError => {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
};

describe("a subclass of EntrypointConfiguration", () => {
  it("round-trips its own options through the command it builds", () => {
    const options = { snapshot: "s3://b/s.json", step: "score[3]", run: "r1", attempt: "next" as const, extra: { queue: "gpu", niceness: "5" } };
    const command = QueueEntrypoint.commandFor(options);
    expect(command).toEqual([
      ...["stackyard", "step", "run", "--snapshot", "s3://b/s.json", "--step", "score[3]", "--run", "r1", "--attempt", "next"],
      ...["--queue", "gpu", "--niceness", "5"],
    ]);
    expect(QueueEntrypoint.parse(command.slice(3))).toEqual(options);
    expect(QueueEntrypoint.parse(["--snapshot=s", "--step=t", "--run=r", "--queue=cpu"])).toEqual({
      snapshot: "s",
      step: "t",
      run: "r",
      extra: { queue: "cpu" },
    });
  });

  it("refuses an unknown option, naming it and the options it takes", () => {
    const e = error(() => QueueEntrypoint.parse(["--snapshot", "s", "--step", "t", "--run", "r", "--queue", "q", "--queu", "q"]));
    expect(e.message).toBe("Unknown option --queu for entrypoint QueueEntrypoint");
    expect(e.hint).toContain("--queue VALUE: the queue the step was sent to");
    expect(e.hint).toContain("--niceness VALUE (optional)");
    expect(error(() => EntrypointConfiguration.parse(["--snapshot", "s", "--step", "t", "--run", "r", "--queue", "q"])).message).toBe(
      "Unknown option --queue for stackyard step run",
    );
  });

  it("refuses a missing required option and an option without a value", () => {
    expect(error(() => QueueEntrypoint.parse(["--snapshot", "s", "--step", "t", "--run", "r"])).message).toBe(
      "entrypoint QueueEntrypoint needs --queue (the queue the step was sent to)",
    );
    expect(error(() => QueueEntrypoint.parse(["--snapshot", "s", "--step", "t", "--run", "r", "--queue"])).message).toBe(
      "Option --queue of entrypoint QueueEntrypoint needs a value",
    );
    expect(error(() => QueueEntrypoint.parse(["--snapshot", "s", "--queue", "--step", "t", "--run", "r"])).message).toBe(
      "Option --queue of entrypoint QueueEntrypoint needs a value",
    );
    expect(error(() => EntrypointConfiguration.parse(["--snapshot", "s", "--step", "t"])).message).toBe("stackyard step run needs --run");
  });

  it("refuses to build a command without a required option or with one it does not declare", () => {
    expect(error(() => QueueEntrypoint.arguments({ snapshot: "s", step: "t", run: "r" })).message).toContain("needs --queue");
    expect(error(() => QueueEntrypoint.arguments({ snapshot: "s", step: "t", run: "r", extra: { queue: "q", colour: "red" } })).message).toBe(
      "entrypoint QueueEntrypoint has no option 'colour'",
    );
  });

  it("takes the run id from the environment when the command has none, if it says how", () => {
    const command = EnvRunEntrypoint.arguments({ snapshot: "s", step: "t" });
    expect(command).toEqual(["--snapshot", "s", "--step", "t"]);
    expect(EnvRunEntrypoint.parse(command, { EXECUTION_ID: "exec-7" }).run).toBe("exec-7");
    expect(EnvRunEntrypoint.parse([...command, "--run", "r"], { EXECUTION_ID: "exec-7" }).run).toBe("r");
    expect(error(() => EnvRunEntrypoint.parse(command, {})).message).toBe("entrypoint EnvRunEntrypoint needs --run");
  });

  it("wraps the step by default without changing its outcome", async () => {
    const outcome: StepOutcome = { stepId: "t", status: "completed" };
    const context: StepEntrypointContext = { options: { snapshot: "s", step: "t", run: "r" }, snapshot: {} as never };
    await expect(QueueEntrypoint.wrap(context, async () => outcome)).resolves.toBe(outcome);
  });

  it("is refused when it declares a base option, and anything else is refused as an entrypoint", () => {
    class Clashing extends EntrypointConfiguration {
      static override options() {
        return { run: { description: "mine" } };
      }
    }
    expect(entrypointProblems(Clashing)).toEqual(["entrypoint Clashing declares the option 'run', which is the base command's own"]);
    expect(error(() => Clashing.parse(["--snapshot", "s", "--step", "t", "--run", "r"])).message).toContain("declares the option 'run'");
    class Stranger {}
    expect(entrypointProblems(Stranger)[0]).toBe(
      "expected a class extending EntrypointConfiguration, got 'Stranger', a function or class that does not extend it",
    );
    expect(entrypointProblems({ options: {} })).toEqual(["expected a class extending EntrypointConfiguration, got object"]);
    expect(entrypointProblems(QueueEntrypoint)).toEqual([]);
  });
});
