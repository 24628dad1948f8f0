import { ConfigError, parseMemory, type ResourceSettings } from "@stackyard/core";

/** How ECS runs the step's task. */
export type LaunchType = "FARGATE" | "EC2";

/** How a memory request between two valid Fargate sizes is handled. */
export type FargateMemoryMode = "round-up" | "exact";

const range = (from: number, to: number, step: number): number[] => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

/**
 * Valid Fargate task sizes (Linux): CPU units to the memory values (MiB)
 * allowed with them.
 */
export const FARGATE_CPU_MEMORY: Readonly<Record<number, readonly number[]>> = Object.freeze({
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
});

const FARGATE_CPUS = Object.keys(FARGATE_CPU_MEMORY)
  .map(Number)
  .sort((a, b) => a - b);

/** Error for step resources that ECS cannot run; names the step. */
export class StepResourceError extends ConfigError {
  constructor(
    readonly stepId: string,
    message: string,
    options?: { hint?: string },
  ) {
    super(message, options);
  }
}

/** CPU, memory and GPUs for one step's ECS task, as the compiler puts them in the overrides. */
export interface TaskResources {
  /** CPU units (1024 = one vCPU). */
  cpu?: number;
  /** Memory in MiB. */
  memoryMiB?: number;
  /** GPUs (EC2 launch type only). */
  gpus?: number;
  /** Memory asked for, in MiB, before rounding up to a valid Fargate size. */
  requestedMemoryMiB?: number;
}

const formatList = (values: readonly number[]): string => {
  if (values.length <= 6) return values.join(", ");
  const stepSize = values[1]! - values[0]!;
  const regular = values.every((v, i) => i === 0 || v - values[i - 1]! === stepSize);
  return regular ? `${values[0]} to ${values[values.length - 1]} in steps of ${stepSize}` : values.join(", ");
};

/**
 * Turns a step's `resources` (`cpu_count`, `memory`, `gpu_count`) into ECS
 * task sizes. For Fargate the pair is checked against the valid CPU/memory
 * combinations: memory is rounded up to the next valid size for the CPU
 * (`round-up`, the default: "4Gb" is 3815 MiB and becomes 4096), or must be
 * one of them (`exact`); a missing CPU is the smallest that allows the memory,
 * a missing memory the smallest allowed for the CPU.
 *
 * @throws StepResourceError naming the step and listing the valid values.
 */
export function resolveTaskResources(stepId: string, resources: ResourceSettings, launchType: LaunchType, mode: FargateMemoryMode = "round-up"): TaskResources {
  const { cpu_count, gpu_count, memory } = resources;
  const cpu = cpu_count === undefined ? undefined : Math.round(cpu_count * 1024);
  let memoryMiB: number | undefined;
  if (memory !== undefined) {
    let bytes: number;
    try {
      bytes = parseMemory(memory, `resources.memory of step '${stepId}'`);
    } catch (error) {
      throw new StepResourceError(stepId, (error as Error).message);
    }
    memoryMiB = Math.ceil(bytes / 1024 ** 2);
  }
  if (launchType === "EC2") {
    if (cpu !== undefined && cpu < 1) {
      throw new StepResourceError(stepId, `Step '${stepId}' asks for cpu_count ${cpu_count}, less than one CPU unit (1/1024 vCPU)`);
    }
    if (memoryMiB !== undefined && memoryMiB < 6) {
      throw new StepResourceError(stepId, `Step '${stepId}' asks for ${memory} of memory; ECS needs at least 6 MiB per container`);
    }
    return {
      ...(cpu !== undefined ? { cpu } : {}),
      ...(memoryMiB !== undefined ? { memoryMiB } : {}),
      ...(gpu_count ? { gpus: gpu_count } : {}),
    };
  }
  if (gpu_count) {
    throw new StepResourceError(stepId, `Step '${stepId}' asks for ${gpu_count} GPU(s), but Fargate tasks have no GPUs`, {
      hint: "Run GPU steps with launch type EC2 on a cluster with GPU instances, or remove gpu_count",
    });
  }
  if (cpu === undefined && memoryMiB === undefined) return {};
  const validCpus = FARGATE_CPUS.map((c) => `${c / 1024} (${c} units)`).join(", ");
  if (cpu !== undefined && !FARGATE_CPU_MEMORY[cpu]) {
    throw new StepResourceError(stepId, `Step '${stepId}' asks for cpu_count ${cpu_count}, which Fargate does not offer`, {
      hint: `Valid Fargate cpu_count values: ${validCpus}`,
    });
  }
  const fits = (c: number, mem: number): number | undefined => {
    const allowed = FARGATE_CPU_MEMORY[c]!;
    return mode === "exact" ? allowed.find((m) => m === mem) : allowed.find((m) => m >= mem);
  };
  if (cpu !== undefined) {
    const allowed = FARGATE_CPU_MEMORY[cpu]!;
    if (memoryMiB === undefined) return { cpu, memoryMiB: allowed[0]! };
    const chosen = fits(cpu, memoryMiB);
    if (chosen === undefined) {
      const bigger = FARGATE_CPUS.find((c) => c > cpu && fits(c, memoryMiB!) !== undefined);
      throw new StepResourceError(
        stepId,
        `Step '${stepId}' asks for cpu_count ${cpu_count} with memory ${memory} (${memoryMiB} MiB), not a valid Fargate combination. ` +
          `Valid memory for ${cpu} CPU units (MiB): ${formatList(allowed)}`,
        {
          hint:
            mode === "exact"
              ? `Use one of these memory sizes (e.g. "${allowed[0]}MiB")`
              : `Use at most ${allowed[allowed.length - 1]} MiB${bigger ? `, or cpu_count ${bigger / 1024}` : ""}`,
        },
      );
    }
    return { cpu, memoryMiB: chosen, ...(chosen !== memoryMiB ? { requestedMemoryMiB: memoryMiB } : {}) };
  }
  for (const c of FARGATE_CPUS) {
    const chosen = fits(c, memoryMiB!);
    if (chosen !== undefined) {
      return { cpu: c, memoryMiB: chosen, ...(chosen !== memoryMiB ? { requestedMemoryMiB: memoryMiB } : {}) };
    }
  }
  const maxMemory = FARGATE_CPU_MEMORY[16384]!;
  throw new StepResourceError(
    stepId,
    `Step '${stepId}' asks for memory ${memory} (${memoryMiB} MiB), which no Fargate task size offers` +
      (mode === "exact" ? " exactly" : "") +
      `. The largest is ${maxMemory[maxMemory.length - 1]} MiB`,
    { hint: "Set cpu_count and a memory size from the Fargate table, or use launch type EC2" },
  );
}
