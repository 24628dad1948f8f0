import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, componentSettings, hasComponentSettings, safeComponentSettings } from "../src/index.js";

const schema = z.strictObject({ concurrency: z.number().int().positive().default(4), label: z.string().optional() });
const local = { type: "orchestrator", flavor: "local" } as const;

describe("component settings", () => {
  it("take settings.<type>, the flavor's own keys winning", () => {
    const settings = {
      orchestrator: { concurrency: 2, label: "generic" },
      "orchestrator.local": { concurrency: 8 },
      "orchestrator.docker": { label: "other" },
    };
    expect(componentSettings(settings, local, schema, "settings.orchestrator")).toEqual({ concurrency: 8, label: "generic" });
  });

  it("apply the schema's defaults; with a partial schema an unset key stays unset instead of failing", () => {
    expect(componentSettings({}, local, schema, "settings.orchestrator")).toEqual({ concurrency: 4 });
    const required = z.strictObject({ concurrency: z.number().int().positive() });
    expect(() => componentSettings({}, local, required, "settings.orchestrator")).toThrow(ConfigError);
    expect(componentSettings({}, local, required.partial(), "settings.orchestrator")).toEqual({});
  });

  it("say which key is wrong, and where", () => {
    const settings = { "orchestrator.local": { concurency: 2 } };
    expect(() => componentSettings(settings, local, schema, "settings.orchestrator of step 's'")).toThrow(ConfigError);
    expect(() => componentSettings(settings, local, schema, "settings.orchestrator of step 's'")).toThrow(
      "Invalid config for settings.orchestrator of step 's': unknown key 'concurency'",
    );
    expect(safeComponentSettings(settings, local, schema).success).toBe(false);
  });

  it("are there when either key is", () => {
    expect(hasComponentSettings({ docker: {} }, local)).toBe(false);
    expect(hasComponentSettings({ orchestrator: {} }, local)).toBe(true);
    expect(hasComponentSettings({ "orchestrator.local": {} }, local)).toBe(true);
  });
});
