import type { ApiError, ApiResult } from './apiserver.js';
import type { ApiServer } from './apiserver.js';
import type { KObject, Pod } from './objects.js';
import { podCountsForQuota } from './objects.js';

/** A validating webhook on pods/eviction: a refusal, or undefined to let the eviction proceed. */
export type EvictionWebhook = (actor: string, pod: Pod) => ApiError | undefined;

/**
 * The policy/v1 Eviction subresource (kubernetes pkg/registry/core/pod/storage/eviction.go):
 * a pod in a terminal phase is deleted at once; otherwise validating webhooks run (KubeVirt's
 * virt-api admitter answers 429 for virt-launcher pods), then the pod is deleted. Graceful
 * termination is folded into the delete: the pod's process stops at once.
 */
export class EvictionApi {
  private readonly webhooks: EvictionWebhook[] = [];

  constructor(private readonly api: ApiServer) {}

  addWebhook(w: EvictionWebhook): void {
    this.webhooks.push(w);
  }

  evict(actor: string, podKey: string): ApiResult<KObject> {
    const pod = this.api.get('Pod', podKey);
    if (!pod) return this.api.delete(actor, 'Pod', podKey);
    if (podCountsForQuota(pod)) {
      for (const w of this.webhooks) {
        const err = w(actor, pod);
        if (err) return this.api.refuse(actor, 'evict', 'Pod', podKey, err);
      }
    }
    return this.api.delete(actor, 'Pod', podKey);
  }
}
