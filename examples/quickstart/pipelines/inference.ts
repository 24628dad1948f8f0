import { externalArtifact, pipeline, step } from "@stackyard/core";
import type { RandomForestClassifier } from "ml-random-forest";
import { z } from "zod";
import { type Dataset, loadData } from "../steps/data.js";

/** Predicts the species of every flower with a trained model. */
export const predict = step(
  { name: "predict", outputs: { predictions: "json" } },
  async ({ model, dataset }: { model: RandomForestClassifier; dataset: Dataset }, ctx) => {
    const predicted = model.predict(dataset.features) as number[];
    const agree = predicted.filter((p, i) => p === dataset.labels[i]).length / predicted.length;
    ctx.logMetadata({ rows: predicted.length, agreement: agree });
    console.log(`predicted ${predicted.length} flowers; ${(agree * 100).toFixed(1)}% agree with their labels`);
    return { predictions: predicted.map((p) => dataset.classes[p]) };
  },
);

/**
 * Batch inference with the model another pipeline trained: the newest
 * `iris_model` version, or the one tagged `--param tag=production`. The
 * version it read is part of the run's lineage and of `predict`'s cache key.
 */
export const inferencePipeline = pipeline({ name: "inference_pipeline", parameters: z.object({ tag: z.string().default("latest") }) }, (params) => {
  const { dataset } = loadData();
  predict({ model: externalArtifact<RandomForestClassifier>("iris_model", { tag: params.tag }), dataset });
});
