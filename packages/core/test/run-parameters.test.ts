import { describe, expect, it } from "vitest";
import { z } from "zod";
import { applyRunParameters, ConfigError, PipelineDefinitionError, pipeline, step } from "../src/index.js";

const scale = step({ name: "scale", parameters: z.object({ factor: z.number(), offset: z.number().default(0) }) }, (_: {}, ctx) => ctx.parameters.factor);
const extra = step({ name: "extra" }, () => 1);

const p = pipeline({ name: "params", parameters: z.object({ factor: z.number().default(2), more: z.boolean().default(false) }) }, (params) => {
  scale({}, { parameters: { factor: params.factor, offset: params.factor * 10 } });
  if (params.more) extra();
});

describe("applyRunParameters", () => {
  it("gives every step the parameters a compile with the new values would, the configuration's step parameters still winning", () => {
    const snapshot = p.compile({ source: "./p.ts#p", config: { steps: { scale: { parameters: { offset: 5 } } } } });
    expect(snapshot.steps[0]!.parameters).toEqual({ factor: 2, offset: 5 });
    const applied = applyRunParameters(snapshot, p, { factor: 3 });
    expect(applied.pipeline.parameters).toEqual({ factor: 3, more: false });
    expect(applied.steps[0]!.parameters).toEqual({ factor: 3, offset: 5 });
    expect(applied.id).not.toBe(snapshot.id);
    expect(applied.derived_from).toBe(snapshot.id);
    // Nothing to apply: the snapshot itself.
    expect(applyRunParameters(snapshot, p, {})).toBe(snapshot);
  });

  it("refuses unknown parameters, bad values and parameters that change the steps", () => {
    const snapshot = p.compile({ source: "./p.ts#p" });
    expect(() => applyRunParameters(snapshot, p, { factr: 3 })).toThrow(ConfigError);
    expect(() => applyRunParameters(snapshot, p, { factr: 3 })).toThrow(/Unknown parameter 'factr' for pipeline 'params'/);
    expect(() => applyRunParameters(snapshot, p, { factor: "x" })).toThrow(/'factor': Invalid input: expected number/);
    expect(() => applyRunParameters(snapshot, p, { more: true })).toThrow(PipelineDefinitionError);
    expect(() => applyRunParameters(snapshot, p, { more: true })).toThrow(/other steps than snapshot/);
  });
});
