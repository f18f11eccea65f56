import type { StrategyResult } from '../explore/campaign.js';

/**
 * A strategy's verdict on one scenario, as every page shows it. "safe": no failure in a
 * complete search, or in a sample (random, PCT: the sample's size and PCT's bound say how
 * much that is worth); "unsafe": some run failed; "incomplete": an exhaustive search that
 * stopped at --max-runs found no failure in what it covered, which shows nothing about the
 * interleavings it did not reach; "error": the strategy errored.
 */
export type Safety = 'safe' | 'unsafe' | 'incomplete' | 'error';

export function safetyOf(st: StrategyResult): Safety {
  if (st.error) return 'error';
  if (st.failures.length > 0) return 'unsafe';
  const x = st.exploration;
  return x.selector === 'exhaustive' && !x.complete ? 'incomplete' : 'safe';
}

/** What stopped an incomplete search, from its recorded coverage: "stopped at --max-runs 300". */
export function stoppedAt(st: StrategyResult): string {
  const x = st.exploration;
  return x.selector === 'exhaustive' && x.maxRuns !== undefined ? `stopped at --max-runs ${x.maxRuns}` : 'stopped at --max-runs';
}

/** The verdict's words: "SAFE here", "UNSAFE here", "no failure found — incomplete search (stopped at --max-runs 300)", "ERROR". */
export function verdictWord(st: StrategyResult): string {
  const s = safetyOf(st);
  return s === 'error' ? 'ERROR' : s === 'unsafe' ? 'UNSAFE here' : s === 'safe' ? 'SAFE here' : `no failure found — incomplete search (${stoppedAt(st)})`;
}
