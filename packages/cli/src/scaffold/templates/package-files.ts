import type { ScaffoldNames } from "../names.js";

/** Versions a scaffolded package depends on. */
export interface ScaffoldVersions {
  /** Range of @stackyard/core and @stackyard/conformance, e.g. `^0.1.0`. */
  stackyard: string;
}

export function packageJson(n: ScaffoldNames, v: ScaffoldVersions): string {
  const manifest = {
    name: n.packageName,
    version: "0.1.0",
    description: `Stackyard ${n.cliType.replaceAll("-", " ")} flavor '${n.flavor}'`,
    type: "module",
    license: "Apache-2.0",
    sideEffects: false,
    files: ["dist"],
    exports: {
      ".": { types: "./dist/index.d.ts", import: "./dist/index.js" },
      "./implementation": { types: "./dist/implementation.d.ts", import: "./dist/implementation.js" },
      "./package.json": "./package.json",
    },
    main: "./dist/index.js",
    types: "./dist/index.d.ts",
    engines: { node: ">=20.19" },
    scripts: {
      build: "tsup",
      test: "vitest run",
      lint: "tsc -p tsconfig.json && publint && attw --pack . --profile esm-only",
    },
    peerDependencies: { "@stackyard/core": v.stackyard, zod: "^4.0.0" },
    devDependencies: {
      "@arethetypeswrong/cli": "^0.18.5",
      "@stackyard/conformance": v.stackyard,
      "@stackyard/core": v.stackyard,
      "@types/node": "^20.19.0",
      publint: "^0.3.25",
      tsup: "^8.5.1",
      typescript: "^6.0.3",
      vitest: "^4.1.12",
      zod: "^4.0.0",
    },
    // Lets `stackyard flavor list` show the flavor once the package is installed, without importing it.
    stackyard: { flavors: [{ name: n.flavor, type: n.type, source: `${n.packageName}#${n.flavorExport}` }] },
  };
  return JSON.stringify(manifest, null, 2) + "\n";
}

export function tsconfigJson(): string {
  const config = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      lib: ["ES2023"],
      types: ["node"],
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      declaration: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      noEmit: true,
    },
    include: ["src", "test"],
  };
  return JSON.stringify(config, null, 2) + "\n";
}

export function tsupConfig(): string {
  return `import { defineConfig } from "tsup";

export default defineConfig({
  // The flavor module and its implementation are separate entries, so
  // importing the flavor never loads the implementation's dependencies.
  entry: ["src/index.ts", "src/implementation.ts"],
  format: ["esm"],
  target: "node20",
  // tsup passes baseUrl to the declaration build, which TypeScript 6 deprecates.
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  clean: true,
  sourcemap: true,
});
`;
}

export function vitestConfig(): string {
  return `import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
`;
}

export function gitignore(): string {
  return "node_modules/\ndist/\n";
}

export function readme(n: ScaffoldNames): string {
  const source = `${n.packageName}#${n.flavorExport}`;
  return `# ${n.packageName}

The \`${n.flavor}\` ${n.cliType.replaceAll("-", " ")} flavor for [Stackyard](https://github.com/stackyard/stackyard).

## Install

\`\`\`sh
npm install ${n.packageName}
\`\`\`

Installed, the package declares its flavor in \`package.json\`, so
\`stackyard ${n.cliType} flavor list\` shows it without importing it.

## Register

\`\`\`sh
stackyard ${n.cliType} flavor register ${source}   # only needed when it is not installed as a package
stackyard ${n.cliType} register my_${n.flavor} -f ${n.flavor} [--key=value ...]
stackyard ${n.cliType} flavor describe ${n.flavor}           # the config keys, their types and defaults
\`\`\`

During development, register it by file instead:
\`stackyard ${n.cliType} flavor register ./${n.packageName.replace(/^@[^/]+\//, "")}/src/index.ts#${n.flavorExport}\`
(TypeScript loads without a build).

## Layout

| file | what it holds |
|---|---|
| \`src/index.ts\` | the flavor: name, type, zod config schema. Imported to list and validate; keep it light. |
| \`src/implementation.ts\` | \`${n.className}\`, loaded only when a component of this flavor is used. |
| \`test/\` | the Stackyard conformance suite for this component type, run with \`npm test\`. |

## Develop

\`\`\`sh
npm install
npm run build   # tsup: dist/index.js and dist/implementation.js with types
npm test        # vitest: the conformance kit against your ${n.cliType.replaceAll("-", " ")}
npm run lint    # tsc, publint, attw
\`\`\`

The package is an ES module (\`"type": "module"\`). \`zod\` is a peer
dependency, like \`@stackyard/core\`: the project that installs your flavor
provides the one copy that the CLI checks configs with; both are also dev
dependencies here so that the build and the tests find them.

## Test against unpublished Stackyard packages

To try a Stackyard version that is not on the registry (a branch, a fix),
pack its packages into tarballs and install those instead:

\`\`\`sh
# in a Stackyard checkout, once built (npm install && npm run build):
mkdir -p ../stackyard-tarballs
npm pack --pack-destination ../stackyard-tarballs -w @stackyard/core -w @stackyard/conformance

# here, before the first npm install (the registry may not have these versions):
npm install --save-dev ../path/to/stackyard-tarballs/stackyard-core-*.tgz ../path/to/stackyard-tarballs/stackyard-conformance-*.tgz
npm run build && npm test
\`\`\`

\`npm install\` of a \`.tgz\` records it in \`devDependencies\` as
\`file:...tgz\`; the peer ranges stay as they are. Put the version ranges back
before you publish. To register the flavor with an unpublished CLI as well,
pack \`stackyard\` with the packages it depends on
(\`-w stackyard -w @stackyard/orchestrator-local -w @stackyard/dashboard\`) and
install those tarballs in the project that uses the flavor.
`;
}
