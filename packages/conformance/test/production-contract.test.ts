/**
 * The orchestrator kit's check of production claims: an orchestrator that
 * says `schedulable` or `deployable` without the methods behind the claim is
 * named with what it lacks; one whose claims are backed passes.
 */
import { BaseOrchestrator, type OrchestratorCapabilities, type RunHandle, type ScheduleInfo } from "@stackyard/core";
import { describe, expect, it } from "vitest";
import { productionContractGaps } from "../src/index.js";

const capabilities = (claims: Partial<OrchestratorCapabilities>): OrchestratorCapabilities => ({
  remote: true,
  synchronous: true,
  schedulable: false,
  honoursResources: false,
  parallel: false,
  ...claims,
});

class Claiming extends BaseOrchestrator<Record<string, never>> {
  readonly capabilities: OrchestratorCapabilities;
  constructor(claims: Partial<OrchestratorCapabilities>) {
    super({ id: "o", name: "claiming", flavor: "claiming", config: {}, sourceRoot: process.cwd() });
    this.capabilities = capabilities(claims);
  }
  async submit(): Promise<RunHandle> {
    return { wait: async () => [] };
  }
}

/** Claims schedulable and implements only some of the schedule methods. */
class HalfScheduling extends Claiming {
  async createSchedule(): Promise<ScheduleInfo> {
    throw new Error("unused");
  }
  async listSchedules(): Promise<ScheduleInfo[]> {
    return [];
  }
}

/** Backs both claims. */
class Complete extends HalfScheduling {
  async updateSchedule(): Promise<ScheduleInfo> {
    throw new Error("unused");
  }
  async getSchedule(): Promise<ScheduleInfo | undefined> {
    return undefined;
  }
  async deleteSchedule(): Promise<void> {}
  async deploy(): Promise<Record<string, unknown>> {
    return {};
  }
  async undeploy(): Promise<void> {}
}

describe("productionContractGaps", () => {
  it("names the schedule methods a schedulable orchestrator lacks", () => {
    expect(productionContractGaps(new HalfScheduling({ schedulable: true }))).toEqual([
      "orchestrator 'claiming' (flavor claiming) says capabilities.schedulable but does not implement updateSchedule, getSchedule, deleteSchedule",
    ]);
  });

  it("names deploy and undeploy for a deployable orchestrator without them", () => {
    expect(productionContractGaps(new Claiming({ deployable: true }))).toEqual([
      "orchestrator 'claiming' (flavor claiming) says capabilities.deployable but does not implement deploy, undeploy",
    ]);
  });

  it("passes an orchestrator whose claims are backed, and one that claims nothing", () => {
    expect(productionContractGaps(new Complete({ schedulable: true, deployable: true }))).toEqual([]);
    expect(productionContractGaps(new Claiming({}))).toEqual([]);
    // Methods without the claim are no gap: the CLI does not use them.
    expect(productionContractGaps(new HalfScheduling({}))).toEqual([]);
  });
});
