import { pipeline, step, unmapped } from "@stackyard/core";
import { RandomForestClassifier } from "ml-random-forest";
import { z } from "zod";
import { type Dataset, loadData, splitData } from "../steps/data.js";

/** The grid to search, from the pipeline's parameters: one list per hyperparameter. */
export const sweepGrid = step(
  {
    name: "sweep_grid",
    outputs: { trees: "json", features: "json" },
    parameters: z.object({ trees: z.array(z.number().int().positive()), features: z.array(z.number().gt(0).lte(1)) }),
  },
  (_inputs: {}, ctx) => ({ trees: ctx.parameters.trees, features: ctx.parameters.features }),
);

/** One candidate of the grid: a forest trained with these hyperparameters, scored on the test set. */
export const scoreCandidate = step(
  { name: "score_candidate" },
  async ({ n_estimators, max_features, train, test }: { n_estimators: number; max_features: number; train: Dataset; test: Dataset }, ctx) => {
    const forest = new RandomForestClassifier({ nEstimators: n_estimators, maxFeatures: max_features, seed: 42, replacement: true, noOOB: true });
    forest.train(train.features, train.labels);
    const predicted = forest.predict(test.features) as number[];
    const accuracy = predicted.filter((p, i) => p === test.labels[i]).length / test.labels.length;
    console.log(`${n_estimators} trees, max_features ${max_features}: accuracy ${(accuracy * 100).toFixed(1)}%`);
    ctx.logMetadata({ accuracy });
    return { n_estimators, max_features, accuracy };
  },
);

/** The best candidate (highest accuracy, then fewest trees), recorded on the run. */
export const pickBest = step({ name: "pick_best" }, ({ results }: { results: { n_estimators: number; max_features: number; accuracy: number }[] }, ctx) => {
  const ranked = [...results].sort((a, b) => b.accuracy - a.accuracy || a.n_estimators - b.n_estimators);
  const best = ranked[0] ?? null;
  console.log(`${results.length} candidates; best: ${JSON.stringify(best)}`);
  if (best) ctx.logMetadata({ best_accuracy: best.accuracy, best_n_estimators: best.n_estimators, best_max_features: best.max_features }, { run: true });
  return { best, candidates: results.length };
});

/**
 * A hyperparameter sweep: every combination of tree counts and feature
 * fractions is its own step run (`score_candidate[0]`, ...), run in
 * parallel and cached one by one; `pick_best` gets their results in order.
 *
 * stackyard run ./pipelines/sweep.ts#sweepPipeline -p 'trees=[10,50]'
 */
export const sweepPipeline = pipeline(
  {
    name: "sweep_pipeline",
    parameters: z.object({
      trees: z.array(z.number().int().positive()).default([10, 25, 50]),
      features: z.array(z.number().gt(0).lte(1)).default([0.5, 0.8]),
    }),
  },
  (params) => {
    const { dataset } = loadData();
    const { train, test } = splitData({ dataset });
    const grid = sweepGrid({}, { parameters: { trees: params.trees, features: params.features } });
    const scores = scoreCandidate.product(
      { n_estimators: grid.trees, max_features: grid.features, train: unmapped(train), test: unmapped(test) },
      { concurrency: 4 },
    );
    pickBest({ results: scores.collect() });
  },
);
