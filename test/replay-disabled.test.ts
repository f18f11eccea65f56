import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { replayEvidence } from '../src/cli/replay.js';
import { parseEvidence } from '../src/explore/evidence.js';
import { handleJob } from '../src/explore/handle-job.js';
import type { EvidenceResult } from '../src/explore/evidence-job.js';
import { runPilot } from '../src/explore/pilot.js';
import { replayRun } from '../src/explore/shrink.js';
import { Timeline, traceHash } from '../src/sim/timeline.js';
import { loadScenario } from '../src/scenario/load.js';
import { builtinStrategy } from '../src/strategies/builtin.js';

/**
 * Shrinking can leave a scenario's window actions out of the saved run; the evidence file
 * lists them (disabled-actions) and `replay` must leave them out too, or it replays another
 * run. In process: the evidence is built by the worker's own job, then replayed.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCENARIO = join(ROOT, 'scenarios', '7-tiny-agent-restart.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'quotarace-replay-disabled-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const scenario = loadScenario(SCENARIO, () => true);
/** Fails on this scenario with or without the agent's restart, so shrinking leaves the restart out. */
const STRATEGY = 'skip-autoscaling';
const strategy = builtinStrategy(STRATEGY)!;

async function evidenceFor(run: string): Promise<string> {
  const pilot = runPilot(scenario, strategy, 25);
  const r = (await handleJob({ type: 'evidence', scenarioText: readFileSync(SCENARIO, 'utf8'), scenarioFile: SCENARIO, strategy: STRATEGY, pilot, run, alsoFailing: '', shrinkBudget: 400 })) as EvidenceResult;
  return r.text;
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

describe('replay of evidence whose shrinking left actions out', () => {
  it('leaves the same actions out: the recorded trace, "still fails"; with them in, the trace would differ', async () => {
    const text = await evidenceFor('random:1');
    const ev = parseEvidence(text);
    if ('error' in ev) throw new Error(ev.error);
    expect(ev.disabledActions).toEqual([1]);

    // The fixture matters: the same choices with every action in print another trace.
    const timeline = new Timeline();
    replayRun({ scenario, strategy, seed: ev.seed, window: ev.windowMs, windowWrites: ev.windowWrites, disabled: new Set(), values: ev.choices, horizonMs: ev.horizonMs }, { strict: false }, timeline);
    expect(traceHash(timeline)).not.toBe(ev.traceSha256);

    const file = join(tmp, 'disabled.evidence');
    writeFileSync(file, text);
    const r = io();
    const code = await replayEvidence(file, {}, r.io);
    const out = r.out.join('\n');
    expect(code, r.err.join('\n')).toBe(0);
    expect(out).toContain(`actions left out by shrinking: ${ev.disabledActions.join(', ')}`);
    expect(out).toContain(`trace: identical to the one recorded in the evidence (sha256 ${ev.traceSha256})`);
    expect(out).toMatch(/^still fails: /m);
  });
});
