import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, newProject, removeProject, storeContent } from "./cli-harness.js";

/** Every file under the project's .stackyard/ (but the database, dumped by storeContent) with its size. */
function storeFiles(dir: string): string {
  const root = join(dir, ".stackyard");
  const walk = (folder: string): string[] =>
    readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.name.startsWith("stackyard.db") ? [] : [`${path.slice(root.length)} ${statSync(path).size}`];
    });
  return walk(root).sort().join("\n");
}

/** The store's tables, the secrets file and the file list of .stackyard/: what bad input must not change. */
const projectState = (dir: string) => `${storeContent(dir)}\n${storeFiles(dir)}`;

/** A secrets file holding `content`, private as the store keeps it. */
function writeSecrets(dir: string, content: string): void {
  const file = join(dir, ".stackyard", "secrets.json");
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

interface CaseOptions {
  env?: Record<string, string>;
  /** Prepares the project before the store is read for comparison. */
  setup?: (dir: string) => void;
  /** Undoes `setup` after the comparison. */
  cleanup?: (dir: string) => void;
  /** What stderr must not hold (wrong advice, echoed content). */
  never?: RegExp[];
}

type Case = [string, string[], RegExp[], CaseOptions?];

const NAME_HINT = /A name is 1 to 64 letters, digits, '_', '-' or '\.', not starting with '-' or '\.'/;
const ANSI_NAME = "a\u001b[31mred";

/** Names no component, connector or stack may have, with why each is refused. */
const BAD_NAMES: Array<[string, string, RegExp]> = [
  ["an empty name", "", /'': it is empty/],
  ["a blank name", "   ", /' {3}': it holds characters other than/],
  ["a 10,000-character name", "n".repeat(10_000), /'n{80}\.\.\.' \(10000 characters\): it is 10000 characters long/],
  ["a name with a newline", "two\nlines", /'two\\nlines': it holds characters other than/],
  ["a name with ANSI escape codes", ANSI_NAME, /'a\\x1b\[31mred': it holds characters other than/],
  ["a name starting with '-'", "-x", /'-x': it starts with '-'/],
];

/** `register` command lines for each kind of named thing, the name placed after `--` so that `-x` is a name. */
const REGISTER_WITH_NAME: Array<[string, (name: string) => string[]]> = [
  ["orchestrator", (name) => ["orchestrator", "register", "-f", "demo", "--", name]],
  ["service connector", (name) => ["service-connector", "register", "--type", "aws", "--", name]],
  ["stack", (name) => ["stack", "register", "-o", "default", "-a", "default", "--", name]],
];

/** Bad input: one clear message naming what and where, exit code 2, the store unchanged. */
describe("bad input never changes the store", () => {
  let dir: string;
  beforeAll(() => {
    dir = newProject("bad-input");
    for (const args of [
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoOrchestratorFlavor"],
      ["orchestrator", "register", "demo_orch", "-f", "demo", "--token=abc"],
      ["stack", "register", "demo_stack", "-o", "demo_orch", "-a", "default"],
      ["orchestrator", "flavor", "register", "./flavors/throwing-schema.ts#ThrowingSchemaFlavor"],
    ]) {
      const out = cli(dir, args);
      if (out.code !== 0) throw new Error(out.stderr);
    }
  });
  afterAll(() => removeProject(dir));

  const cases: Case[] = [
    [
      "a source path without #EXPORT",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts"],
      [/Invalid source path '.\/flavors\/demo-flavor.ts': expected MODULE#EXPORT/],
    ],
    [
      "a file that does not exist",
      ["orchestrator", "flavor", "register", "./flavors/nope.ts#X"],
      [/Cannot load '.\/flavors\/nope.ts': no file at .*flavors\/nope.ts/],
    ],
    [
      "a package that is not installed",
      ["orchestrator", "flavor", "register", "@nobody/not-installed#flavor"],
      [/Cannot load '@nobody\/not-installed': the package is not installed/, /npm install @nobody\/not-installed/],
    ],
    [
      "an export that does not exist, listing what the module exports",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#Missing"],
      [
        /Module '.\/flavors\/demo-flavor.ts' has no export named 'Missing'/,
        /It exports: DemoOrchestratorFlavor, DemoStoreFlavor, RemoteDemoFlavor, notAFlavor/,
      ],
    ],
    [
      "an export that is not a flavor",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#notAFlavor"],
      [/'.\/flavors\/demo-flavor.ts#notAFlavor' is not a Stackyard flavor: 'name' must be/],
    ],
    [
      "a flavor of the wrong type",
      ["orchestrator", "flavor", "register", "./flavors/demo-flavor.ts#DemoStoreFlavor"],
      [
        /is a artifact store flavor, not a orchestrator flavor|is an? artifact store flavor, not an? orchestrator flavor/,
        /stackyard artifact-store flavor register/,
      ],
    ],
    ["an unknown flavor", ["orchestrator", "register", "x", "-f", "kubeflow"], [/No orchestrator flavor named 'kubeflow'/, /Available: .*demo.*local/]],
    [
      "an unknown config key",
      ["orchestrator", "register", "x", "-f", "demo", "--concurrancy=3"],
      [/Invalid config for orchestrator 'x' \(flavor demo\): unknown key 'concurrancy'/, /Config keys of flavor demo: concurrency, verbose, subnet_ids, token/],
    ],
    [
      "a mistyped config value",
      ["orchestrator", "register", "x", "-f", "demo", "--concurrency=lots"],
      [/Invalid config for orchestrator 'x' \(flavor demo\): 'concurrency': .*expected number/i],
    ],
    ["a duplicate component name", ["orchestrator", "register", "demo_orch", "-f", "demo"], [/An? orchestrator named 'demo_orch' already exists/]],
    ["a duplicate stack name", ["stack", "register", "demo_stack", "-o", "default", "-a", "default"], [/A stack named 'demo_stack' already exists/]],
    [
      "a stack with a component that does not exist",
      ["stack", "register", "s2", "-o", "ghost", "-a", "default"],
      [/No orchestrator named 'ghost'/, /Registered orchestrators: default, demo_orch/],
    ],
    ["deleting a component a stack uses", ["orchestrator", "delete", "demo_orch"], [/Orchestrator 'demo_orch' is used by stack 'demo_stack'/]],
    ["deleting the active stack", ["stack", "delete", "default"], [/Stack 'default' is the active stack/]],
    ["setting a stack that does not exist", ["stack", "set", "nope"], [/No stack named 'nope'/]],
    ["an unknown command", ["stak", "list"], [/unknown command 'stak'/]],
    ["a bad flag", ["stack", "list", "--jsn"], [/unknown option '--jsn'/]],
    ["a missing required flag", ["orchestrator", "register", "x"], [/required option '-f, --flavor <flavor>' not specified/]],
    [
      "an output name that would leave its step's folder",
      ["run", "./pipelines/bad-output.ts#badOutput"],
      [/Step 'escape' has an invalid output name "\.\.\/\.\.\/other-run\/train\/model": use letters, digits, '_' or '-'/],
    ],
    ...["0", "-2", "two", "1.5"].map((attempt): [string, string[], RegExp[]] => [
      `step run with --attempt ${attempt}`,
      ["step", "run", "--snapshot", "s3://bucket/snapshots/snap.json", "--step", "train", "--run", "r1", `--attempt=${attempt}`],
      [new RegExp(`Invalid --attempt '${attempt.replace(".", "\\.")}': expected a whole number from 1 \\(the attempt to run\\) or 'next'`)],
    ]),
    // Names: one rule for components, connectors and stacks, at register and rename.
    ...REGISTER_WITH_NAME.flatMap(([kind, command]) =>
      BAD_NAMES.map(([what, name, why]): Case => [`${what} for a ${kind}`, command(name), [new RegExp(`Invalid ${kind} name ${why.source}`), NAME_HINT]]),
    ),
    [
      "renaming a component to ''",
      ["orchestrator", "update", "demo_orch", "--rename", ""],
      [/Invalid new orchestrator name \(--rename\) '': it is empty/, NAME_HINT],
    ],
    [
      "renaming a stack to a name with escape codes",
      ["stack", "update", "demo_stack", "--rename", ANSI_NAME],
      [/Invalid new stack name \(--rename\) 'a\\x1b\[31mred'/, NAME_HINT],
    ],
    ["looking up a name with escape codes, quoted without them", ["stack", "describe", ANSI_NAME], [/No stack named 'a\\x1b\[31mred'/]],
    // runs list
    ["runs list --limit abc", ["runs", "list", "--limit", "abc"], [/Invalid --limit 'abc': expected a whole number from 1/]],
    ["runs list --limit -1", ["runs", "list", "--limit=-1"], [/Invalid --limit '-1': expected a whole number from 1/]],
    [
      "runs list --status bogus",
      ["runs", "list", "--status", "bogus"],
      [/Invalid --status 'bogus': a run's status is one of initializing, running, completed, cached, failed, skipped, retrying, stopped/],
    ],
    // Config values
    [
      "broken JSON in a list field",
      ["orchestrator", "register", "x", "-f", "demo", '--subnet_ids=["subnet-1",'],
      [/Invalid config for orchestrator 'x' \(flavor demo\): 'subnet_ids' is not valid JSON/],
    ],
    [
      "broken JSON in a list field on update",
      ["orchestrator", "update", "demo_orch", "--subnet_ids={oops"],
      [/Invalid config for orchestrator 'demo_orch' \(flavor demo\): 'subnet_ids' is not valid JSON/],
    ],
    [
      "a config key given twice",
      ["orchestrator", "register", "x", "-f", "demo", "--concurrency=1", "--concurrency=2"],
      [/Config key '--concurrency' is given twice \('1' and '2'\)/],
    ],
    ...["__proto__", "constructor"].map(
      (key): Case => [
        `--${key} as a config key`,
        ["orchestrator", "register", "x", "-f", "demo", `--${key}=1`],
        [new RegExp(`Invalid config key --${key}: '${key}' cannot be a config key`)],
      ],
    ),
    ...["__proto__", "constructor"].map(
      (key): Case => [
        `--unset ${key}`,
        ["orchestrator", "update", "demo_orch", "--unset", key],
        [new RegExp(`orchestrator 'demo_orch' has no config value '${key}' to unset`)],
      ],
    ),
    // run
    ["run --run-name ''", ["run", "./pipelines/hello.ts#hello", "--run-name", ""], [/Invalid --run-name '': a run name cannot be empty/]],
    [
      "a run_name with an unknown placeholder, before anything is stored",
      ["run", "./pipelines/hello.ts#hello", "--config", "bogus-run-name.yaml"],
      [/Unknown placeholder '\{bogus_placeholder\}' in run name '\{bogus_placeholder\}'/, /run_name in .*bogus-run-name\.yaml/],
      {
        setup: (d) => writeFileSync(join(d, "bogus-run-name.yaml"), 'run_name: "{bogus_placeholder}"\n'),
        cleanup: (d) => rmSync(join(d, "bogus-run-name.yaml")),
      },
    ],
    [
      "a YAML alias bomb in a run configuration",
      ["run", "./pipelines/hello.ts#hello", "--config", "bomb.yaml"],
      [/Malformed YAML in .*bomb\.yaml: Excessive alias count/],
      {
        setup: (d) =>
          writeFileSync(
            join(d, "bomb.yaml"),
            ["a: &a [x, x, x, x, x, x, x, x, x]", ..."bcdefgh"]
              .map((c, i, all) =>
                i === 0
                  ? c
                  : `${c}: &${c} [${Array(9)
                      .fill(`*${all[i - 1]![0]}`)
                      .join(", ")}]`,
              )
              .join("\n") + "\n",
          ),
        cleanup: (d) => rmSync(join(d, "bomb.yaml")),
      },
    ],
    // init and the store's location
    ["init --path of a file", ["init", "--path", "pipelines/hello.ts"], [/Cannot initialise .*pipelines\/hello\.ts: .*hello\.ts is a file, not a folder/]],
    ...(process.platform === "linux"
      ? [["init --path under /proc", ["init", "--path", "/proc/1/nope"], [/Cannot initialise \/proc\/1\/nope: cannot make the folder \/proc\/1\/nope/]] as Case]
      : []),
    [
      "STACKYARD_STORE naming a folder",
      ["stack", "list"],
      [/The Stackyard store .*a-folder is a folder, not a database file/, /STACKYARD_STORE must name the store's database file/],
      { env: { STACKYARD_STORE: "a-folder" }, setup: (d) => mkdirSync(join(d, "a-folder")), cleanup: (d) => rmSync(join(d, "a-folder"), { recursive: true }) },
    ],
    // Messages that quote the input as given and give advice that works
    [
      "a source path with two #",
      ["orchestrator", "flavor", "register", "a#b#c"],
      [/Invalid source path 'a#b#c': expected MODULE#EXPORT/],
      { never: [/npm install/] },
    ],
    ["run '#'", ["run", "#"], [/Invalid source path '#': expected MODULE#EXPORT/], { never: [/'##'/] }],
    [
      "a flavor whose type is no component type",
      ["orchestrator", "flavor", "register", "./flavors/odd-flavors.ts#TeleporterFlavor"],
      [/'type' must be a component type \(orchestrator, artifact_store, container_registry, service_connector\), not 'teleporter'/],
      { never: [/teleporter flavor register/] },
    ],
    [
      "a folder as a source module, without Stackyard's own files in the message",
      ["orchestrator", "flavor", "register", "./pipelines#x"],
      [/Cannot load '.\/pipelines': .*pipelines is a folder, not a file/],
      { never: [/dist\/|chunk-/] },
    ],
    // Flavor modules and schemas that misbehave
    [
      "a flavor config schema whose transform throws",
      ["orchestrator", "register", "x", "-f", "throwing", "--size=3"],
      [/Invalid config for orchestrator 'x' \(flavor throwing\): its config schema failed: size 3 is not a power of two/],
    ],
    [
      "a flavor module that calls process.exit(0) while imported",
      ["orchestrator", "flavor", "register", "./flavors/exits-on-import.ts#flavor"],
      [/Cannot load '\.\/flavors\/exits-on-import\.ts' \(.*flavors\/exits-on-import\.ts\): it calls process\.exit\(0\) while being imported/],
    ],
    [
      "a flavor module whose top-level await never settles",
      ["orchestrator", "flavor", "register", "./flavors/never-settles.ts#flavor"],
      [/Cannot load '\.\/flavors\/never-settles\.ts' \(.*flavors\/never-settles\.ts\): its top-level await never settled/],
    ],
    // Secret values read from a file, standard input or a variable that are not there.
    [
      "a secret read from a file that does not exist",
      ["orchestrator", "register", "x", "-f", "demo", "--token=@no-such-token.txt"],
      [/Cannot read --token from '.*no-such-token\.txt': no such file/],
    ],
    ["a secret read from '@' without a file", ["orchestrator", "register", "x", "-f", "demo", "--token=@"], [/--token=@ names no file/]],
    [
      "a secret read from an empty file",
      ["orchestrator", "update", "demo_orch", "--token=@empty-token.txt"],
      [/--token read from 'empty-token\.txt' is empty/],
      { setup: (d) => writeFileSync(join(d, "empty-token.txt"), "\n"), cleanup: (d) => rmSync(join(d, "empty-token.txt")) },
    ],
    [
      "a secret read from a variable that is not set",
      ["orchestrator", "register", "x", "-f", "demo", "--token=env:STACKYARD_TEST_NO_SUCH_VARIABLE"],
      [/--token reads environment variable 'STACKYARD_TEST_NO_SUCH_VARIABLE', which is not set/],
    ],
    [
      "two secrets read from standard input",
      ["service-connector", "register", "x", "--type", "aws", "--auth_method=secret-key", "--access_key_id=-", "--secret_access_key=-"],
      [/--access_key_id and --secret_access_key both read standard input/],
    ],
    // A secrets file that does not hold secrets by component id: named, never echoed, never replaced.
    ...[
      ["null", "null"],
      ["a string", '"SKzzSECRETzz"'],
      ["a list", "[1,2]"],
      ["broken JSON", '{"c1": {"secret_access_key": @"SKzzSECRETzz"}}'],
    ].map(
      ([what, content]): Case => [
        `a secrets file holding ${what}`,
        ["orchestrator", "register", "x", "-f", "demo", "--token=abc"],
        [/The secrets file .*secrets\.json cannot be read/],
        {
          setup: (d) => writeSecrets(d, content!),
          cleanup: (d) => rmSync(join(d, ".stackyard", "secrets.json")),
          never: [/SKzz/, /\[1,2\]/],
        },
      ],
    ),
  ];

  for (const [what, args, messages, options = {}] of cases) {
    it(`rejects ${what}`, () => {
      options.setup?.(dir);
      try {
        const before = projectState(dir);
        const out = cli(dir, args, options.env);
        expect(out.code, out.stderr).toBe(2);
        for (const message of messages) expect(out.stderr).toMatch(message);
        for (const message of options.never ?? []) expect(out.stderr).not.toMatch(message);
        expect(out.stderr.match(/^error:/gim), out.stderr).toHaveLength(1); // one message
        expect(out.stderr).not.toMatch(/at .*\.(js|ts):\d+/); // no stack traces
        expect(out.stderr).not.toContain("\u001b"); // no escape codes echoed
        expect(projectState(dir)).toBe(before);
      } finally {
        options.cleanup?.(dir);
      }
    });
  }

  it("reports a corrupt store file by name and leaves it untouched", () => {
    const other = newProject("corrupt");
    try {
      const file = join(other, ".stackyard", "stackyard.db");
      const garbage = Buffer.from("this is not a database, it is a grocery list\n".repeat(200));
      writeFileSync(file, garbage);
      const out = cli(other, ["stack", "list"]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(`The Stackyard store at ${file} cannot be read`);
      expect(readFileSync(file).equals(garbage)).toBe(true);
    } finally {
      removeProject(other);
    }
  });

  it("says how to start when there is no project", () => {
    const out = cli("/", ["stack", "list"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("No Stackyard project in / or any folder above it");
    expect(out.stderr).toContain("stackyard init");
  });
});
