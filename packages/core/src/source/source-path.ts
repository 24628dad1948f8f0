import { SourceError } from "../errors/errors.js";

/** A parsed `MODULE#EXPORT` source path. */
export interface SourcePath {
  /** A package name or subpath (`@stackyard/orchestrator-docker`), or a file relative to the source root (`./flavors/my.ts`). */
  module: string;
  /** The export name. */
  exportName: string;
  /** True when `module` is a file path rather than a package. */
  isFile: boolean;
}

/**
 * Parses `MODULE#EXPORT`. A module starting with `.` or `/` is a file
 * (resolved against the source root); anything else is a package specifier.
 */
export function parseSourcePath(source: string): SourcePath {
  const hash = source.lastIndexOf("#");
  const module = hash > 0 ? source.slice(0, hash) : "";
  const exportName = hash > 0 ? source.slice(hash + 1) : "";
  // One `#` only: `a#b#c` is not a module `a#b` (no package or file name holds a `#`).
  if (!module || !exportName || module.includes("#") || !/^[A-Za-z_$][\w$]*$/.test(exportName)) {
    throw new SourceError(`Invalid source path '${source}': expected MODULE#EXPORT`, {
      hint: "For example ./orchestrator/my-docker-flavor.ts#LocalDockerOrchestratorFlavor or @stackyard/orchestrator-docker#dockerOrchestratorFlavor",
    });
  }
  return { module, exportName, isFile: module.startsWith(".") || module.startsWith("/") };
}

/** Formats a source path back to `MODULE#EXPORT`. */
export function formatSourcePath(source: SourcePath): string {
  return `${source.module}#${source.exportName}`;
}
