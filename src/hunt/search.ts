import { Rng } from '../kernel/rng.js';
import type { WorkerPool } from '../explore/pool.js';
import type { Strategy } from '../strategies/api.js';
import { evaluateBatch } from './evaluate.js';
import { randomGenome } from './generate.js';
import { toScenario, toYaml, type Genome } from './genome.js';
import { closeness, kindsOf } from '../report/kind.js';
import { mutate } from './mutate.js';
import type { Knob, Space } from './space.js';

export interface SearchOptions {
  readonly strategy: Strategy;
  readonly space: Space;
  readonly off: ReadonlySet<Knob>;
  readonly seed: number;
  /** Interleavings to spend at most (checked before each generation). */
  readonly budgetRuns: number;
  /** Stop after this many distinct failure kinds. */
  readonly kinds: number;
  /** Count only failure kinds containing every one of these texts (e.g. "quota-below-user-value"). */
  readonly want?: readonly string[];
  /** Called once, when the first failure is found (wall-clock measurements; never decides anything). */
  readonly onFirst?: () => void;
  /**
   * Whether a wall-time budget has run out (`--budget 10m`), asked only between generations.
   * The caller owns the clock: the search itself never reads one.
   */
  readonly timeUp?: () => boolean;
  /** The scenario name and (virtual) file every candidate is parsed as. */
  readonly name: string;
  readonly file: string;
  readonly progress?: (p: { scenarios: number; runs: number; kinds: readonly string[] }) => void;
  /**
   * A review's baseline: a failure of the strategy on trial counts only in a scenario where
   * the baseline passes every run of the same campaign (same seeds, both explorers).
   */
  readonly baseline?: Strategy;
}

export interface Found {
  readonly kind: string;
  readonly genome: Genome;
  /** The first run of this kind in the scenario's campaign. */
  readonly run: string;
  readonly runs: number;
  /** Which generated scenario (0-based) and generation found it. */
  readonly scenario: number;
  readonly generation: number;
  /** Interleavings spent when it was found (this generation included). */
  readonly runsSpent: number;
}

export interface SearchResult {
  readonly found: Found[];
  readonly scenarios: number;
  readonly runs: number;
  readonly generations: number;
  readonly stoppedBy: 'kinds' | 'budget' | 'time';
  /**
   * Failure kinds seen but not counted: not of a kind `want` asks for, or (with a baseline) in
   * a scenario where the baseline fails too. By kind, the runs that failed so, in the order first seen.
   */
  readonly passedOver: ReadonlyMap<string, number>;
}

/** The archive of scenarios that came closest to failing, parents of the next generation. */
const ARCHIVE = 16;
/** A new scenario is a mutant of the archive with this probability (else fresh, swarm-drawn). */
const MUTATE_P = 0.6;

/**
 * For the scenarios marked `failed` (the strategy on trial failed in a way that counts), the
 * baseline's campaign: whether it passed every run, and the interleavings it cost. Without a
 * baseline, nothing is run and every entry is undefined.
 */
export async function baselinePasses(o: Pick<SearchOptions, 'baseline' | 'space' | 'file' | 'name' | 'off'>, genomes: readonly Genome[], failed: readonly boolean[], pool: WorkerPool): Promise<Array<{ passes: boolean; runs: number } | undefined>> {
  const out: Array<{ passes: boolean; runs: number } | undefined> = genomes.map(() => undefined);
  if (!o.baseline) return out;
  const which = genomes.map((_, j) => j).filter((j) => failed[j]);
  if (!which.length) return out;
  const r = await evaluateBatch(which.map((j) => candidateText(genomes[j]!, o)), o.file, o.baseline, o.space.campaign, pool);
  which.forEach((j, k) => (out[j] = { passes: r[k]!.tally.groups.length === 0, runs: r[k]!.runs }));
  return out;
}

export function candidateText(g: Genome, o: Pick<SearchOptions, 'name' | 'off' | 'space'>): string {
  return toYaml(toScenario(g, o.name, o.off, { horizon: o.space.horizon, runs: o.space.campaign.runs }));
}

/**
 * The hunt's search. Generations of `batch` scenarios: fresh ones (swarm testing) and
 * mutants of the archive's closest calls (feedback). Every draw comes from one seeded
 * stream, and a generation is evaluated whole, in a fixed order, before the next is drawn:
 * so the scenarios tried, and what is found, depend only on the seed and the space, never
 * on the number of workers. A wall-clock deadline only decides how many generations of that
 * same sequence are run.
 */
export async function search(o: SearchOptions, pool: WorkerPool): Promise<SearchResult> {
  const rng = new Rng(`hunt/${o.seed}`);
  const archive: Array<{ g: Genome; score: number; i: number }> = [];
  const found: Found[] = [];
  const perScenario = o.space.campaign.runs * o.space.campaign.explorers.length;
  let scenarios = 0;
  let runs = 0;
  let generations = 0;
  const passedOver = new Map<string, number>();
  for (;;) {
    if (found.length >= o.kinds) return { found, scenarios, runs, generations, stoppedBy: 'kinds', passedOver };
    if (runs + perScenario > o.budgetRuns) return { found, scenarios, runs, generations, stoppedBy: 'budget', passedOver };
    if (o.timeUp?.()) return { found, scenarios, runs, generations, stoppedBy: 'time', passedOver };
    const batch = Math.max(1, Math.min(o.space.campaign.batch, Math.floor((o.budgetRuns - runs) / perScenario)));
    const genomes: Genome[] = [];
    for (let j = 0; j < batch; j++) {
      const seed = 1 + (scenarios + j) * o.space.campaign.runs;
      if (archive.length && rng.float() < MUTATE_P) {
        // Tournament of two: the closer call is the parent.
        const a = archive[Math.floor(rng.float() * archive.length)]!;
        const b = archive[Math.floor(rng.float() * archive.length)]!;
        genomes.push(mutate(rng, (a.score >= b.score ? a : b).g, o.space, o.off, seed));
      } else genomes.push(randomGenome(rng, o.space, o.off, seed));
    }
    const results = await evaluateBatch(genomes.map((g) => candidateText(g, o)), o.file, o.strategy, o.space.campaign, pool);
    generations++;
    const wanted = (k: { kind: string }) => o.want === undefined || o.want.every((w) => k.kind.includes(w));
    const clean = await baselinePasses(o, genomes, results.map((r) => kindsOf(r.tally).some(wanted)), pool);
    results.forEach((r, j) => {
      runs += r.runs + (clean[j]?.runs ?? 0);
      const index = scenarios + j;
      const counts = clean[j]?.passes ?? true;
      for (const k of kindsOf(r.tally)) {
        if (!counts || !wanted(k)) passedOver.set(k.kind, (passedOver.get(k.kind) ?? 0) + k.runs);
      }
      if (counts) {
        for (const k of kindsOf(r.tally)) {
          if (!wanted(k)) continue;
          if (!found.some((f) => f.kind === k.kind) && found.length < o.kinds) found.push({ kind: k.kind, genome: genomes[j]!, run: k.run, runs: k.runs, scenario: index, generation: generations, runsSpent: 0 });
        }
      }
      // A failure the baseline shares is no find, but still a close call worth mutating.
      archive.push({ g: genomes[j]!, score: r.tally.groups.length && counts ? 1_000_000 : closeness(r.tally) + (r.tally.groups.length ? 100_000 : 0), i: index });
    });
    if (found.length && found.every((f) => f.runsSpent === 0)) o.onFirst?.();
    for (const f of found) if (f.runsSpent === 0) (f as { runsSpent: number }).runsSpent = runs;
    archive.sort((x, y) => y.score - x.score || x.i - y.i);
    archive.length = Math.min(archive.length, ARCHIVE);
    scenarios += batch;
    o.progress?.({ scenarios, runs, kinds: found.map((f) => f.kind) });
  }
}
