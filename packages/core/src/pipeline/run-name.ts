import { ConfigError } from "../errors/errors.js";

const pad = (value: number, width = 2): string => String(value).padStart(width, "0");

/**
 * Fills a run name template: `{date}` becomes `2025_01_31` and `{time}`
 * `14_05_09_123456` (local time, as ZenML writes them). Any other
 * placeholder is a {@link ConfigError} naming it.
 */
export function formatRunName(template: string, now: Date = new Date()): string {
  return template.replace(/\{([^{}]*)\}/g, (_match, key: string) => {
    if (key === "date") return `${now.getFullYear()}_${pad(now.getMonth() + 1)}_${pad(now.getDate())}`;
    if (key === "time") {
      return `${pad(now.getHours())}_${pad(now.getMinutes())}_${pad(now.getSeconds())}_${pad(now.getMilliseconds() * 1000, 6)}`;
    }
    throw new ConfigError(`Unknown placeholder '{${key}}' in run name '${template}': use {date} and {time}`);
  });
}
