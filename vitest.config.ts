import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

// Tests import workspace packages from their sources, so a change is tested
// without a rebuild. Subprocess tests (the CLI binary) use the built dist.
const alias = readdirSync(`${root}packages`).flatMap((dir) => {
  const pkgFile = `${root}packages/${dir}/package.json`;
  if (!existsSync(pkgFile)) return [];
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { name: string; exports?: Record<string, unknown> };
  return (
    Object.keys(pkg.exports ?? {})
      .filter((key) => key !== "./package.json")
      .map((key) => {
        const sub = key === "." ? "index" : key.slice(2);
        return { find: new RegExp(`^${pkg.name.replace("/", "\\/")}${key === "." ? "" : "\\/" + sub}$`), replacement: `${root}packages/${dir}/src/${sub}.ts` };
      })
      // Exports built from elsewhere in src (the CLI's ts-hooks) resolve to their dist.
      .filter((entry) => existsSync(entry.replacement))
  );
});

// Files that drive real engines (Docker, the registry, moto, state machines
// executed against moto) or pack every package: the "integration" project.
// Everything else is "unit" and runs on every supported Node (tools/src/ci).
// The fault-injection test is here too: it kills runners at many points and
// is about the store, not about Node, so it runs once.
const integration = [
  "examples/custom-orchestrator/test/readme.test.ts",
  "examples/aws-stepfunctions/test/walkthrough.test.ts",
  "examples/quickstart/test/quickstart-s3.test.ts",
  "packages/artifact-store-s3/test/s3-store.test.ts",
  "packages/connector-aws/test/conformance.test.ts",
  "packages/connector-aws/test/connector.test.ts",
  "packages/connector-aws/test/secrets.test.ts",
  "packages/cli/test/fault-injection.test.ts",
  "packages/container-registry-ecr/test/conformance.test.ts",
  "packages/container-registry-ecr/test/ecr-registry.test.ts",
  "packages/dashboard/test/*.test.ts",
  "packages/image-builder/test/build.test.ts",
  "packages/image-builder/test/workspace.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/cli.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/cli-retries.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/conformance.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/local-execution.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/moto-deploy.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/remote-runs.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/schedules.test.ts",
  "packages/orchestrator-aws-stepfunctions/test/sigint.test.ts",
  "packages/orchestrator-docker/test/*.test.ts",
  "tools/test/api-reference.test.ts",
  "tools/test/engines.test.ts",
  "tools/test/gpu-docker-engine.test.ts",
  "tools/test/guide-subprocess.test.ts",
  "tools/test/release-lint.test.ts",
  "tools/test/release-pack.test.ts",
];
const include = ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "tools/**/*.test.ts"];
const exclude = ["**/node_modules/**", "**/dist/**"];

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: "forks",
    // Files run three at a time: engine-bound files mostly wait on Docker and
    // moto, and the engine helpers take locks where files share an engine.
    maxWorkers: Number(process.env.STACKYARD_TEST_WORKERS ?? 3),
    reporters: ["default", "./tools/src/testing/slowest-files.ts"],
    projects: [
      { extends: true, test: { name: "unit", include, exclude: [...exclude, ...integration] } },
      { extends: true, test: { name: "integration", include: integration, exclude } },
    ],
  },
});
