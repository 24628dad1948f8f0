import { trainingPipeline } from "./pipelines/training.js";

// Runs on the active stack (`stackyard stack set my_stack`), configured by the YAML file.
const result = await trainingPipeline.run({ config: new URL("./configs/training_pipeline.yaml", import.meta.url).pathname });
console.log(`run ${result.runName}: ${result.status}`);
