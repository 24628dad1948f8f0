import { ConfigError } from "../errors/errors.js";

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4,
};

/**
 * Parses a memory size as users write it ("4Gb", "512MiB", "2GB", "1.5 GiB")
 * into bytes. Decimal units (KB, MB, GB) are powers of 1000; binary units
 * (KiB, MiB, GiB) are powers of 1024. Case does not matter.
 */
export function parseMemory(value: string, where = "memory"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const factor = match ? UNITS[(match[2] || "b").toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new ConfigError(`Invalid memory size '${value}' at ${where}: use a number and a unit such as 512MiB, 4Gb or 2GiB`);
  }
  return Math.round(Number(match[1]) * factor);
}

/** Bytes as a short human string in binary units: 268435456 -> "256 MiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
