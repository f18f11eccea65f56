import type { Strategy } from './api.js';
import preFix from './pre-fix.js';
import v142 from './v1.4.2.js';

/** Every built-in strategy, in the order tables list them. */
export const BUILTIN_STRATEGIES: readonly Strategy[] = [preFix, v142];

export function builtinStrategy(name: string): Strategy | undefined {
  return BUILTIN_STRATEGIES.find((s) => s.name === name);
}
