export { type Dashboard, type DashboardOptions, startDashboard } from "./server/start-dashboard.js";
export type { ComponentSummary, DashboardSource, OutputHead, RunListQuery, SnapshotStepSummary, SnapshotSummary, StackSummary } from "./source.js";
