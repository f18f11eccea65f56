import type { WorkerPool } from '../explore/pool.js';
import { parseQuantity } from '../cluster/quantity.js';
import { parseDuration } from '../scenario/duration.js';
import type { Strategy } from '../strategies/api.js';
import { evaluateBatch } from './evaluate.js';
import { clone, repair, type Genome } from './genome.js';
import { kindsOf } from '../report/kind.js';
import { baselinePasses, candidateText } from './search.js';
import type { Knob, Space } from './space.js';

/** Candidates evaluated together: fixed, so the result does not depend on the worker count. */
const CHUNK = 8;

/** Roundness of a quantity: 0 is roundest, then whole units, then 100m steps, then the rest. */
function roundness(q: string): number {
  const m = parseQuantity(q)!;
  if (m === 0) return 0;
  if (m % 1_000_000_000 === 0) return 1; // whole bytes of Mi/Gi-ish sizes, whole cores
  if (m % 1000 === 0) return 2;
  if (m % 100 === 0) return 3;
  return 4;
}

/** Values of `list` rounder than `q`, or as round and smaller: roundest first. */
function rounder(q: string, list: readonly string[]): string[] {
  const r = roundness(q);
  const v = parseQuantity(q)!;
  return [...new Set(list)]
    .filter((x) => x !== q && (roundness(x) < r || (roundness(x) === r && parseQuantity(x)! < v)))
    .sort((a, b) => roundness(a) - roundness(b) || parseQuantity(a)! - parseQuantity(b)!);
}

function removeNode(g: Genome, i: number): Genome {
  const h = clone(g);
  h.nodes.splice(i, 1);
  const map = (n: number) => (n === i ? (i === 0 ? 0 : i - 1) : n > i ? n - 1 : n);
  for (const ns of h.namespaces) {
    for (const v of ns.vms) v.node = map(v.node);
    for (const p of ns.pods) p.node = map(p.node);
  }
  if (h.rancher) {
    h.rancher.node = map(h.rancher.node);
    h.rancher.nodes = h.rancher.nodes.filter((n) => n !== i).map(map);
  }
  h.actions = h.actions.filter((a) => !(a.act.kind === 'drain' && a.act.node === i));
  for (const a of h.actions) if (a.act.kind === 'drain') a.act.node = map(a.act.node);
  return repair(h);
}

function removeNamespace(g: Genome, i: number): Genome {
  const h = clone(g);
  h.namespaces.splice(i, 1);
  h.actions = h.actions.filter((a) => !('ns' in a.act && a.act.ns === i));
  for (const a of h.actions) if ('ns' in a.act && a.act.ns > i) a.act.ns--;
  return repair(h);
}

function removeVm(g: Genome, ns: number, i: number): Genome {
  const h = clone(g);
  h.namespaces[ns]!.vms.splice(i, 1);
  h.actions = h.actions.filter((a) => !(a.act.kind === 'migrate' && a.act.ns === ns && a.act.vm === i));
  for (const a of h.actions) if (a.act.kind === 'migrate' && a.act.ns === ns && a.act.vm > i) a.act.vm--;
  return repair(h);
}

function edit(g: Genome, f: (h: Genome) => void): Genome {
  const h = clone(g);
  f(h);
  return repair(h);
}

/** Every one-step reduction of `g`, most reductive first: fewer things, then rounder numbers, then narrower windows. */
export function reductions(g: Genome, space: Space): Genome[] {
  const out: Genome[] = [];
  for (let i = g.actions.length - 1; i >= 0; i--) out.push(edit(g, (h) => h.actions.splice(i, 1)));
  for (let i = g.namespaces.length - 1; i >= 0 && g.namespaces.length > 1; i--) out.push(removeNamespace(g, i));
  g.namespaces.forEach((ns, n) => {
    for (let i = ns.vms.length - 1; i >= 0; i--) out.push(removeVm(g, n, i));
  });
  g.namespaces.forEach((ns, n) => {
    for (let i = ns.pods.length - 1; i >= 0; i--) out.push(edit(g, (h) => h.namespaces[n]!.pods.splice(i, 1)));
  });
  for (let i = g.nodes.length - 1; i >= 0 && g.nodes.length > 2; i--) out.push(removeNode(g, i));
  if (g.rancher && g.rancher.replicas > 1) out.push(edit(g, (h) => (h.rancher!.replicas = 1)));
  if (g.rancher && g.rancher.nodes.length) out.push(edit(g, (h) => (h.rancher!.nodes = [])));
  if (g.rancher && !g.actions.some((a) => a.act.kind === 'restartAgent' || a.act.kind === 'rolloutAgent')) out.push(edit(g, (h) => (h.rancher = null)));
  // The Rancher-side fields, each dropped when the failure does not need it: the run draws the carrier, the sync is Rancher's default, no project.
  if (g.rancher && g.rancher.carrier !== null) out.push(edit(g, (h) => (h.rancher!.carrier = null)));
  if (g.rancher?.syncOnlyChanged) out.push(edit(g, (h) => (h.rancher!.syncOnlyChanged = false)));
  if (g.rancher?.project) out.push(edit(g, (h) => (h.rancher!.project = null)));
  if (g.ratio !== null && g.ratio !== '1.5') out.push(edit(g, (h) => (h.ratio = '1.5')));
  // Windows: a single time first (either end), then half the window.
  g.actions.forEach((a, i) => {
    if (a.to !== undefined) {
      out.push(edit(g, (h) => delete h.actions[i]!.to));
      out.push(edit(g, (h) => Object.assign(h.actions[i]!, { at: a.to, to: undefined })));
      const lo = parseDuration(a.at)!;
      const hi = parseDuration(a.to)!;
      const mid = Math.round((lo + hi) / 2000);
      if (mid * 1000 > lo && mid * 1000 < hi) out.push(edit(g, (h) => (h.actions[i]!.to = `${mid}s`)));
    } else if (a.at !== '0s') out.push(edit(g, (h) => (h.actions[i]!.at = '0s')));
  });
  // Rounder numbers.
  g.namespaces.forEach((ns, n) => {
    for (const v of rounder(ns.headroomCpu, space.quota.headroomCpu)) out.push(edit(g, (h) => (h.namespaces[n]!.headroomCpu = v)));
    for (const v of rounder(ns.headroomMemory, space.quota.headroomMemory)) out.push(edit(g, (h) => (h.namespaces[n]!.headroomMemory = v)));
    ns.vms.forEach((vm, i) => {
      for (const c of space.vms.cpu.filter((c) => c < vm.cpu)) out.push(edit(g, (h) => (h.namespaces[n]!.vms[i]!.cpu = c)));
      for (const m of space.vms.memory.filter((m) => parseQuantity(m)! < parseQuantity(vm.memory)!)) out.push(edit(g, (h) => (h.namespaces[n]!.vms[i]!.memory = m)));
      if (!vm.liveMigrate) out.push(edit(g, (h) => (h.namespaces[n]!.vms[i]!.liveMigrate = true)));
    });
  });
  const project = g.rancher?.project;
  if (project) {
    for (const v of rounder(project.roomCpu, space.rancher.project.roomCpu)) out.push(edit(g, (h) => (h.rancher!.project!.roomCpu = v)));
    for (const v of rounder(project.roomMemory, space.rancher.project.roomMemory)) out.push(edit(g, (h) => (h.rancher!.project!.roomMemory = v)));
  }
  g.actions.forEach((a, i) => {
    if (a.act.kind === 'editQuota' || a.act.kind === 'editQuotaSpec') {
      for (const v of rounder(a.act.cpu.replace(/^-/, ''), space.actions.editCpu.map((x) => x.replace(/^-/, '')))) {
        const sign = a.act.cpu.startsWith('-') ? '-' : '';
        out.push(edit(g, (h) => ((h.actions[i]!.act as { cpu: string }).cpu = sign + v)));
      }
    }
  });
  g.nodes.forEach((nd, i) => {
    const fits = (cpu: number) => g.namespaces.every((ns) => ns.vms.every((v) => v.node !== i || v.cpu <= cpu));
    for (const c of space.nodes.cpu.filter((c) => c < nd.cpu && fits(c))) out.push(edit(g, (h) => (h.nodes[i]!.cpu = c)));
  });
  return out;
}

export interface ShrinkResult {
  readonly genome: Genome;
  readonly run: string;
  readonly steps: number;
  readonly candidates: number;
}

/**
 * Shrink a failing scenario, keeping its failure kind: greedy over reductions(), evaluated
 * in fixed chunks through the same short campaign as the search (same seeds), taking the
 * first candidate, in order, that still fails the same way (and, given a baseline, that
 * the baseline still passes entirely); until none does or the budget
 * of candidates is spent. The interleaving is shrunk afterwards by the evidence shrinker.
 */
export async function shrinkScenario(start: Genome, kind: string, run: string, o: { strategy: Strategy; baseline?: Strategy; space: Space; off: ReadonlySet<Knob>; name: string; file: string; budget: number; progress?: (steps: number, tried: number) => void }, pool: WorkerPool): Promise<ShrinkResult> {
  let best = start;
  let bestRun = run;
  let steps = 0;
  let tried = 0;
  const seen = new Set<string>([candidateText(start, o)]);
  outer: while (tried < o.budget) {
    const cands = reductions(best, o.space).filter((c) => {
      const t = candidateText(c, o);
      if (seen.has(t)) return false;
      seen.add(t);
      return true;
    });
    for (let i = 0; i < cands.length && tried < o.budget; i += CHUNK) {
      const chunk = cands.slice(i, Math.min(cands.length, i + CHUNK, i + o.budget - tried));
      const results = await evaluateBatch(chunk.map((c) => candidateText(c, o)), o.file, o.strategy, o.space.campaign, pool);
      tried += chunk.length;
      o.progress?.(steps, tried);
      const same = results.map((r) => kindsOf(r.tally).some((k) => k.kind === kind));
      // With a baseline, a candidate is kept only while the baseline still passes every run.
      const clean = await baselinePasses(o, chunk, same, pool);
      const hit = same.findIndex((x, j) => x && (clean[j]?.passes ?? true));
      if (hit >= 0) {
        best = chunk[hit]!;
        bestRun = kindsOf(results[hit]!.tally).find((k) => k.kind === kind)!.run;
        steps++;
        continue outer;
      }
    }
    break;
  }
  return { genome: best, run: bestRun, steps, candidates: tried };
}
