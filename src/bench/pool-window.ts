import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_CAMPAIGN, tallyScenario, type CampaignOptions } from '../explore/campaign.js';
import { WorkerPool } from '../explore/pool.js';
import { loadScenario } from '../scenario/load.js';
import { builtinStrategy } from '../strategies/builtin.js';

/**
 * The worker pool against the machine's own ceiling: `n` separate processes, nothing shared,
 * on the same seeds. Both sides are timed the same way, over one wall-clock window from
 * starting (the processes, or the pool's workers) to the end of the last: a process or
 * worker that ends early leaves its core idle on that clock. Each side starts cold (load,
 * pilot, runs), so neither is flattered by the other's warm-up.
 *
 * On a machine other jobs share, the load moves between windows by more than the gap being
 * measured, and often in one direction for a minute: whichever side goes second in a pair
 * then loses. So a repetition is four windows, processes, pool, pool, processes (or the
 * reverse): a load that rises or falls evenly over them falls on both sides alike, and the
 * repetition's share is the processes' seconds over the pool's, summed over its windows.
 * The figure is the median of the repetitions' shares. The CPU seconds of each side are
 * printed too: they hardly move with the load, and tell work the pool adds (its
 * determinism checks, its messages) from time the machine took away.
 *
 * Alone: `npm run bench:pool [-- --reps N --runs R]`; `npm run bench` prints the same lines.
 */

const INCIDENT = 'scenarios/1-incident-7178.yaml';
const STRATEGY = 'pre-fix';
/** Seeds per worker (or process) in one window, and how many repetitions of four windows. */
export const WINDOW_RUNS = 300;
export const WINDOW_REPS = 4;

export interface Window {
  /** Wall-clock seconds, from starting to the end of the last process or worker. */
  readonly seconds: number;
  /** CPU seconds, all threads of all processes on that side. */
  readonly cpu: number;
}

export interface PoolVsProcesses {
  readonly cores: number;
  readonly runs: number;
  /** Per repetition: the processes' two windows and the pool's two, over the same seeds. */
  readonly reps: ReadonlyArray<{ readonly processes: readonly [Window, Window]; readonly pool: readonly [Window, Window]; readonly poolFirst: boolean }>;
  /** One process alone over `runs` seeds (how much the second core adds, for the reader). */
  readonly alone: readonly Window[];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/**
 * `n` processes started together, each running `runs` of the seeds 1..n·runs from a cold
 * start (serial.js --cold: load, pilot, runs; it prints its own CPU seconds on exit).
 */
async function processesWindow(n: number, runs: number): Promise<Window> {
  const serial = fileURLToPath(new URL('./serial.js', import.meta.url));
  const t0 = performance.now();
  const cpu = await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<number>((resolve, reject) => {
          const p = spawn(process.execPath, [serial, String(runs), '--from', String(1 + i * runs), '--cold'], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          p.stdout.on('data', (d: Buffer) => (out += d.toString()));
          p.on('error', reject);
          p.on('exit', (code) => (code === 0 ? resolve(Number(out.trim().split(/\s+/)[1])) : reject(new Error(`bench: serial.js exited with code ${code}`))));
        }),
    ),
  );
  return { seconds: (performance.now() - t0) / 1000, cpu: cpu.reduce((a, b) => a + b, 0) };
}

/**
 * The pool's campaign over the same seeds 1..n·runs, as `run` tallies it: from starting its
 * `n` workers to closing them, the pilot and the determinism checks included. Its CPU is
 * this process's over the window (this thread only waits and dispatches meanwhile).
 */
async function poolWindow(n: number, runs: number): Promise<Window> {
  const scenario = loadScenario(INCIDENT, (s) => builtinStrategy(s) !== undefined);
  const text = readFileSync(INCIDENT, 'utf8');
  const opts: CampaignOptions = { ...DEFAULT_CAMPAIGN, runs: n * runs, seed: 1, evidenceLimit: 0 };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const pool = new WorkerPool(n);
  try {
    await tallyScenario(scenario, text, [builtinStrategy(STRATEGY)!], opts, pool, { from: 1, to: 1 + n * runs });
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { seconds, cpu: (c.user + c.system) / 1e6 };
}

export async function measurePoolVsProcesses(cores: number, runs = WINDOW_RUNS, reps = WINDOW_REPS): Promise<PoolVsProcesses> {
  const out: Array<PoolVsProcesses['reps'][number]> = [];
  const alone: Window[] = [];
  for (let r = 0; r < reps; r++) {
    // Two windows of one process suffice for the informative "× one process".
    if (r < 2) alone.push(await processesWindow(1, runs));
    const poolFirst = r % 2 === 1;
    const outer = (): Promise<Window> => (poolFirst ? poolWindow(cores, runs) : processesWindow(cores, runs));
    const inner = (): Promise<Window> => (poolFirst ? processesWindow(cores, runs) : poolWindow(cores, runs));
    const a = await outer();
    const b = await inner();
    const c = await inner();
    const d = await outer();
    out.push(poolFirst ? { processes: [b, c], pool: [a, d], poolFirst } : { processes: [a, d], pool: [b, c], poolFirst });
  }
  return { cores, runs, reps: out, alone };
}

const seconds = (ws: readonly Window[]): number => ws.reduce((s, w) => s + w.seconds, 0);
const cpu = (ws: readonly Window[]): number => ws.reduce((s, w) => s + w.cpu, 0);

/** The pool's share of the processes' speed: the median of the repetitions' (processes' seconds over the pool's, for the same work). */
export function poolShare(m: PoolVsProcesses): number {
  return median(m.reps.map((r) => seconds(r.processes) / seconds(r.pool)));
}

/** The bench's lines for the comparison (the target's line is the caller's). */
export function poolLines(m: PoolVsProcesses): string[] {
  const { cores, runs } = m;
  const total = cores * runs;
  const procSecs = median(m.reps.flatMap((r) => r.processes.map((w) => w.seconds)));
  const poolSecs = median(m.reps.flatMap((r) => r.pool.map((w) => w.seconds)));
  const cpuRatio = median(m.reps.map((r) => cpu(r.pool) / cpu(r.processes)));
  const soloRate = runs / median(m.alone.map((w) => w.seconds));
  return [
    `  ${cores} separate processes: ${fmt(total / procSecs)} interleavings/s over one window (${fmt(total)} runs, started together, timed to the end of the last; ${fmt(total / procSecs / soloRate, 2)}× one process: nothing shared, the most any pool can get from this machine)`,
    `  pool of ${cores}, same window: ${fmt(total / poolSecs)} interleavings/s (the campaign over the same ${fmt(total)} seeds, from starting its workers to closing them)`,
    `  CPU for the same work: pool ${fmt(median(m.reps.flatMap((r) => r.pool.map((w) => w.cpu))), 2)} s, processes ${fmt(median(m.reps.flatMap((r) => r.processes.map((w) => w.cpu))), 2)} s a window, medians (${fmt(cpuRatio, 3)}×, the median of the repetitions' paired ratios: the work the pool adds; CPU moves little with the machine's load, wall time a lot)`,
    `  repetitions (processes' seconds over the pool's, four windows each, processes or pool first in turn): ${m.reps.map((r) => `${fmt((100 * seconds(r.processes)) / seconds(r.pool))}% (${fmt(seconds(r.processes), 1)}/${fmt(seconds(r.pool), 1)} s)`).join(', ')}`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: number): number => {
    const at = args.indexOf(name);
    const v = at >= 0 ? Number(args[at + 1]) : dflt;
    if (!Number.isInteger(v) || v < 1) {
      console.error(`bench:pool: ${name} expects a whole number ≥ 1, got ${args[at + 1]}`);
      process.exit(2);
    }
    return v;
  };
  const cores = availableParallelism();
  const runs = flag('--runs', WINDOW_RUNS);
  const reps = flag('--reps', WINDOW_REPS);
  console.log(`quotarace bench, pool part: npm run bench:pool · node ${process.version} · ${cores} cores (${process.platform}/${process.arch}) · ${reps} repetitions of four windows, medians`);
  const m = await measurePoolVsProcesses(cores, runs, reps);
  for (const line of poolLines(m)) console.log(line);
  const share = poolShare(m);
  console.log(`  pool of ${cores} vs ${cores} processes: ${fmt(100 * share)}% (median of ${m.reps.length} repetitions)  ${share >= 0.9 ? 'met' : 'NOT MET'}: target ≥ 90%`);
}
