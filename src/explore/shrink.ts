import { ReplaySelector, type ChoiceLog } from '../kernel/choice.js';
import type { Scenario } from '../scenario/model.js';
import { failed, failureKind, type RunOutcome } from '../sim/outcome.js';
import { isTargetPodQuotaRefusal, type Counters, type TraceSink } from '../cluster/recorder.js';
import { launcherPodVm } from '../cluster/launcher.js';
import type { ApiError, Verb } from '../cluster/apiserver.js';
import type { Kind } from '../cluster/objects.js';
import { runOnce } from '../sim/run.js';
import { beatRun } from '../strategies/heartbeat.js';
import type { Strategy } from '../strategies/api.js';

/** Everything that determines a run, given the code: what evidence stores. */
export interface RunSpec {
  readonly scenario: Scenario;
  readonly strategy: Strategy;
  readonly seed: number;
  readonly window: number;
  readonly windowWrites: readonly number[];
  readonly disabled: ReadonlySet<number>;
  readonly values: readonly number[];
  /** A shorter horizon than the scenario's, found by shrinking. */
  readonly horizonMs?: number;
  /** The run was an exhaustive search's: its picks are choices in `values` (Selector.enumeratesPicks). */
  readonly enumeratesPicks?: boolean;
}

export interface Replayed {
  readonly outcome: RunOutcome;
  readonly log: ChoiceLog;
}

/** Run a spec by replaying its choices (strict: sizes must match; lenient: defaults fill in). */
export function replayRun(spec: RunSpec, mode: { strict: false } | { strict: true; sizes: readonly number[] }, trace?: TraceSink): Replayed {
  const selector = new ReplaySelector(mode.strict ? { values: spec.values, sizes: mode.sizes } : { values: spec.values }, mode.strict, spec.enumeratesPicks);
  let log: ChoiceLog | undefined;
  const outcome = runOnce(spec.scenario, spec.strategy, spec.seed, {
    selector,
    window: spec.window,
    windowWrites: spec.windowWrites,
    disabled: spec.disabled,
    horizonMs: spec.horizonMs,
    trace,
    inspect: (w) => (log = w.choices.log),
  });
  return { outcome, log: log! };
}

export interface Shrunk {
  readonly spec: RunSpec;
  readonly outcome: RunOutcome;
  readonly sizes: readonly number[];
  readonly candidates: number;
}

const nonDefault = (xs: readonly number[]) => xs.reduce((n, x) => n + (x !== 0 ? 1 : 0), 0);

/**
 * Shrink a failing run to a smaller one that fails the same way (same failureKind),
 * Hypothesis-style on the choice log: drop actions, reset blocks of choices to their
 * default (time order, shortest latency, window start) by halving block sizes, then move
 * each remaining window time to an edge. A candidate is kept only if it reproduces the
 * failure; the result is re-run by the caller in strict mode before it is saved.
 */
/**
 * What shrinking keeps: the failure kind, and with `withSettled` that the run ends unsettled
 * (hits the horizon still busy). Undefined for a run that breaks nothing kept.
 */
export function breakKey(o: RunOutcome, withSettled = false): string | undefined {
  if (withSettled) return o.settled ? undefined : `${failureKind(o)}|unsettled`;
  return failed(o) ? failureKind(o) : undefined;
}

export function shrink(start: RunSpec, budget = 600, withSettled = false): Shrunk {
  const first = replayRun(start, { strict: false });
  const kind = breakKey(first.outcome, withSettled);
  let best: RunSpec = { ...start, values: first.log.values.slice() };
  let bestOutcome = first.outcome;
  let bestLog = first.log;
  let candidates = 0;

  const better = (o: RunOutcome, log: ChoiceLog): boolean => {
    const a = nonDefault(log.values);
    const b = nonDefault(bestLog.values);
    return a < b || (a === b && o.steps < bestOutcome.steps);
  };

  const attempt = (spec: RunSpec, always = false): boolean => {
    if (candidates >= budget) return false;
    candidates++;
    // Each candidate is a run: the sandbox watchdog sees a long shrink move, not stall.
    beatRun(candidates);
    const r = replayRun(spec, { strict: false });
    const k = breakKey(r.outcome, withSettled);
    if (k === undefined || k !== kind || !(always || better(r.outcome, r.log))) return false;
    best = { ...spec, values: r.log.values.slice() };
    bestOutcome = r.outcome;
    bestLog = r.log;
    return true;
  };

  // 1. Fewer actions.
  for (let i = start.scenario.actions.length - 1; i >= 0; i--) {
    if (best.disabled.has(i)) continue;
    attempt({ ...best, disabled: new Set([...best.disabled, i]) }, true);
  }
  // 2. Fewer deviations from the default: zero blocks, halving the block size.
  for (let size = Math.max(1, best.values.length >> 1); size >= 1 && candidates < budget; size >>= 1) {
    for (let s = 0; s < best.values.length && candidates < budget; s += size) {
      const v = best.values;
      let any = false;
      for (let i = s; i < Math.min(v.length, s + size); i++) if (v[i] !== 0) any = true;
      if (!any) continue;
      const next = v.slice();
      for (let i = s; i < Math.min(v.length, s + size); i++) next[i] = 0;
      attempt({ ...best, values: next });
    }
    if (size === 1) break;
  }
  // 3. Window times to the window's edges.
  for (let i = 0; i < bestLog.kinds.length && candidates < budget; i++) {
    if (bestLog.kinds[i] !== 'timing' || best.values[i] === 0) continue;
    for (const edge of [0, bestLog.sizes[i]! - 1]) {
      const next = best.values.slice();
      next[i] = edge;
      if (attempt({ ...best, values: next })) break;
    }
  }
  // 4. Fewer steps: the earliest horizon at which the run already ends exactly as it does
  // at the full horizon (same quota values, same VMs unmoved: the fingerprint) and still shows
  // the trouble the full run showed (keepsStory): every trouble counter the full run had
  // non-zero (target pods refused by quota, 409 conflicts, user edits refused, agent restarts)
  // is non-zero, and every VM stuck at the end whose target pod the full run saw refused by
  // quota has had one refused. The end state alone is not enough: a stuck VM is stuck at any
  // horizon before its migration got going, so a cut matched on it can end before the refusals
  // that keep the VM in place. The shorter run is a prefix of the full one, so it tells the
  // same story without the retries that follow.
  const full = bestOutcome.fingerprint;
  const story = troubleOf(best, bestOutcome);
  candidates += story.replays;
  let lo = 0;
  let hi = best.horizonMs ?? start.scenario.horizonMs;
  let cut: Replayed | undefined;
  while (hi - lo > 1_000 && candidates < budget + 40) {
    const mid = Math.floor((lo + hi) / 2);
    candidates++;
    beatRun(candidates);
    const seen = new QuotaRefusals();
    const r = replayRun({ ...best, horizonMs: mid }, { strict: false }, seen);
    const k = breakKey(r.outcome, withSettled);
    if (k !== undefined && k === kind && r.outcome.fingerprint === full && keepsStory(story, r.outcome, seen)) {
      hi = mid;
      cut = r;
    } else lo = mid;
  }
  if (cut) {
    best = { ...best, horizonMs: hi, values: cut.log.values.slice() };
    bestOutcome = cut.outcome;
    bestLog = cut.log;
  }
  // Never report a longer run: a candidate with fewer non-default choices can take more
  // steps. When the shrunk run is not shorter, the original is the smaller evidence.
  if (bestOutcome.steps >= first.outcome.steps) {
    return { spec: { ...start, values: first.log.values.slice() }, outcome: first.outcome, sizes: first.log.sizes.slice(), candidates };
  }
  return { spec: best, outcome: bestOutcome, sizes: bestLog.sizes.slice(), candidates };
}


/** The counters that record trouble (drainMs is a duration, not trouble). */
const TROUBLE: readonly (keyof Counters)[] = ['targetPodsRejectedByQuota', 'conflicts', 'editsRefused', 'agentRestarts'];

/** What a horizon cut must keep of the full run: its non-zero trouble counters, and the stuck VMs whose target pod quota refused. */
export interface Trouble {
  readonly counters: readonly (keyof Counters)[];
  /** Stuck VMs ("namespace/name") whose migration target pod the full run saw refused by quota. */
  readonly refusedVms: readonly string[];
  /** Runs it took to find out (0 or 1). */
  readonly replays: number;
}

/**
 * Records which VMs' migration target pods ResourceQuota admission refused (isTargetPodQuotaRefusal,
 * what Counters.targetPodsRejectedByQuota counts), by the pod's name (launcherPodVm).
 */
export class QuotaRefusals implements TraceSink {
  readonly vms = new Set<string>();
  write(): void {}
  event(): void {}
  refused(_t: number, actor: string, verb: Verb, kind: Kind, key: string, err: ApiError): void {
    if (kind !== 'Pod' || !isTargetPodQuotaRefusal(actor, verb, err)) return;
    const vm = launcherPodVm(key);
    if (vm) this.vms.add(vm);
  }
}

/** The trouble a run shows: replayed once more with a QuotaRefusals sink to name the VMs. */
export function troubleOf(spec: RunSpec, o: RunOutcome): Trouble {
  const counters = TROUBLE.filter((c) => o.counters[c] > 0);
  if (o.stuck.length === 0 || o.counters.targetPodsRejectedByQuota === 0) return { counters, refusedVms: [], replays: 0 };
  const seen = new QuotaRefusals();
  replayRun(spec, { strict: false }, seen);
  return { counters, refusedVms: o.stuck.filter((vm) => seen.vms.has(vm)), replays: 1 };
}

/**
 * Whether a cut run still shows the full run's trouble: every trouble counter the full run had
 * non-zero is non-zero, and every stuck VM whose target pod the full run saw refused by quota
 * had one refused (`seen`: the cut run's refusals). A cut that only matches the end state can
 * end before the refusals that keep the VMs in place: "stuck" with nothing to show why.
 */
export function keepsStory(story: Trouble, o: RunOutcome, seen: QuotaRefusals): boolean {
  return story.counters.every((c) => o.counters[c] > 0) && story.refusedVms.every((vm) => seen.vms.has(vm));
}

export function describeSize(o: RunOutcome, values: readonly number[]): string {
  return `steps ${o.steps}, choices ${values.length}, non-default ${nonDefault(values)}`;
}
