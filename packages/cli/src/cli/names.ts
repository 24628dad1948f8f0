import { ConfigError } from "@stackyard/core";
import { quoteInput } from "./quote-input.js";

/** The one rule for names of components, connectors and stacks. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/** What {@link NAME} allows, in words, for messages. */
export const NAME_RULE = "1 to 64 letters, digits, '_', '-' or '.', not starting with '-' or '.'";

/**
 * Refuses a name that breaks the name rule (empty, blank, too long, with
 * spaces, newlines or escape codes, or looking like a flag). `what` says whose
 * name it is and where it was given, e.g. "orchestrator name" or "--rename".
 */
export function checkName(name: string, what: string): void {
  if (NAME.test(name)) return;
  const why = !name.length
    ? "it is empty"
    : name.length > 64
      ? `it is ${name.length} characters long`
      : /^[-.]/.test(name)
        ? `it starts with '${name[0]}'`
        : "it holds characters other than letters, digits, '_', '-' and '.'";
  throw new ConfigError(`Invalid ${what} ${quoteInput(name)}: ${why}`, { hint: `A name is ${NAME_RULE}.` });
}
