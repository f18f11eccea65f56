import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EvidenceResult } from '../src/explore/evidence-job.js';
import { handleJob } from '../src/explore/handle-job.js';
import type { Job, PrepareResult } from '../src/explore/jobs.js';
import { jobRuns, sandboxChunk, Watchdog, WorkerLine } from '../src/explore/pool.js';
import { snapshotBuiltins } from '../src/explore/intact.js';
import { malformedResult } from '../src/explore/results.js';
import { describeThrown } from '../src/strategies/runtime.js';
import type { TallyState } from '../src/explore/tally.js';

/**
 * The sandbox's parts that need no worker thread (issue 22): the watchdog's verdicts, a
 * worker's events after its job ended, the built-ins check, the result shapes. The same
 * parts with real workers and hostile modules are in hostile.test.ts (after a build).
 */

describe('the watchdog: counted in this thread, whatever the heartbeat says', () => {
  it('a forged heartbeat (it moves on every tick) is stopped at the wall-time limit, not before', () => {
    const dog = new Watchdog(4, 30);
    const verdicts: string[] = [];
    for (let t = 1; t <= 30; t++) verdicts.push(dog.tick(t));
    expect(verdicts.slice(0, 29).every((v) => v === 'ok')).toBe(true);
    expect(verdicts[29]).toBe('overtime');
  });

  it('a heartbeat that stops is a stall after stallTicks quiet ticks; a slow but moving one is not', () => {
    const stuck = new Watchdog(4, 1000);
    const v = [stuck.tick(7), stuck.tick(7), stuck.tick(7), stuck.tick(7), stuck.tick(7)];
    expect(v).toEqual(['ok', 'ok', 'ok', 'ok', 'stalled']);
    const slow = new Watchdog(4, 1000);
    // It beats every third tick: never four quiet ticks in a row.
    for (let t = 0; t < 300; t++) expect(slow.tick(Math.floor(t / 3))).toBe('ok');
  });

  it("a job's wall-time budget is counted from the job itself (its runs), not from anything the worker reports", () => {
    const base = { scenarioText: '', scenarioFile: 'x.yaml', strategy: '/m.ts', pilot: { windowWrites: [], actors: [], orderChoices: 0, steps: 0 } };
    expect(jobRuns({ ...base, type: 'runs', mode: 'random', depth: 3, window: 0, from: 10, to: 60 })).toBe(51);
    expect(jobRuns({ ...base, type: 'evidence', run: 'random:1', alsoFailing: '', shrinkBudget: 400 })).toBe(404);
    expect(jobRuns({ type: 'describe', strategy: '/m.ts' })).toBe(0);
  });

  it("a module's chunks are the same for any --workers (the pool's size is not an input)", () => {
    expect(sandboxChunk(20)).toBe(50);
    expect(sandboxChunk(300)).toBe(50);
    expect(sandboxChunk(100_000)).toBe(3125);
    expect(sandboxChunk.length).toBe(1);
  });
});

describe("a worker's events outlive its job", () => {
  const oom = (): Error => Object.assign(new Error('Worker terminated due to reaching memory limit: JS heap out of memory'), { code: 'ERR_WORKER_OUT_OF_MEMORY' });

  it('ERR_WORKER_OUT_OF_MEMORY arriving after the job ended (the watchdog already stopped it) is dropped, not thrown', () => {
    const worker = new EventEmitter();
    const line = new WorkerLine(worker);
    const heard: string[] = [];
    line.listen({ message: () => heard.push('message'), error: (e) => heard.push(`error ${(e as { code: string }).code}`), exit: (c) => heard.push(`exit ${c}`) });
    worker.emit('message', { id: 0, result: 1 });
    line.hangUp();
    // An EventEmitter with no 'error' listener throws: the process would end with a stack trace.
    expect(() => worker.emit('error', oom())).not.toThrow();
    expect(() => worker.emit('messageerror', new Error('cannot deserialize'))).not.toThrow();
    worker.emit('exit', 1);
    expect(heard).toEqual(['message']);
    expect(line.exited).toBe(true);
  });

  it("the worker's start-up is not the module's: the watchdog starts at its first message, which only our code can send", async () => {
    const worker = new EventEmitter();
    const line = new WorkerLine(worker);
    let ready = false;
    void line.ready.then(() => (ready = true));
    await Promise.resolve();
    expect(ready).toBe(false);
    const heard: unknown[] = [];
    line.listen({ message: (m) => heard.push(m), error: () => undefined, exit: () => undefined });
    worker.emit('message', { ready: true });
    await Promise.resolve();
    expect(ready).toBe(true);
    // Said again (by a module, later): a message like any other, for the job to judge.
    worker.emit('message', { ready: true });
    expect(heard).toEqual([{ ready: true }]);
  });

  it('during a job, the error reaches it', () => {
    const worker = new EventEmitter();
    const line = new WorkerLine(worker);
    const heard: unknown[] = [];
    line.listen({ message: () => undefined, error: (e) => heard.push((e as { code: string }).code), exit: () => undefined });
    worker.emit('error', oom());
    expect(heard).toEqual(['ERR_WORKER_OUT_OF_MEMORY']);
  });
});

describe('the built-ins check', () => {
  it('nothing changed: no report (NaN is NaN)', () => {
    expect(snapshotBuiltins()()).toBeUndefined();
  });

  it('a patched Math.min, a polluted Object.prototype, a new global: each named', () => {
    const changed = snapshotBuiltins();
    const min = Math.min;
    const g = globalThis as Record<string, unknown>;
    try {
      Math.min = (...xs: number[]) => Math.max(...xs);
      expect(changed()).toBe('Math.min replaced');
      Object.defineProperty(Object.prototype, 'quotaraceSelector', { value: 42, configurable: true, writable: true });
      expect(changed()).toBe('Object.prototype.quotaraceSelector added, Math.min replaced');
      g.quotaraceCounter = 1;
      expect(changed()).toBe('globalThis.quotaraceCounter added, Object.prototype.quotaraceSelector added, Math.min replaced');
    } finally {
      Math.min = min;
      delete (Object.prototype as Record<string, unknown>).quotaraceSelector;
      delete g.quotaraceCounter;
    }
    expect(changed()).toBeUndefined();
  });

  it('the check keeps its own tools: a patched Reflect.ownKeys or Array iteration cannot hide a change', () => {
    const changed = snapshotBuiltins();
    const ownKeys = Reflect.ownKeys;
    const iter = Array.prototype[Symbol.iterator];
    try {
      Reflect.ownKeys = () => [];
      expect(changed()).toMatch(/^Reflect\.ownKeys replaced/);
      Array.prototype[Symbol.iterator] = function* () {} as unknown as typeof iter;
      expect(changed()).toMatch(/Array\.prototype\[Symbol\.iterator\] replaced/);
    } finally {
      Reflect.ownKeys = ownKeys;
      Array.prototype[Symbol.iterator] = iter;
    }
    expect(changed()).toBeUndefined();
  });
});

describe('result shapes at the worker boundary', () => {
  const scenarioFile = 'scenarios/7-tiny-agent-restart.yaml';
  const base = { scenarioText: readFileSync(scenarioFile, 'utf8'), scenarioFile, strategy: 'pre-fix', strategyName: 'pre-fix', scenarioName: 'tiny' };

  it("real results pass: a prepare, a runs and an evidence job's, and a fault", async () => {
    const prepared = (await handleJob({ ...base, type: 'prepare', window: 10_000 })) as PrepareResult;
    expect(malformedResult('prepare', prepared)).toBeUndefined();
    if ('fault' in prepared) throw new Error(prepared.fault.message);
    const job: Job = { ...base, pilot: prepared.pilot, type: 'runs', mode: 'random', depth: 3, window: 10_000, from: 1, to: 9 };
    const tally = (await handleJob(job)) as TallyState;
    expect(tally.runs).toBe(8);
    expect(malformedResult('runs', tally)).toBeUndefined();
    const failing = tally.groups[0]?.firstRun ?? 'random:1';
    const ev = (await handleJob({ ...base, pilot: prepared.pilot, type: 'evidence', run: failing, alsoFailing: 'x', shrinkBudget: 5 })) as EvidenceResult;
    expect(malformedResult('evidence', ev)).toBeUndefined();
    expect(malformedResult('runs', { fault: { strategy: 'm', detail: 'd', message: 'strategy m: d' } })).toBeUndefined();
    // Forged: a count that is text, per-run bits that disagree with the runs, a fault that is a number.
    expect(malformedResult('runs', { ...tally, runs: 'many' })).toMatch(/^runs: Expected number/);
    expect(malformedResult('runs', { ...tally, runs: tally.runs + 1 })).toMatch(/inconsistent tally/);
    expect(malformedResult('runs', { fault: 5 })).toMatch(/fault/);
    expect(malformedResult('evidence', { ...ev, recorded: { ...ev.recorded, race: 'x' } })).toMatch(/recorded/);
    expect(malformedResult('prepare', null)).toBeDefined();
  });

  it("a module's name is checked again here: it cannot answer for itself under a built-in's name", () => {
    expect(malformedResult('describe', { name: 'exact-delta', description: 'd' })).toBeUndefined();
    expect(malformedResult('describe', { name: 'v1.4.2', description: 'd' })).toMatch(/^name: a built-in strategy's name/);
    expect(malformedResult('describe', { name: '../../etc', description: 'd' })).toMatch(/^name: not usable as a folder name/);
  });

  it("a command's exit code is 0 to 255", () => {
    expect(malformedResult('command', { code: 0, out: '', err: '' })).toBeUndefined();
    expect(malformedResult('command', { code: 300, out: '', err: '' })).toMatch(/^code: /);
  });
});

describe("a module's thrown value, in a fault", () => {
  it('is one line, capped, whatever was thrown (a multi-line message, a throwing getter, a huge string)', () => {
    expect(describeThrown(new Error('first\n    at evil (/x.ts:1:1)\n    at more'))).toBe('first');
    const getter = Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('no'); } });
    expect(describeThrown(getter)).toBe('[object Error]');
    expect(describeThrown('y'.repeat(10_000))).toHaveLength(301);
    expect(describeThrown({ toString: () => 'an object' })).toBe('an object');
  });
});
