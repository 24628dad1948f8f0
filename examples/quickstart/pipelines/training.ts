import { pipeline } from "@stackyard/core";
import { z } from "zod";
import { loadData, splitData } from "../steps/data.js";
import { evaluateModel, trainModel } from "../steps/model.js";

/**
 * The quickstart's training pipeline: load the iris data set, split it, train
 * a random forest, evaluate it. The model and its accuracy are artifacts.
 */
export const trainingPipeline = pipeline(
  {
    name: "training_pipeline",
    parameters: z.object({ test_size: z.number().default(0.2), n_estimators: z.number().int().default(50) }),
    enableCache: true,
    // Any step that fails for good posts to STACKYARD_ALERT_WEBHOOK (see hooks/alert.ts).
    onFailure: "./hooks/alert.ts#postToWebhook",
  },
  (params) => {
    const { dataset } = loadData();
    const { train, test } = splitData({ dataset }, { parameters: { test_size: params.test_size } });
    const { model } = trainModel({ train }, { parameters: { n_estimators: params.n_estimators } });
    evaluateModel({ model, test });
  },
);
