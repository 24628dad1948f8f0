import { createHash } from "node:crypto";
import { LIMITS, ServiceLimitError } from "./limits.js";

const SAFE = /[^A-Za-z0-9_.-]/g;

/** First `length` hex digits of the SHA-256 of `text`. */
export const shortHash = (text: string, length = 8): string => createHash("sha256").update(text).digest("hex").slice(0, length);

/**
 * Hands out unique state names. A wanted name is kept when it is at most 80
 * characters of `[A-Za-z0-9_.-]` and not taken; otherwise unsafe characters
 * become `_`, the name is truncated and a hash of the wanted name is appended
 * (`a_very_long_step_id...-1a2b3c4d`), so distinct steps always get distinct,
 * stable names.
 */
export class StateNamer {
  private readonly used = new Set<string>();

  /** Returns a unique state name for `wanted`, and records it as taken. */
  allocate(wanted: string, stepId?: string): string {
    const max = LIMITS.stateNameLength;
    const safe = wanted.replace(SAFE, "_");
    if (safe === wanted && safe.length > 0 && safe.length <= max && !this.used.has(safe)) {
      this.used.add(safe);
      return safe;
    }
    for (let salt = 0; salt < 1000; salt++) {
      const suffix = `-${shortHash(salt === 0 ? wanted : `${wanted}#${salt}`)}`;
      const name = `${safe.slice(0, max - suffix.length)}${suffix}`;
      if (!this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
    throw new ServiceLimitError(
      "state name length",
      wanted.length,
      max,
      `Cannot derive a unique state name of at most ${max} characters for '${wanted}'`,
      stepId === undefined ? undefined : { stepId },
    );
  }

  /** A copy with the same names taken, to try an alternative without touching this one. */
  fork(): StateNamer {
    const copy = new StateNamer();
    for (const name of this.used) copy.used.add(name);
    return copy;
  }

  /** True when `name` was handed out. */
  has(name: string): boolean {
    return this.used.has(name);
  }
}
