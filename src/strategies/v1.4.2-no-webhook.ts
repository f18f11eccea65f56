import { defineStrategy } from './api.js';
import { quotaReconcile, vmimReconcile } from './v1.4.2.js';

/**
 * Alternative: v1.4.2's controllers without the namespace webhook.
 *
 * Rationale: the webhook that refuses quota edits during migrations predates the fix; it
 * protected v1.4.1's subtraction from a base that moved under it. v1.4.2 recomputes
 * spec.hard = base + Σ deltas on every quota event, so an edit during a migration should
 * just move the base. Dropping the webhook would stop users being refused (and retrying)
 * during every drain. The question it puts on trial: is the webhook still load-bearing?
 * It also drops the check against lowering a limit below what is in use.
 */
export default defineStrategy({
  name: 'v1.4.2-no-webhook',
  description: "v1.4.2's controllers without the namespace webhook: quota edits are accepted during migrations.",
  reconcilers: [
    { name: 'vm-migration-controller', watches: ['VirtualMachineInstanceMigration'], reconcile: vmimReconcile },
    { name: 'resourceQuotaController', watches: ['ResourceQuota'], reconcile: quotaReconcile },
  ],
  webhooks: [],
});
