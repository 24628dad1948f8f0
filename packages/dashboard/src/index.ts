export { type Dashboard, type DashboardOptions, startDashboard } from "./server/start-dashboard.js";
export type { ComponentSummary, DashboardSource, RunListQuery, SnapshotStepSummary, SnapshotSummary, StackSummary } from "./source.js";
