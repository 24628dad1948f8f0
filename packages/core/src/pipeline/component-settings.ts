import type { z } from "zod";
import type { ComponentType } from "../component/component-type.js";
import { formatIssues } from "../config/validate.js";
import { ConfigError } from "../errors/errors.js";

/** Settings as authored (`Settings`) or as a snapshot holds them: keys such as `orchestrator` and `orchestrator.docker`. */
export type SettingsByKey = Readonly<Record<string, unknown>>;

/** Which component's settings to read: `settings.<type>`, then `settings."<type>.<flavor>"`. */
export interface SettingsKey {
  type: ComponentType;
  flavor: string;
}

/** True when a pipeline's or step's settings hold any for this component (either key). */
export function hasComponentSettings(settings: SettingsByKey, key: SettingsKey): boolean {
  return settings[key.type] !== undefined || settings[`${key.type}.${key.flavor}`] !== undefined;
}

/**
 * One component's settings, parsed with `schema` (its flavor's
 * `settingsSchema`, or a `.partial()` of it when unset keys should fall back
 * to the component's config): `settings.<type>` with the keys of
 * `settings."<type>.<flavor>"` winning. Compile checks them with it, and each
 * orchestrator reads its own with it; nothing else merges them.
 */
export function safeComponentSettings<S extends z.ZodType>(settings: SettingsByKey, key: SettingsKey, schema: S): z.ZodSafeParseResult<z.output<S>> {
  return schema.safeParse({
    ...(settings[key.type] as object | undefined),
    ...(settings[`${key.type}.${key.flavor}`] as object | undefined),
  }) as z.ZodSafeParseResult<z.output<S>>;
}

/** {@link safeComponentSettings}, or a {@link ConfigError} naming `where` and each key that does not validate. */
export function componentSettings<S extends z.ZodType>(settings: SettingsByKey, key: SettingsKey, schema: S, where: string): z.output<S> {
  const result = safeComponentSettings(settings, key, schema);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, where));
  return result.data;
}
