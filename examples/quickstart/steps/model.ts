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

/** A confusion matrix as an SVG image: rows are true classes, columns predicted ones. */
export function confusionMatrixSvg(classes: readonly string[], labels: readonly number[], predicted: readonly number[]): string {
  const counts = classes.map((_, t) => classes.map((_, p) => labels.filter((l, i) => l === t && predicted[i] === p).length));
  const max = Math.max(1, ...counts.flat());
  const cell = 64;
  const left = 110;
  const top = 40;
  const size = classes.length * cell;
  const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const cells = counts.flatMap((row, t) =>
    row.map((n, p) => {
      const shade = Math.round(245 - (n / max) * 180);
      const x = left + p * cell;
      const y = top + t * cell;
      return `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade + 8},255)" stroke="#fff"/><text x="${x + cell / 2}" y="${y + cell / 2 + 5}" text-anchor="middle" font-size="16">${n}</text>`;
    }),
  );
  const rowLabels = classes.map((c, t) => `<text x="${left - 8}" y="${top + t * cell + cell / 2 + 5}" text-anchor="end" font-size="13">${escapeXml(c)}</text>`);
  const colLabels = classes.map((c, p) => `<text x="${left + p * cell + cell / 2}" y="${top - 10}" text-anchor="middle" font-size="13">${escapeXml(c)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + size + 10}" height="${top + size + 30}" font-family="sans-serif">${[...cells, ...rowLabels, ...colLabels].join("")}<text x="${left + size / 2}" y="${top + size + 22}" text-anchor="middle" font-size="12">predicted (rows: true class)</text></svg>\n`;
}

/** Accuracy of the model on the test set, overall and per class, and a confusion matrix to look at. */
export const evaluateModel = step(
  { name: "evaluate_model", outputs: { accuracy: "json", report: "json", confusion_matrix: "svg" } },
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
    return {
      accuracy,
      report: { accuracy, correct, total: test.labels.length, per_class: perClass },
      confusion_matrix: confusionMatrixSvg(test.classes, test.labels, predicted),
    };
  },
);
