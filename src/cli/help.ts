export { VERSION } from '../explore/provenance.js';
import { VERSION } from '../explore/provenance.js';

const COMMANDS = ['run', 'trace', 'replay', 'merge', 'table', 'check', 'k8s-job', 'hunt'] as const;
export type Command = (typeof COMMANDS)[number];
export const isCommand = (s: string): s is Command => (COMMANDS as readonly string[]).includes(s);

const OVERVIEW = `quotarace ${VERSION}: a discrete-event race simulator for Harvester/Rancher ResourceQuota strategies

Usage: quotarace <command> [options]

Commands:
  run <scenario.yaml|folder...>   run scenarios against strategies; tables, reports/, evidence of failures
  trace <scenario.yaml>           print one run as a timeline (--strategy NAME --run ID)
  replay <file.evidence>          re-run a saved failure; exit 1 once it no longer fails
  merge <results.json...>         combine the results of --shard runs into one run's totals and reports
  table <scenario.yaml|folder...> the strategies × scenarios Markdown table (README)
  check <strategy.ts>             type-check a strategy module against quotarace's types, then load it
  k8s-job <scenario...>           print a Kubernetes Indexed Job that runs a campaign in --shards pods, and its merge Job
  hunt --strategy NAME            search the scenario space for the smallest scenario that breaks a strategy

Options: -h, --help (also after a command: quotarace run --help), --version
Exit codes: 0 ok, 1 an expectation failed (or a replayed failure is fixed), 2 bad input or an output that cannot be written`;

const HELP: Record<Exclude<Command, "k8s-job">, string> = {
  run: `Usage: quotarace run <scenario.yaml|folder...> [options]

Runs every scenario (a file, or each .yaml of a folder) against its strategies, prints a
table per scenario, writes reports/<scenario>.html, reports/index.html and evidence files.

  --runs N            interleavings per strategy (default: the scenario's runs)
  --seed S            seed of the first run (default: the scenario's seed)
  --strategy NAME     a built-in strategy or a .ts/.js module path; repeat for several
  --explore MODE      random (default), pct or exhaustive
  --depth D           pct: the bug depth (default 3)
  --max-runs N        exhaustive: stop after N runs (default 10000)
  --delays K          exhaustive: only runs of at most K delays, searched bound by bound;
                      says which bound was covered completely
  --latency-points N  exhaustive: search at latency points 0 … N−1 (default 1), each a search of
                      its own with its own fixed latency per stream and its own --max-runs
                      (so up to N × --max-runs runs in all)
  --reduction R       exhaustive without --delays: dpor (default: one interleaving per order of
                      the steps that conflict) or none (every option, to cross-check DPOR)
  --window MS         events this close count as concurrent (default 25; 0 for exhaustive)
  --workers N         worker threads (default: the cores this process may use, within a container's CPU limit)
  --reports DIR       where reports and evidence go (default reports)
  --no-evidence       count failures without saving evidence
  --json              one JSON document instead of the tables
  --wide              tables with every counter (wider than 120 columns)
  --junit FILE        also write JUnit XML
  --shard i/n         run one shard's share of the seeds; combine with quotarace merge
  --results FILE      with --shard: where the results file goes
  --[no-]progress     progress bar on stderr (default: on a terminal, outside CI)
  --allow-module PATH run a strategy module a scenario's strategies: names (or every module in this folder)
  --strategy-timeout S  stop a user strategy's worker after S seconds without progress (default 10)
  --strategy-memory MB  heap of a user strategy's worker (default 1024)`,
  trace: `Usage: quotarace trace <scenario.yaml> --strategy NAME (--run ID | --seed N [--window MS]) [--only WHAT]

Prints one run as a timeline: one line per write, refusal or note, then the verdict.

  --strategy NAME     a built-in strategy or a .ts/.js module path
  --run ID            a run id as the tables, JSON and evidence list it (random:20, pct:d3:104, ...)
  --seed N            shorthand for --run random:N
  --window MS         with --seed: the concurrency window (default 25)
  --only WHAT         writes, refusals, notes, or actor=NAME (a prefix: actor=harvester)
  --strategy-timeout S  stop a user strategy's worker after S seconds without progress (default 10)
  --strategy-memory MB  heap of a user strategy's worker (default 1024)`,
  replay: `Usage: quotarace replay <file.evidence> [--strategy NAME] [--scenario FILE] [--expect-fixed]

Re-runs a saved failure; prints its timeline and explanation. Exits 0 while it still fails,
1 once it no longer does. First the recorded run is replayed with the recorded strategy: an
edited file, or one whose run no longer replays to its recorded trace (the code changed), is
refused with exit 2 and a message saying which.

  --strategy NAME     replay the same interleaving against another strategy (name or module path)
  --scenario FILE     the scenario file, if it moved since the evidence was saved
  --expect-fixed      invert the exit code: 0 if the run no longer fails (for CI)
  --allow-module PATH run the strategy module the file names (or the modules in this folder)
  --strategy-timeout S  stop a user strategy's worker after S seconds without progress (default 10)
  --strategy-memory MB  heap of a user strategy's worker (default 1024)`,
  merge: `Usage: quotarace merge <results.json...> [--json] [--wide] [--junit FILE] [--reports DIR] [--workers N]

Combines every shard's results file (quotarace run --shard i/n) into the same totals,
evidence, reports and gate as one unsharded run. Refuses (exit 2, naming the difference)
shards of another build or of other scenarios, modules or options, a module edited since,
tallies that disagree with their seed ranges, and run ids outside the campaign.

  --allow-module PATH run the strategy module the file names (or the modules in this folder)
  --strategy-timeout S  stop a user strategy's worker after S seconds without progress (default 10)
  --strategy-memory MB  heap of a user strategy's worker (default 1024)`,
  table: `Usage: quotarace table <scenario.yaml|folder...> [--strategy NAME|MODULE ...] [--update README.md] [--workers N]

Prints the strategies × scenarios table (quota correct / migrations succeeded) as Markdown;
--update replaces the generated table between its markers in that file.

  --strategy NAME     a built-in name or a .ts/.js module path, as for run; repeatable
                      (default: every built-in, plus each scenario's own strategies)
  --allow-module PATH run a strategy module a scenario's strategies: names (or every module in this folder)`,
  check: `Usage: quotarace check <strategy.ts>

Type-checks a strategy module against the quotarace package's types (strict), then loads it
and checks its default export is a strategy. Exit 0 if both pass, 2 otherwise.`,
  hunt: `Usage: quotarace hunt --strategy NAME [--baseline NAME] [--budget N|10m] [--seed N] [--space space.yaml] [--out DIR] [--workers N]

Searches the scenario space for the smallest scenario in which the strategy fails: each
generated scenario gets a short campaign of interleavings (random and PCT); scenarios that
came close to failing are mutated further. The first failure is shrunk (scenario, then
interleaving) and written to DIR as a scenario file, its evidence and its HTML report.
Exit 1 when a failure was found, 0 when nothing failed within the budget.

  --strategy NAME     the strategy on trial: a built-in or a .ts/.js module path
  --baseline NAME     keep only failures in scenarios NAME passes in every run (the design
                      on trial fails, the baseline does not); swap the two for the reverse
  --budget N|DUR      interleavings to spend (default 20000; deterministic), or wall time
                      such as 10m (stops between generations; see README "hunt")
  --seed N            the search seed (default 1): same seed, same result, any --workers
  --space FILE        a YAML space file narrowing or widening the default space
  --out DIR           where the results go (default reports/hunt)
  --kinds N           keep searching until N distinct failure kinds (default 1)
  --kind TEXT         count only failure kinds containing TEXT; repeat for all of several
  --shrink N          scenario candidates the shrinker may try (default 200)
  --workers N         worker threads (default: the cores this process may use, within a container's CPU limit)
  --[no-]progress     progress on stderr (default: on a terminal, outside CI)`,
};

const K8S_JOB_HELP = `Usage: quotarace k8s-job <scenario.yaml|folder...> --shards N --image IMAGE --results-pvc NAME [options]

Prints (never applies) a Kubernetes Indexed Job whose pod i runs quotarace run --shard i+1/N and
writes its results file to the PersistentVolumeClaim, a second Job that merges them into one
run's totals, reports and gate, and a pod to copy the reports from. The comments hold the shell
commands that apply them in order, wait for each Job to complete or fail, and copy the reports.

  --shards N          pods, one shard each (1 to 1000)
  --image IMAGE       a container image with quotarace on its PATH and the scenarios (Dockerfile)
  --results-pvc NAME  the PersistentVolumeClaim for results files and reports (required;
                      ReadWriteMany, or ReadWriteOnce with --parallelism 1)
  --name NAME         the Job's name (default quotarace; then NAME-merge and NAME-fetch)
  --parallelism P     pods running at once (default: --shards)
  --workdir DIR       the container's working directory
  --cpu Q             CPU request and limit per pod (default: --workers, else 1)
  --memory Q          memory request and limit per pod (default 1Gi)
  --ttl S             seconds a finished Job is kept (default 86400)
  --uid N             user, group and fsGroup of the pods (default 1000, the image's user)
  --runs, --seed, --strategy, --explore, --depth, --window, --workers   passed to every shard`;


export function commandHelp(command: Command | undefined): string {
  if (command === 'k8s-job') return K8S_JOB_HELP;
  return command ? HELP[command] : OVERVIEW;
}
