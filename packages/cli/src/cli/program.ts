import { Command, Option } from "commander";
import { escapeControl } from "./quote-input.js";

/** Component types with their CLI spelling. */
const COMPONENT_COMMANDS = [
  { type: "orchestrator", cli: "orchestrator", label: "orchestrators" },
  { type: "artifact_store", cli: "artifact-store", label: "artifact stores" },
  { type: "container_registry", cli: "container-registry", label: "container registries" },
] as const;

/** Lazily imported command modules: start-up loads only the one that runs. */
const commands = {
  init: () => import("./commands/init.js"),
  status: () => import("./commands/status.js"),
  components: () => import("./commands/components.js"),
  flavors: () => import("./commands/flavors.js"),
  stacks: () => import("./commands/stacks.js"),
  stackRead: () => import("./commands/stack-read.js"),
  connectors: () => import("./commands/connectors.js"),
  run: () => import("./commands/run.js"),
  stepRun: () => import("./commands/step-run.js"),
  stepPrecompile: () => import("./commands/step-precompile.js"),
  runs: () => import("./commands/runs.js"),
  deployments: () => import("./commands/deployments.js"),
  schedules: () => import("./commands/schedules.js"),
  artifacts: () => import("./commands/artifacts.js"),
  flavorInit: () => import("./commands/flavor-init.js"),
  dashboard: () => import("./commands/dashboard.js"),
};

const json = () => new Option("--json", "print JSON instead of a table");

/** Builds the `stackyard` command line. Defining commands imports none of them. */
export function buildProgram(version: string): Command {
  const program = new Command("stackyard")
    .description("Run ML pipelines written in TypeScript on any stack")
    .version(version, "-v, --version")
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: false })
    // Set before subcommands are added: they copy these settings when created.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.split("\n").map(escapeControl).join("\n")) });

  program
    .command("init")
    .description("make .stackyard/ here with a default stack (local orchestrator, local artifact store)")
    .option("--path <dir>", "folder to initialise (the source root)", ".")
    .option("--quiet-if-exists", "say nothing and succeed when the folder is already initialised")
    .action(async (opts) => (await commands.init()).init(opts));

  program
    .command("status")
    .description("show the source root, the store and the active stack")
    .addOption(json())
    .action(async (opts) => (await commands.status()).status(opts));

  for (const { type, cli, label } of COMPONENT_COMMANDS) addComponentCommands(program, type, cli, label);
  addConnectorCommands(program);
  addStackCommands(program);

  addRunCommands(program);
  addArtifactCommands(program);
  addDashboardCommands(program);

  const flavor = program.command("flavor").description("flavors of every component type");
  flavor
    .command("list")
    .description("list every flavor available, without loading any")
    .option("-t, --type <type>", "only flavors of this component type")
    .addOption(json())
    .action(async (opts) => (await commands.flavors()).listFlavors(opts.type, opts));
  flavor
    .command("init")
    .description("create a flavor package: flavor, implementation, conformance test, build")
    .argument("<name>", "flavor name, e.g. my_runner")
    .requiredOption("-t, --type <type>", "orchestrator, artifact-store or container-registry")
    .option("--dir <dir>", "folder to create (default: the package name without its @scope, e.g. ./stackyard-orchestrator-my-runner)")
    .option("--package <name>", "npm package name (default: stackyard-<type>-<name> with _ as -, e.g. stackyard-orchestrator-my-runner)")
    .action(async (name, opts) => (await commands.flavorInit()).flavorInit(name, opts));

  return program;
}

function addFlavorCommands(parent: Command, type: string, cli: string): void {
  const flavor = parent.command("flavor").description(`flavors of ${cli.replaceAll("-", " ")}s`);
  flavor
    .command("register")
    .description("register a flavor by source path (MODULE#EXPORT); imports only the flavor module")
    .argument("<source>", "e.g. ./flavors/my-flavor.ts#MyFlavor or my-package#myFlavor")
    .action(async (source) => (await commands.flavors()).registerFlavor(type, source));
  flavor
    .command("list")
    .description("list flavors without loading them")
    .addOption(json())
    .action(async (opts) => (await commands.flavors()).listFlavors(type, opts));
  flavor
    .command("describe")
    .description("show a flavor's config and settings schema")
    .argument("<name>")
    .addOption(json())
    .action(async (name, opts) => (await commands.flavors()).describeFlavor(type, name, opts));
  flavor
    .command("delete")
    .description("forget a registered flavor")
    .argument("<name>")
    .action(async (name) => (await commands.flavors()).deleteFlavor(type, name));
}

function addComponentCommands(program: Command, type: string, cli: string, label: string): void {
  const group = program.command(cli).description(`register and manage ${label}`);
  group
    .command("register")
    .description(`register a new ${cli.replaceAll("-", " ")}; config as --key=value`)
    .argument("<name>")
    .requiredOption("-f, --flavor <flavor>", "flavor name")
    .option("--connector <name>", "service connector to authenticate with")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (name, opts, command: Command) => (await commands.components()).registerComponent(type, name, opts, command.args.slice(1)));
  group
    .command("list")
    .description(`list ${label}`)
    .addOption(json())
    .action(async (opts) => (await commands.components()).listComponents(type, opts));
  group
    .command("describe")
    .description("show a component's flavor, config (secrets masked) and stacks")
    .argument("<name>")
    .addOption(json())
    .action(async (name, opts) => (await commands.components()).describeComponent(type, name, opts));
  group
    .command("update")
    .description("change config values (--key=value), remove them (--unset key), or rename")
    .argument("<name>")
    .option("--unset <key...>", "config keys to remove")
    .option("--rename <new-name>", "new name")
    .option("--connector <name>", "service connector to authenticate with")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (name, opts, command: Command) => (await commands.components()).updateComponent(type, name, opts, command.args.slice(1)));
  group
    .command("delete")
    .description("delete a component that no stack uses")
    .argument("<name>")
    .action(async (name) => (await commands.components()).deleteComponent(type, name));
  addFlavorCommands(group, type, cli);
}

function addConnectorCommands(program: Command): void {
  const type = "service_connector";
  const group = program.command("service-connector").description("register and manage service connectors (credentials for cloud resources)");
  group
    .command("register")
    .description("register a connector; config as --key=value")
    .argument("<name>")
    .requiredOption("-t, --type <type>", "connector type, e.g. aws")
    .option("--auth-method <method>", "how to authenticate, e.g. secret-key, iam-role")
    .option("--auto-configure", "take region, profile and credentials from this machine's environment")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (name, opts, command: Command) => (await commands.connectors()).registerConnector(name, opts, command.args.slice(1)));
  group
    .command("list")
    .description("list service connectors")
    .addOption(json())
    .action(async (opts) => (await commands.components()).listComponents(type, opts));
  group
    .command("describe")
    .description("show a connector's type, auth method and config (secrets masked)")
    .argument("<name>")
    .addOption(json())
    .action(async (name, opts) => (await commands.components()).describeComponent(type, name, opts));
  group
    .command("update")
    .description("change config values (--key=value) or remove them (--unset key)")
    .argument("<name>")
    .option("--unset <key...>", "config keys to remove")
    .option("--rename <new-name>", "new name")
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (name, opts, command: Command) => (await commands.components()).updateComponent(type, name, opts, command.args.slice(1)));
  group
    .command("verify")
    .description("check the credentials work and list what they reach")
    .argument("<name>")
    .addOption(json())
    .action(async (name, opts) => (await commands.connectors()).verifyConnector(name, opts));
  group
    .command("list-resources")
    .description("list the resources the connector can reach")
    .argument("<name>")
    .option("--resource-type <type>", "only resources of this type, e.g. s3-bucket")
    .addOption(json())
    .action(async (name, opts) => (await commands.connectors()).listConnectorResources(name, opts));
  group
    .command("delete")
    .description("delete a connector no component uses")
    .argument("<name>")
    .action(async (name) => (await commands.components()).deleteComponent(type, name));
  addFlavorCommands(group, type, "service-connector");
}

function addStackCommands(program: Command): void {
  const group = program.command("stack").description("register stacks and choose the active one");
  const componentOptions = (command: Command) =>
    command
      .option("-o, --orchestrator <name>", "orchestrator")
      .option("-a, --artifact-store <name>", "artifact store")
      .option("-c, --container-registry <name>", "container registry");
  componentOptions(group.command("register").description("register a stack of components").argument("<name>"))
    .option("--set", "make it the active stack")
    .action(async (name, opts) => (await commands.stacks()).registerStack(name, opts));
  group
    .command("set")
    .description("make a stack the active one")
    .argument("<name>")
    .action(async (name) => (await commands.stacks()).setStack(name));
  group
    .command("list")
    .description("list stacks; the active one is marked")
    .addOption(json())
    .action(async (opts) => (await commands.stackRead()).listStacks(opts));
  group
    .command("describe")
    .description("show a stack's components (the active stack by default)")
    .argument("[name]")
    .addOption(json())
    .action(async (name, opts) => (await commands.stackRead()).describeStack(name, opts));
  componentOptions(group.command("update").description("replace components of a stack").argument("<name>"))
    .option("--remove-container-registry", "take the container registry out of the stack")
    .option("--rename <new-name>", "new name")
    .action(async (name, opts) => (await commands.stacks()).updateStack(name, opts));
  group
    .command("delete")
    .description("delete a stack (not the active one)")
    .argument("<name>")
    .action(async (name) => (await commands.stacks()).deleteStack(name));
}

function addDashboardCommands(program: Command): void {
  program
    .command("up")
    .description("serve the dashboard (web UI and JSON API) for this project; prints its URL with an access token")
    .option("--port <port>", "port to listen on (default: a free one)")
    .option("--host <host>", "interface to bind; anything but loopback exposes your runs to the network", "127.0.0.1")
    .option("--no-open", "do not open a browser")
    .option("-d, --detach", "run in the background; stop it with `stackyard down`")
    .action(async (opts) => (await commands.dashboard()).up(opts));
  program
    .command("down")
    .description("stop the dashboard started for this project")
    .action(async () => (await commands.dashboard()).down());
}

function addRunCommands(program: Command): void {
  program
    .command("run")
    .description("run a pipeline on the active stack")
    .argument("<source>", "the pipeline as MODULE#EXPORT, e.g. ./run.ts#trainingPipeline")
    .option("-c, --config <file>", "run configuration YAML (run_name, parameters, settings, resources, steps)")
    .option("--run-name <name>", "name of the run ({date} and {time} are filled in)")
    .option("--stack <name>", "run on this stack instead of the active one")
    .option("--no-cache", "run every step even if a cached result exists")
    .option("-p, --param <name=value...>", "pipeline parameters (values are JSON, or strings)")
    .option("-t, --tag <tag...>", "tag the run (repeatable; also `tags:` in the configuration)")
    .option("-q, --quiet", "print only warnings and errors")
    .action(async (source, opts) => (await commands.run()).runCommand(source, opts));

  program
    .command("pipeline")
    .description("pipelines: deploy one so that it runs without its client")
    .command("deploy")
    .description("compile a pipeline once for a stack and keep it as a named, versioned deployment")
    .argument("<source>", "the pipeline as MODULE#EXPORT, e.g. ./pipelines/training.ts#trainingPipeline")
    .option("-c, --config <file>", "run configuration YAML (parameters, settings, resources, steps)")
    .option("--name <name>", "deployment name (default: the pipeline's name); deploying again makes its next version")
    .option("--stack <name>", "deploy for this stack instead of the active one")
    .option("-p, --param <name=value...>", "pipeline parameters of the deployment (values are JSON, or strings)")
    .option("-t, --tag <tag...>", "tag every run of the deployment")
    .option("--no-cache", "its runs run every step even if a cached result exists")
    .action(async (source, opts) => (await commands.deployments()).deployCommand(source, opts));

  const deployments = program.command("deployment").description("deployments: list, describe, trigger, delete");
  deployments
    .command("list")
    .description("list deployments with their newest version")
    .addOption(json())
    .action(async (opts) => (await commands.deployments()).listDeploymentsCommand(opts));
  deployments
    .command("describe")
    .description("show a deployment: its snapshot, parameters, versions and runs")
    .argument("<name>", "deployment name, or NAME:VERSION (default: the newest version)")
    .addOption(json())
    .action(async (name, opts) => (await commands.deployments()).describeDeploymentCommand(name, opts));
  deployments
    .command("trigger")
    .description("start a run of a deployment on its stack")
    .argument("<name>", "deployment name, or NAME:VERSION to run an older version (default: the newest)")
    .option("-p, --param <name=value...>", "pipeline parameters over the deployment's, checked before anything runs")
    .option("--run-name <name>", "name of the run ({date} and {time} are filled in)")
    .option("-q, --quiet", "print only warnings and errors")
    .action(async (name, opts) => (await commands.deployments()).triggerCommand(name, opts));
  deployments
    .command("delete")
    .description("forget a deployment and its versions (its runs are kept)")
    .argument("<name>", "deployment name")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (name, opts) => (await commands.deployments()).deleteDeploymentCommand(name, opts));

  const schedules = program.command("schedule").description("schedules: runs of a deployment at set times, kept by its orchestrator");
  const timingOptions = (command: Command, creating: boolean): Command =>
    command
      .option("--cron <expr>", 'five-field cron expression, e.g. "0 3 * * *" (03:00 daily)')
      .option("--every <duration>", "an interval instead of --cron: 15m, 6h, 1d")
      .option("--timezone <tz>", "IANA time zone the cron expression is read in (default: UTC)")
      .option("--start <iso>", "first instant the schedule may fire")
      .option("--end <iso>", "last instant the schedule may fire")
      .option("--flexible-window <minutes>", "fire up to this many minutes after the set time (1-1440; 0: on time)")
      .option("-p, --param <name=value...>", creating ? "pipeline parameters of the runs it starts" : "pipeline parameters over the schedule's");
  timingOptions(
    schedules
      .command("create")
      .description("run a deployment on a cron schedule or at an interval, in a time zone")
      .argument("<name>", "schedule name")
      .requiredOption("--deployment <name>", "the deployment to run (its newest version)"),
    true,
  ).action(async (name, opts) => (await commands.schedules()).createScheduleCommand(name, opts));
  schedules
    .command("list")
    .description("list the schedules of this project's deployments")
    .addOption(json())
    .action(async (opts) => (await commands.schedules()).listSchedulesCommand(opts));
  schedules
    .command("describe")
    .description("show a schedule: its deployment, timing, state, parameters and target")
    .argument("<name>", "schedule name")
    .addOption(json())
    .action(async (name, opts) => (await commands.schedules()).describeScheduleCommand(name, opts));
  timingOptions(
    schedules
      .command("update")
      .description("change a schedule: only the options given change")
      .argument("<name>", "schedule name")
      .option("--deployment <name>", "run this deployment's newest version instead"),
    false,
  ).action(async (name, opts) => (await commands.schedules()).updateScheduleCommand(name, opts));
  schedules
    .command("pause")
    .description("stop a schedule from firing; it keeps its settings")
    .argument("<name>", "schedule name")
    .action(async (name) => (await commands.schedules()).setScheduleEnabledCommand(name, false));
  schedules
    .command("resume")
    .description("let a paused schedule fire again")
    .argument("<name>", "schedule name")
    .action(async (name) => (await commands.schedules()).setScheduleEnabledCommand(name, true));
  schedules
    .command("delete")
    .description("delete a schedule (runs it started are kept)")
    .argument("<name>", "schedule name")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (name, opts) => (await commands.schedules()).deleteScheduleCommand(name, opts));

  const step = program.command("step").description("the one-step entrypoint containers run");
  step
    .command("precompile")
    .description("compile the project's TypeScript files ahead of time, for step processes started from an image (step images run it when built)")
    .option("--into <dir>", "the folder for the compiled files (default: the one the environment names for step processes)")
    .action(async (opts) => (await commands.stepPrecompile()).precompileCommand(opts));
  step
    .command("run")
    .description("run exactly one step of a stored snapshot in this process")
    .option("--snapshot <uri>", "URI of the snapshot in the artifact store (required)")
    .option("--step <id>", "step invocation id (required)")
    .option("--run <id>", "run id (required unless the orchestrator's entrypoint takes it from the environment)")
    .option(
      "--attempt <n|next>",
      "run only this attempt (from 1), or the one after the step's last recorded attempt ('next'): its orchestrator retries a failed step",
    )
    .addHelpText("after", "\nThe run's orchestrator flavor may name an entrypoint configuration that takes options of its own (--NAME VALUE).")
    // The entrypoint's own options: it reads and validates them (an unknown one is exit code 2).
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts, command: Command) => (await commands.stepRun()).stepRunCommand(opts, command.args));

  const runs = program.command("runs").description("pipeline runs: list, inspect, read logs, stop, delete");
  runs
    .command("list")
    .description("list runs, newest first")
    .option("--pipeline <name>", "only runs of this pipeline")
    .option("--status <status>", "only runs with this status")
    .option("--tag <tag>", "only runs with this tag")
    .option("--limit <n>", "at most this many", "50")
    .option("--local", "only runs recorded here: do not ask the orchestrator for runs other machines started")
    .option("--stack <name>", "ask this stack's orchestrator for runs other machines started (default: the active stack)")
    .addOption(json())
    .action(async (opts) => (await commands.runs()).listRuns(opts));
  runs
    .command("describe")
    .description("show a run's steps, statuses, timings and artifacts")
    .argument("<run>", "run id, id prefix or name")
    .option("--items", "list every item of its map steps (default: a summary, and the items that did not succeed)")
    .addOption(json())
    .action(async (run, opts) => (await commands.runs()).describeRun(run, opts));
  runs
    .command("logs")
    .description("print the output its steps wrote")
    .argument("<run>", "run id, id prefix or name")
    .option("-s, --step <id>", "only this step: an item of a map step is 'score[3]'; a map step shows all its items")
    .action(async (run, opts) => (await commands.runs()).runLogs(run, opts));
  runs
    .command("retry")
    .description("run a failed run again: reuse the steps it finished, run the failed, skipped and stopped ones")
    .argument("<run>", "run id, id prefix or name")
    .option("--from <step>", "also run this step and everything after it again, even where they succeeded")
    .option("--all", "run every step again, reusing nothing: a rerun of the same snapshot on the same stack")
    .option("--run-name <name>", "name of the new run (default: <run>-retry, or <run>-rerun with --all)")
    .option("-q, --quiet", "print only warnings and errors")
    .action(async (run, opts) => (await commands.runs()).retryRun(run, opts));
  runs
    .command("stop")
    .description("stop a running run")
    .argument("<run>", "run id, id prefix or name")
    .action(async (run) => (await commands.runs()).stopRun(run));
  runs
    .command("delete")
    .description("delete a finished run's records")
    .argument("<run>", "run id, id prefix or name")
    .action(async (run) => (await commands.runs()).deleteRun(run));
  runs
    .command("compare")
    .description("two runs side by side: parameters, metadata, steps and outputs")
    .argument("<a>", "run id, id prefix or name")
    .argument("<b>", "run id, id prefix or name")
    .option("--all", "show rows that are equal too")
    .addOption(json())
    .action(async (a, b, opts) => (await commands.runs()).compareRuns(a, b, opts));
  runs
    .command("tag")
    .description("add tags to a run (or take them off with --remove)")
    .argument("<run>", "run id, id prefix or name")
    .argument("[tags...]", "tags to add")
    .option("-r, --remove <tag...>", "tags to take off")
    .action(async (run, tags, opts) => (await commands.runs()).tagRun(run, tags, opts));
}

function addArtifactCommands(program: Command): void {
  const group = program.command("artifact").description("artifact versions: list, describe, tag, lineage, show");
  group
    .command("list")
    .description("artifact names with their newest version")
    .option("--name <text>", "only names containing this text")
    .option("--tag <tag>", "only names with a version carrying this tag")
    .addOption(json())
    .action(async (opts) => (await commands.artifacts()).listArtifacts(opts));
  group
    .command("versions")
    .description("versions of an artifact, newest first")
    .argument("<name>", "artifact name")
    .option("--tag <tag>", "only versions with this tag")
    .option("--limit <n>", "at most this many", "50")
    .addOption(json())
    .action(async (name, opts) => (await commands.artifacts()).listVersions(name, opts));
  group
    .command("describe")
    .description("one version: where it is, what made it, its metadata and tags")
    .argument("<artifact>", "NAME (newest), NAME:VERSION or NAME@TAG")
    .addOption(json())
    .action(async (ref, opts) => (await commands.artifacts()).describeArtifact(ref, opts));
  group
    .command("tag")
    .description("tag a version (or take tags off with --remove)")
    .argument("<artifact>", "NAME (newest), NAME:VERSION or NAME@TAG")
    .argument("[tags...]", "tags to add")
    .option("-r, --remove <tag...>", "tags to take off")
    .action(async (ref, tags, opts) => (await commands.artifacts()).tagArtifact(ref, tags, opts));
  group
    .command("lineage")
    .description("what produced a version (run, step, inputs, parameters, code) and what consumed it")
    .argument("<artifact>", "NAME (newest), NAME:VERSION or NAME@TAG")
    .option("--depth <n>", "how many steps to follow each way", "3")
    .addOption(json())
    .action(async (ref, opts) => (await commands.artifacts()).artifactLineage(ref, opts));
  group
    .command("visualize")
    .description("list a version's visualizations, or save them as files with --out")
    .argument("<artifact>", "NAME (newest), NAME:VERSION or NAME@TAG")
    .option("-o, --out <dir>", "write each visualization into this folder (made if missing)")
    .option("--stack <name>", "read them through this stack's artifact store instead of the one their run used")
    .action(async (ref, opts) => (await commands.artifacts()).visualizeArtifact(ref, opts));
  group
    .command("show")
    .description("print a version's value: JSON and text as such, other kinds as their bytes when piped, or their start on a terminal")
    .argument("<artifact>", "NAME (newest), NAME:VERSION or NAME@TAG")
    .option("-o, --out <file>", "write the version's stored file to this new file (checked against its sha256)")
    .option("--stack <name>", "read it through this stack's artifact store instead of the active one's")
    .action(async (ref, opts) => (await commands.artifacts()).showArtifact(ref, opts));
}
