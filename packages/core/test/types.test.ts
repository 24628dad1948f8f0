import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { type OutputRef, pipeline, type StepContext, step } from "../src/index.js";

interface Dataset {
  rows: number[];
}

const load = step({ name: "load", outputs: { dataset: "json" }, parameters: z.object({ seed: z.number().default(1) }) }, async (_: {}, ctx) => {
  expectTypeOf(ctx.parameters).toEqualTypeOf<{ seed: number }>();
  expectTypeOf(ctx).toMatchTypeOf<StepContext<{ seed: number }>>();
  return { dataset: { rows: [ctx.parameters.seed] } as Dataset };
});
const count = step({ name: "count" }, async ({ dataset }: { dataset: Dataset }) => dataset.rows.length);
const label = step({ name: "label" }, async ({ n }: { n: string }) => n);

describe("type inference", () => {
  it("types outputs from the function's return and inputs from its first parameter", () => {
    const p = pipeline({ name: "typed", parameters: z.object({ seed: z.number().default(3) }) }, (params) => {
      expectTypeOf(params).toEqualTypeOf<{ seed: number }>();
      const loaded = load({}, { parameters: { seed: params.seed } });
      expectTypeOf(loaded.dataset).toEqualTypeOf<OutputRef<Dataset>>();
      const n = count({ dataset: loaded.dataset });
      expectTypeOf(n.output).toEqualTypeOf<OutputRef<number>>();
      // @ts-expect-error a number output cannot feed a string input
      label({ n: n.output });
      // @ts-expect-error unknown parameter
      load({}, { parameters: { sed: 1 } });
      // @ts-expect-error count needs its dataset input
      count();
      // @ts-expect-error no such output
      void loaded.datset;
    });
    expect(p.name).toBe("typed");
  });
});
