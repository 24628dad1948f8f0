export { type Dashboard, type DashboardOptions, startDashboard } from "./server/start-dashboard.js";
export type {
  ComponentSummary,
  DashboardSource,
  LogSlice,
  OutputHead,
  RunListQuery,
  SnapshotStepSummary,
  SnapshotSummary,
  StackSummary,
  StartedCommand,
} from "./source.js";
