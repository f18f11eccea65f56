import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { StrategyFault } from '../strategies/fault.js';
import { isStrategyPath } from '../strategies/loader.js';
import { HB_BEAT, HB_RUN, HB_SLOTS, HB_STEP } from './heartbeat.js';
import { handleJob, jobRunId, type Job } from './jobs.js';

/**
 * The sandbox's limits for user strategies (modules loaded from a path). Each of their
 * jobs runs in a worker thread with a memory limit, under a watchdog in this thread: a
 * worker whose heartbeat (one per simulated step) stops for `timeoutMs` is terminated,
 * which interrupts even a synchronous endless loop.
 */
export interface SandboxLimits {
  /** No progress for this long (ms) ends the strategy's job. */
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

interface Slot {
  readonly worker: Worker;
  readonly hb: Int32Array;
  dead: boolean;
}

type Outcome = { ok: true; result: unknown } | { ok: false; detail: string; run?: string; step?: number };

/** Does this job run a user's code (a strategy module)? Then it runs sandboxed, never inline. */
export function isSandboxed(job: Job): boolean {
  return job.type === 'command' || isStrategyPath(job.strategy);
}

function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Running from TypeScript sources (tests): use the build.
  return new URL('../../dist/explore/worker.js', import.meta.url);
}

/**
 * Runs jobs on worker threads and returns their results in job order, so that the number
 * of workers never changes the output. With one worker, built-in strategies' jobs run
 * inline; a user strategy's jobs always run in a sandboxed worker (even with --workers 1),
 * and a worker that hangs, runs out of memory, exits or dies makes its job a strategy
 * fault, not a crash: the other strategies still report.
 */
export class WorkerPool {
  private idle: Slot[] = [];
  private all = new Set<Slot>();

  constructor(
    readonly size: number,
    readonly limits: SandboxLimits = DEFAULT_SANDBOX,
  ) {}

  private spawn(): Slot {
    const buffer = new SharedArrayBuffer(HB_SLOTS * 4);
    const worker = new Worker(workerUrl(), {
      workerData: { hb: buffer },
      resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.min(64, Math.floor(this.limits.memoryMb / 8))) },
      stdout: true,
      stderr: true,
    });
    // A strategy's console output is not ours to print in the middle of a table.
    worker.stdout.resume();
    worker.stderr.resume();
    const slot: Slot = { worker, hb: new Int32Array(buffer), dead: false };
    this.all.add(slot);
    return slot;
  }

  private take(): Slot {
    return this.idle.pop() ?? this.spawn();
  }

  private release(slot: Slot): void {
    if (slot.dead) {
      this.all.delete(slot);
      void slot.worker.terminate();
    } else this.idle.push(slot);
  }

  /** One job on one worker, under the watchdog. */
  private exec(slot: Slot, id: number, job: Job): Promise<Outcome> {
    const { worker, hb } = slot;
    hb[HB_RUN] = -1;
    hb[HB_STEP] = 0;
    const timeout = this.limits.timeoutMs;
    const tick = Math.max(20, Math.min(250, Math.floor(timeout / 4)));
    return new Promise<Outcome>((resolve) => {
      let last = Atomics.load(hb, HB_BEAT);
      // Time is counted in watchdog ticks, not read from a clock: a tick this thread could not
      // take (busy running a built-in strategy inline) is time the worker is not blamed for.
      let stalledTicks = 0;
      const ticksAllowed = Math.ceil(timeout / tick);
      const where = (): { run?: string; step?: number } => {
        const i = Atomics.load(hb, HB_RUN);
        const step = Atomics.load(hb, HB_STEP);
        const run = jobRunId(job, i);
        return { ...(run ? { run } : {}), ...(step > 0 ? { step } : {}) };
      };
      const finish = (o: Outcome): void => {
        clearInterval(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (!o.ok) slot.dead = true;
        resolve(o);
      };
      const onMessage = (msg: { id: number; result?: unknown; error?: string }): void => {
        if (msg.id !== id) return;
        if (msg.error !== undefined) finish({ ok: false, detail: `failed: ${msg.error}`, ...where() });
        else finish({ ok: true, result: msg.result });
      };
      const onError = (e: unknown): void => {
        const code = (e as { code?: string }).code;
        if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
          finish({ ok: false, detail: `ran out of memory: its worker went over the sandbox's ${this.limits.memoryMb} MB heap limit (--strategy-memory MB, or ${SANDBOX_ENV.memory})`, ...where() });
        } else finish({ ok: false, detail: `threw outside any call the simulator made (a timer or promise of its own?): ${describeError(e)}`, ...where() });
      };
      const onExit = (code: number): void => {
        finish({ ok: false, detail: `ended its worker thread (exit code ${code}): process.exit() or a crash; a strategy must return, not exit`, ...where() });
      };
      const timer = setInterval(() => {
        const b = Atomics.load(hb, HB_BEAT);
        if (b !== last) {
          last = b;
          stalledTicks = 0;
          return;
        }
        if (++stalledTicks >= ticksAllowed) {
          finish({
            ok: false,
            detail: `made no progress for ${timeout / 1000} s (an endless loop, or a module or promise that never settles?); stopped by the watchdog (--strategy-timeout S, or ${SANDBOX_ENV.timeout})`,
            ...where(),
          });
        }
      }, tick);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, job });
    });
  }

  /** A sandboxed job's failure as a strategy fault (what the tables and the gate report). */
  private asFault(job: Job, o: Extract<Outcome, { ok: false }>): { fault: ReturnType<StrategyFault['toJSON']> } {
    const name = job.type === 'command' ? 'command' : job.type === 'describe' ? job.strategy : (job.strategyName ?? job.strategy);
    const scenario = job.type === 'command' || job.type === 'describe' ? undefined : job.scenarioName;
    return { fault: new StrategyFault(name, o.detail, undefined, o.step, scenario, o.run).toJSON() };
  }

  async run<T>(jobs: readonly Job[], progress?: (done: number, total: number) => void): Promise<T[]> {
    let done = 0;
    const tick = (): void => progress?.(++done, jobs.length);
    const sandboxed = jobs.some(isSandboxed);
    if (!sandboxed && (this.size <= 1 || jobs.length <= 1)) {
      const out: T[] = [];
      for (const j of jobs) {
        out.push((await handleJob(j)) as T);
        tick();
      }
      return out;
    }
    const results: T[] = new Array(jobs.length);
    let next = 0;
    const lanes = Math.max(1, Math.min(this.size, jobs.length));
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < jobs.length) {
          const id = next++;
          const job = jobs[id]!;
          const slot = this.take();
          const o = await this.exec(slot, id, job);
          this.release(slot);
          if (o.ok) results[id] = o.result as T;
          else if (isSandboxed(job)) results[id] = this.asFault(job, o) as T;
          else throw new Error(`internal error in a worker running a ${job.type} job: ${o.detail}`);
          tick();
        }
      }),
    );
    return results;
  }

  async close(): Promise<void> {
    const all = [...this.all];
    this.all.clear();
    this.idle = [];
    await Promise.all(all.map((s) => s.worker.terminate()));
  }
}

function describeError(e: unknown): string {
  try {
    if (e instanceof Error) return String(e.message);
    return String(e);
  } catch {
    return Object.prototype.toString.call(e);
  }
}
