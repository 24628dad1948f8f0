import type { Materializer } from "@stackyard/core";
import { RandomForestClassifier } from "ml-random-forest";

// The library's JSON form holds Infinity (unbounded tree depth), which JSON cannot.
const encode = (_key: string, value: unknown) => (value === Infinity ? "Infinity" : value);
const decode = (_key: string, value: unknown) => (value === "Infinity" ? Infinity : value);

/**
 * Stores a trained random forest as `model.json` and loads it back as a
 * classifier, so steps pass the model itself rather than its JSON form.
 * Named by source path in a step's outputs: `./materializers/random-forest.ts#randomForestMaterializer`.
 */
export const randomForestMaterializer: Materializer<RandomForestClassifier> = {
  name: "random_forest",
  async save(model, writer) {
    await writer.write("model.json", JSON.stringify(model.toJSON(), encode));
    return { dataType: "RandomForestClassifier" };
  },
  async load(reader) {
    return RandomForestClassifier.load(JSON.parse((await reader.readFile("model.json")).toString("utf8"), decode));
  },
};
