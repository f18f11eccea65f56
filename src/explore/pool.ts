import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StrategyFault } from '../strategies/fault.js';
import { isStrategyPath } from '../strategies/loader.js';
import { HB_BEAT, HB_RUN, HB_SLOTS, HB_STEP } from '../strategies/heartbeat.js';
import { handleJob } from './handle-job.js';
import { jobRunId, type Job } from './jobs.js';
import { malformedResult } from './results.js';

/**
 * The sandbox's limits for user strategies (modules loaded from a path). Each of their jobs
 * runs in a worker thread of its own, with a memory limit, under two watchdogs in this
 * thread: no heartbeat (one per simulated step) for `timeoutMs`, or more than `timeoutMs`
 * per simulated run the job holds, ends the job by terminating the worker, which
 * interrupts even a synchronous endless loop.
 */
export interface SandboxLimits {
  /** No progress for this long (ms) ends the strategy's job; and a job may take this long per run it holds. */
  readonly timeoutMs: number;
  /** V8's old-generation heap limit of a sandboxed worker (MB). */
  readonly memoryMb: number;
}

export const DEFAULT_SANDBOX: SandboxLimits = { timeoutMs: 10_000, memoryMb: 1024 };
export const SANDBOX_ENV = { timeout: 'QUOTARACE_STRATEGY_TIMEOUT', memory: 'QUOTARACE_STRATEGY_MEMORY' } as const;
export const SANDBOX_BOUNDS = { timeoutS: [0.1, 86_400], memoryMb: [32, 65_536] } as const;

/** The limits from --strategy-timeout / --strategy-memory, else the environment, else the defaults. */
export function sandboxLimits(flags: { timeoutS?: number; memoryMb?: number } = {}, env: NodeJS.ProcessEnv = process.env): SandboxLimits | string {
  const pick = (flag: number | undefined, name: string, envName: string, [lo, hi]: readonly [number, number], dflt: number): number | string => {
    if (flag !== undefined) return Number.isFinite(flag) && flag >= lo && flag <= hi ? flag : `--${name} expects a number in [${lo}, ${hi}], got ${String(flag)}`;
    const raw = env[envName];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    return Number.isFinite(v) && v >= lo && v <= hi && raw.trim() !== '' ? v : `${envName} expects a number in [${lo}, ${hi}], got "${raw.slice(0, 40)}"`;
  };
  const t = pick(flags.timeoutS, 'strategy-timeout', SANDBOX_ENV.timeout, SANDBOX_BOUNDS.timeoutS, DEFAULT_SANDBOX.timeoutMs / 1000);
  if (typeof t === 'string') return t;
  const m = pick(flags.memoryMb, 'strategy-memory', SANDBOX_ENV.memory, SANDBOX_BOUNDS.memoryMb, DEFAULT_SANDBOX.memoryMb);
  if (typeof m === 'string') return m;
  return { timeoutMs: Math.round(t * 1000), memoryMb: Math.round(m) };
}

/**
 * The watchdog's sense of time: a callback every `ms`, stopped by the function returned.
 * Time is counted in ticks, never read from a clock (no clock outside the CLI): a tick this
 * thread could not take, busy with its own work, is time a worker is not blamed for. Tests
 * pass their own ticker and step it by hand.
 */
export interface Ticker {
  every(ms: number, onTick: () => void): () => void;
}

export const intervalTicker: Ticker = {
  every(ms, onTick) {
    const t = setInterval(onTick, ms);
    return () => clearInterval(t);
  },
};

/**
 * The two watchdogs of one job, in ticks: `stalled` when the heartbeat has not moved for
 * `stallTicks`, `overtime` after `wallTicks` whatever the heartbeat did. The heartbeat is
 * shared memory the module's own thread can write; the wall limit is counted here, out of
 * its reach, so a module that forges progress is still stopped.
 */
export class Watchdog {
  private last: number | undefined;
  private still = 0;
  private ticks = 0;
  constructor(
    readonly stallTicks: number,
    readonly wallTicks: number,
  ) {}

  tick(beat: number): 'ok' | 'stalled' | 'overtime' {
    this.ticks++;
    if (beat !== this.last) {
      this.last = beat;
      this.still = 0;
    } else this.still++;
    // A stall is the more telling verdict when both are due.
    if (this.still >= this.stallTicks) return 'stalled';
    return this.ticks >= this.wallTicks ? 'overtime' : 'ok';
  }
}

/**
 * How many simulated runs a job holds: its wall-time budget is the sandbox's timeout per
 * run, plus two for loading the module. Counts are from the job, never from the worker.
 */
export function jobRuns(job: Job): number {
  switch (job.type) {
    case 'runs':
      return job.to - job.from + 1; // and the last run again in a fresh module instance
    case 'prepare':
      return 8; // the determinism checks (2 + 1 + 3 + 1 runs) and the pilot
    case 'exhaustive':
      return job.maxRuns;
    case 'evidence':
      return job.shrinkBudget + 4; // the first run, the shrink's candidates, two strict replays
    case 'describe':
      return 0;
    case 'command':
      return 4; // a trace, or a replay and its checks
  }
}

/** A job's wall-time budget holds this many timeouts beyond its runs', for loading the module. */
const LOAD_ALLOWANCE = 2;

/**
 * A user strategy's runs, split into jobs the same way for any --workers: each job runs in a
 * fresh instance of the module, so module state can only carry across the runs of one chunk,
 * and the chunks, hence the results, do not depend on how many workers there are. At least
 * 50 runs a chunk (loading an instance and its fresh-instance check cost a few runs), at most 32 chunks.
 */
export function sandboxChunk(runs: number): number {
  return Math.max(50, Math.ceil(runs / 32));
}

/** Does this job run a user's code (a strategy module)? Then it runs sandboxed, never inline. */
export function isSandboxed(job: Job): boolean {
  return job.type === 'command' || isStrategyPath(job.strategy);
}

/** The worker thread's entry (cli/worker.ts: a command job runs the CLI, which explore/ must not import). */
function workerUrl(): URL {
  const here = new URL('../cli/worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Running from TypeScript sources (tests): use the build.
  return new URL('../../dist/cli/worker.js', import.meta.url);
}

type Outcome = { ok: true; result: unknown } | { ok: false; detail: string; run?: string; step?: number };

/** What the current job wants to hear of its worker. */
interface JobEars {
  message(msg: unknown): void;
  error(e: unknown): void;
  exit(code: number): void;
}

/** Anything with a worker's events (a Worker; an EventEmitter in tests). */
export interface WorkerEvents {
  on(event: string, listener: (arg: any) => void): unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A worker's events for its whole life, routed to the job it is running. The listeners are
 * never removed: an event that arrives after its job ended (ERR_WORKER_OUT_OF_MEMORY
 * raised while the watchdog's terminate() is under way, a message posted on the way out)
 * still finds one and is dropped, where an 'error' with no listener would end the process.
 */
export class WorkerLine {
  private ears: JobEars | undefined;
  exited = false;
  /**
   * Resolves when the worker has loaded our code (and, sandboxed, taken its snapshot of the
   * built-ins) and is waiting for a job, or has ended: its own start-up is not charged to a
   * module's watchdog. Only its first message can say so; no module has run before it.
   */
  readonly ready: Promise<void>;
  private isReady = false;
  private markReady!: () => void;

  constructor(events: WorkerEvents) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    events.on('message', (m: unknown) => {
      if (!this.isReady) {
        this.isReady = true;
        this.markReady();
        if ((m as { ready?: unknown } | null)?.ready === true) return;
      }
      this.ears?.message(m);
    });
    events.on('messageerror', (e: unknown) => this.ears?.error(e));
    events.on('error', (e: unknown) => this.ears?.error(e));
    events.on('exit', (code: number) => {
      this.exited = true;
      this.markReady();
      this.ears?.exit(code);
    });
  }

  listen(ears: JobEars): void {
    this.ears = ears;
  }

  /** The job is over: later events go nowhere. */
  hangUp(): void {
    this.ears = undefined;
  }
}

interface Slot {
  readonly worker: Worker;
  readonly line: WorkerLine;
  /** Sandboxed: the module's heartbeat. */
  readonly hb?: Int32Array;
  /** Sandboxed: the one module this worker may run (its path and bundle). */
  readonly module?: string;
  jobs: number;
}

/**
 * A module's worker is replaced after this many jobs: each job imports a fresh instance of
 * the module, and module instances are never freed. Results do not depend on it (no job sees
 * another's instance), so neither does the output.
 */
const JOBS_PER_SANDBOX = 100;

/** The module a sandboxed job runs: its workers run no other code. Commands (trace, replay, check) get a worker each. */
function moduleOf(job: Job): string | undefined {
  return job.type === 'command' ? undefined : `${job.strategy}\n${job.bundle ?? ''}`;
}

/**
 * Runs jobs on worker threads and returns their results in job order, so the number of
 * workers never changes the output. Built-in strategies' jobs run inline with one worker,
 * else on workers that never load user code. A user strategy's job always runs in a sandboxed
 * worker (even with --workers 1) that only ever runs that module's jobs, each in a fresh
 * instance of the module, and is discarded on a fault or at close(): no module's patches
 * or state reach a built-in, another module, or (module state) another job. A worker that hangs, overruns, runs out of
 * memory, exits, patches the built-ins or answers out of turn makes its job a strategy
 * fault, not a crash: the other strategies still report.
 */
export class WorkerPool {
  /** Trusted workers: they never load user code. */
  private idle: Slot[] = [];
  /** Sandboxed workers, idle, per module: a worker that loaded a module runs that module's jobs only. */
  private idleFor = new Map<string, Slot[]>();
  private live = new Set<Slot>();
  /**
   * Message ids, never reused while the pool lives: a module's worker outlives a batch, and an
   * answer a module posts late (a timer of its own) must not pass for a later job's.
   */
  private seq = 0;

  constructor(
    readonly size: number,
    readonly limits: SandboxLimits = DEFAULT_SANDBOX,
    private readonly ticker: Ticker = intervalTicker,
  ) {}

  private spawn(sandboxed: boolean, module?: string): Slot {
    const buffer = sandboxed ? new SharedArrayBuffer(HB_SLOTS * 4) : undefined;
    const worker = new Worker(workerUrl(), {
      workerData: { hb: buffer, sandboxed, command: sandboxed && module === undefined },
      // Built-ins are trusted: as inline, no limit. A module's worker gets the sandbox's heap.
      ...(sandboxed ? { resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.min(64, Math.floor(this.limits.memoryMb / 8))) } } : {}),
      stdout: true,
      stderr: true,
    });
    // A strategy's console output is not ours to print in the middle of a table.
    worker.stdout.resume();
    worker.stderr.resume();
    const slot: Slot = { worker, line: new WorkerLine(worker), ...(buffer ? { hb: new Int32Array(buffer) } : {}), ...(module !== undefined ? { module } : {}), jobs: 0 };
    this.live.add(slot);
    return slot;
  }

  private discard(slot: Slot): void {
    this.live.delete(slot);
    // terminate() of a worker that already ended resolves too; nothing to wait for here.
    slot.worker.terminate().catch(() => undefined);
  }

  /**
   * Before a new sandboxed worker starts: other modules' idle workers beyond the pool's size
   * are ended (each holds a heap of its own). Which ones is of no consequence to any result:
   * every job loads a fresh instance of its module.
   */
  private evictIdle(keep: string | undefined): void {
    let idle = 0;
    for (const list of this.idleFor.values()) idle += list.length;
    for (const [module, list] of this.idleFor) {
      if (module === keep) continue;
      while (list.length > 0 && idle >= this.size) {
        this.discard(list.pop()!);
        idle--;
      }
      if (list.length === 0) this.idleFor.delete(module);
    }
  }

  /** One job on one worker; a sandboxed one under the watchdogs. */
  private async exec(slot: Slot, id: number, job: Job): Promise<Outcome> {
    const { line, hb } = slot;
    await line.ready;
    const sandboxed = hb !== undefined;
    if (hb) {
      hb[HB_RUN] = -1;
      hb[HB_STEP] = 0;
    }
    const timeout = this.limits.timeoutMs;
    const tickMs = Math.max(20, Math.min(250, Math.floor(timeout / 4)));
    const runs = jobRuns(job);
    const wallMs = timeout * (runs + LOAD_ALLOWANCE);
    const dog = new Watchdog(Math.ceil(timeout / tickMs), Math.ceil(wallMs / tickMs));
    return new Promise<Outcome>((resolve) => {
      let stop: (() => void) | undefined;
      // The worker's own account of where it was: only believed within the job's bounds.
      const where = (): { run?: string; step?: number } => {
        if (!hb) return {};
        const i = Atomics.load(hb, HB_RUN);
        const step = Atomics.load(hb, HB_STEP);
        const inRange = job.type === 'runs' ? i < job.to - job.from : job.type !== 'exhaustive' || i < job.maxRuns;
        const run = inRange ? jobRunId(job, i) : undefined;
        return { ...(run ? { run } : {}), ...(step > 0 ? { step } : {}) };
      };
      let done = false;
      const finish = (o: Outcome): void => {
        if (done) return;
        done = true;
        stop?.();
        line.hangUp();
        resolve(o);
      };
      const fail = (detail: string, at = where()): void => finish({ ok: false, detail, ...at });
      line.listen({
        message: (msg) => {
          const m = msg as { id?: unknown; result?: unknown; error?: unknown; tampered?: unknown } | null;
          if (m === null || typeof m !== 'object' || m.id !== id) {
            return fail('sent a message the pool did not ask for (a module must not post on its worker\'s port)');
          }
          if (typeof m.tampered === 'string') {
            return fail(`changed the JavaScript built-ins its worker shares with the simulator (${m.tampered.slice(0, 300)}): its results cannot be trusted; a strategy must not patch globals or prototypes`);
          }
          if (m.error !== undefined) return fail(`failed: ${sandboxed ? oneLine(m.error) : String(m.error)}`);
          if (sandboxed) {
            const bad = malformedResult(job.type, m.result);
            if (bad) return fail(`answered its ${job.type} job with a result of the wrong shape (${bad}): a module must not post on its worker's port`);
          }
          finish({ ok: true, result: m.result });
        },
        error: (e) => {
          if ((e as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
            fail(`ran out of memory: its worker went over the sandbox's ${this.limits.memoryMb} MB heap limit (--strategy-memory MB, or ${SANDBOX_ENV.memory})`);
          } else fail(`threw outside any call the simulator made (a timer or promise of its own?): ${oneLine(e)}`);
        },
        exit: (code) => fail(`ended its worker thread (exit code ${code}): process.exit() or a crash; a strategy must return, not exit`),
      });
      if (line.exited) return fail('ended its worker thread before its job began');
      if (sandboxed) {
        stop = this.ticker.every(tickMs, () => {
          const verdict = dog.tick(Atomics.load(hb, HB_BEAT));
          if (verdict === 'stalled') {
            fail(`made no progress for ${timeout / 1000} s (an endless loop, or a module or promise that never settles?); stopped by the watchdog (--strategy-timeout S, or ${SANDBOX_ENV.timeout})`);
          } else if (verdict === 'overtime') {
            fail(
              `ran past its job's wall-time limit of ${(wallMs / 1000).toLocaleString('en-US')} s (${timeout / 1000} s for each of its ${runs.toLocaleString('en-US')} run${runs === 1 ? '' : 's'} and twice that to load the module), whatever progress it reported; stopped by the watchdog (--strategy-timeout S, or ${SANDBOX_ENV.timeout})`,
            );
          }
        });
      }
      slot.worker.postMessage({ id, job });
    });
  }

  /** A sandboxed job's failure as a strategy fault (what the tables and the gate report). */
  private asFault(job: Job, o: Extract<Outcome, { ok: false }>): { fault: ReturnType<StrategyFault['toJSON']> } {
    const name = job.type === 'command' ? 'command' : job.type === 'describe' ? job.strategy : (job.strategyName ?? job.strategy);
    const scenario = job.type === 'command' || job.type === 'describe' ? undefined : job.scenarioName;
    return { fault: new StrategyFault(name, o.detail, undefined, o.step, scenario, o.run).toJSON() };
  }

  /**
   * One job. A module's job runs on a worker that only ever ran that module (a new one, or one
   * of its idle ones) and is discarded after any fault; a built-in's on a trusted worker.
   */
  private async one<T>(job: Job): Promise<T> {
    const id = this.seq++;
    if (isSandboxed(job)) {
      const module = moduleOf(job);
      const slot = (module !== undefined ? this.idleFor.get(module)?.pop() : undefined) ?? (this.evictIdle(module), this.spawn(true, module));
      slot.jobs++;
      const o = await this.exec(slot, id, job);
      if (o.ok && slot.module !== undefined && slot.jobs < JOBS_PER_SANDBOX) {
        const list = this.idleFor.get(slot.module) ?? [];
        list.push(slot);
        this.idleFor.set(slot.module, list);
      } else this.discard(slot);
      return (o.ok ? o.result : this.asFault(job, o)) as T;
    }
    const slot = this.idle.pop() ?? this.spawn(false);
    const o = await this.exec(slot, id, job);
    if (!o.ok) {
      this.discard(slot);
      throw new Error(`internal error in a worker running a ${job.type} job: ${o.detail}`);
    }
    this.idle.push(slot);
    return o.result as T;
  }

  /**
   * Starts trusted workers up to the pool's size now, so their start-up (a thread, our code
   * loaded) overlaps what this thread does before their jobs come: a built-in's pilot runs
   * here, and its runs' chunks wait on it (the determinism checks go out as the batch's first job). Nothing when the
   * pool runs built-ins inline (one worker, or a batch of one job); no more than `jobs`
   * workers, the jobs to come.
   */
  warm(jobs = this.size): void {
    if (this.size <= 1 || jobs <= 1) return;
    let trusted = 0;
    for (const slot of this.live) if (slot.hb === undefined) trusted++;
    while (trusted++ < Math.min(this.size, jobs)) this.idle.push(this.spawn(false));
  }

  async run<T>(jobs: readonly Job[], progress?: (done: number, total: number) => void): Promise<T[]> {
    let done = 0;
    const tick = (): void => progress?.(++done, jobs.length);
    const results: T[] = new Array(jobs.length);
    const inline = this.size <= 1 || jobs.length <= 1;
    let next = 0;
    const lanes = Math.max(1, Math.min(this.size, jobs.length));
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < jobs.length) {
          const id = next++;
          const job = jobs[id]!;
          // Built-ins run in this thread when there is nothing to run beside them.
          results[id] = inline && !isSandboxed(job) ? ((await handleJob(job)) as T) : await this.one<T>(job);
          tick();
        }
      }),
    );
    return results;
  }

  async close(): Promise<void> {
    const all = [...this.live];
    this.live.clear();
    this.idle = [];
    this.idleFor.clear();
    await Promise.all(all.map((s) => s.worker.terminate().catch(() => undefined)));
  }
}

/** A thrown value's first line, whatever it is (an Error, a string, an object whose toString throws). */
function oneLine(e: unknown): string {
  let text: string;
  try {
    text = e instanceof Error ? String(e.message) : String(e);
  } catch {
    text = Object.prototype.toString.call(e);
  }
  const first = text.split('\n', 1)[0] ?? '';
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}
