export { type OutputPreview, previewOf } from "./server/previews.js";
export { type Dashboard, type DashboardOptions, startDashboard } from "./server/start-dashboard.js";
export type {
  ComponentSummary,
  DashboardSource,
  FlavorSummary,
  ItemTally,
  LogSlice,
  OutputHead,
  RunListQuery,
  RunSteps,
  SnapshotStepSummary,
  SnapshotSummary,
  StackSummary,
  StartedCommand,
} from "./source.js";
