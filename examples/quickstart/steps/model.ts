import { step } from "@stackyard/core";
import { RandomForestClassifier } from "ml-random-forest";
import { z } from "zod";
import type { Dataset } from "./data.js";

/** Trains a random forest; a custom materializer stores it, as a new version of the `iris_model` artifact. */
export const trainModel = step(
  {
    name: "train_model",
    outputs: { model: { materializer: "./materializers/random-forest.ts#randomForestMaterializer", name: "iris_model" } },
    parameters: z.object({
      n_estimators: z.number().int().positive().default(50),
      max_features: z.number().gt(0).lte(1).default(0.8),
      seed: z.number().int().default(42),
    }),
    resources: { cpu_count: 1, memory: "512MiB" },
  },
  async ({ train }: { train: Dataset }, ctx) => {
    const forest = new RandomForestClassifier({
      nEstimators: ctx.parameters.n_estimators,
      maxFeatures: ctx.parameters.max_features,
      seed: ctx.parameters.seed,
      replacement: true,
    });
    forest.train(train.features, train.labels);
    console.log(`trained ${ctx.parameters.n_estimators} trees on ${train.features.length} samples`);
    return { model: forest };
  },
);

/** Accuracy of the model on the test set, overall and per class. */
export const evaluateModel = step(
  { name: "evaluate_model", outputs: { accuracy: "json", report: "json" } },
  async ({ model, test }: { model: RandomForestClassifier; test: Dataset }, ctx) => {
    const predicted = model.predict(test.features) as number[];
    const correct = predicted.filter((p, i) => p === test.labels[i]).length;
    const accuracy = correct / test.labels.length;
    const perClass = Object.fromEntries(
      test.classes.map((name, c) => {
        const idx = test.labels.flatMap((l, i) => (l === c ? [i] : []));
        return [name, idx.length ? idx.filter((i) => predicted[i] === c).length / idx.length : null];
      }),
    );
    console.log(`test accuracy: ${(accuracy * 100).toFixed(1)}% (${correct}/${test.labels.length})`);
    // On the run, so `stackyard runs list`, `runs compare` and the dashboard can chart it across runs.
    ctx.logMetadata({ accuracy, test_samples: test.labels.length }, { run: true });
    ctx.logMetadata({ per_class: perClass }, { output: "report" });
    return { accuracy, report: { accuracy, correct, total: test.labels.length, per_class: perClass } };
  },
);
