import type { Strategy } from './api.js';
import preFix from './pre-fix.js';
import rancherKeepsShare from './rancher-keeps-share.js';
import skipAutoscaling from './skip-autoscaling.js';
import v142NoWebhook from './v1.4.2-no-webhook.js';
import v142WatchNamespaces from './v1.4.2-watch-namespaces.js';
import v142 from './v1.4.2.js';

/** Every built-in strategy, in the order tables list them: the two real versions first. */
export const BUILTIN_STRATEGIES: readonly Strategy[] = [preFix, v142, rancherKeepsShare, v142NoWebhook, v142WatchNamespaces, skipAutoscaling];

export function builtinStrategy(name: string): Strategy | undefined {
  return BUILTIN_STRATEGIES.find((s) => s.name === name);
}
