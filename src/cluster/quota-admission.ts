import type { World } from './world.js';
import type { ApiError } from './apiserver.js';
import { Informer } from './informer.js';
import { launcherPodUsage } from './usage.js';
import type { KObject, Pod, ResourceQuota } from './objects.js';
import { objKey, podCountsForQuota } from './objects.js';
import type { ResourceList } from './resources.js';
import { prettyPrint } from './resources.js';
import { versionRef } from './state-text.js';

/**
 * The ResourceQuota admission plugin (kubernetes staging/src/k8s.io/apiserver/pkg/admission/
 * plugin/resourcequota/controller.go), the last validating plugin, on Pod CREATE:
 * - quotas come from the API server's informer cache, preferring its own LRU copy when
 *   newer (resource_access.go GetQuotas/checkCache);
 * - the check is against status.hard, not spec.hard (CheckRequest), so a raised spec has no
 *   effect until the quota controller has copied it to status;
 * - only the resources the pod uses are compared (Mask), `used + requested <= hard`;
 * - the charge is a compare-and-swap UpdateStatus with the cached resourceVersion, retried
 *   on failure with a fresh read, 3 retries (checkQuotas(quotas, waiters, 3)), then the
 *   last error (a 409) fails the pod create. The retries re-read after a round trip in
 *   which the lister normally catches up, so they read the current object.
 */
export function installQuotaAdmission(world: World): void {
  const api = world.api;
  const cache = new Informer(world, 'kube-apiserver', ['ResourceQuota'], 'apiserverCacheLag');
  const lru = new Map<string, ResourceQuota>();
  const ACTOR = 'kube-apiserver';
  world.registerState('admission-cache', ACTOR, () => [...lru].map(([k, q]) => `${k}=${versionRef(q)}`).sort().join(','));

  api.addAdmission('Pod', (_actor, verb, _old, obj: KObject): ApiError | undefined => {
    if (verb !== 'create') return undefined;
    const pod = obj as Pod;
    if (!podCountsForQuota(pod)) return undefined;
    // Looked up per admission, not once at install: each lookup records the read in an
    // exhaustive search's footprint (a pod create depends on the quota cache it reads).
    const cached = cache.indexed('ResourceQuota');
    const stored = api.indexed('ResourceQuota');
    const usage = launcherPodUsage(pod);
    const podName = pod.metadata.name || pod.metadata.generateName || '';
    const ns = pod.metadata.namespace;
    let lastError: ApiError | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      // The namespace's quotas: from the cache (or the LRU's newer copy) first, fresh on a retry.
      let charged: ResourceQuota[] | undefined;
      for (const listed of attempt > 0 ? stored.view('namespace', ns) : cached.view('namespace', ns)) {
        let q = listed;
        if (attempt === 0) {
          const mine = lru.get(objKey(q));
          if (mine && mine.metadata.resourceVersion > q.metadata.resourceVersion) q = mine;
        }
        const verdict = check(q, usage);
        if (typeof verdict === 'function') return refusal(podName, verdict);
        if (typeof verdict === 'string') return { code: 403, reason: 'Forbidden', message: `pods "${podName}" is forbidden: ${verdict}` };
        if (verdict) (charged ??= []).push(verdict);
      }
      // No quota in the namespace, or none that counts what the pod uses.
      if (!charged) return undefined;
      lastError = undefined;
      for (const q of charged) {
        const r = api.updateStatus(ACTOR, q);
        if (!r.ok) {
          lastError = r.err;
          break;
        }
        lru.set(objKey(r.obj), r.obj);
      }
      if (!lastError) return undefined;
    }
    return lastError;
  });
}

/**
 * A quota refusal whose text (sorted, formatted quantities) is written only when someone reads
 * it (a trace, a controller matching it): a Pending migration is refused hundreds of times per
 * run, and most refusals are only counted.
 */
function refusal(podName: string, text: () => string): ApiError {
  let message: string | undefined;
  return {
    code: 403,
    reason: 'Forbidden',
    exceededQuota: true,
    get message() {
      return (message ??= `pods "${podName}" is forbidden: ${text()}`);
    },
  };
}

/**
 * Refusal texts by quota version and pod usage: a Pending migration retries against the same
 * quota many times, and the text is the same every time.
 */
const refusals = new WeakMap<ResourceQuota, WeakMap<ResourceList, string | LazyText>>();

/** An "exceeded quota" text, written when read. */
type LazyText = () => string;

/**
 * CheckRequest for one quota: an error text (or, for "exceeded quota", a function that writes
 * it), the quota with its new usage, or undefined if untouched.
 */
function check(q: ResourceQuota, usage: ResourceList): string | LazyText | ResourceQuota | undefined {
  const known = refusals.get(q)?.get(usage);
  if (known !== undefined) return known;
  const r = checkFresh(q, usage);
  if (typeof r === 'string' || typeof r === 'function') {
    let m = refusals.get(q);
    if (!m) refusals.set(q, (m = new WeakMap()));
    m.set(usage, r);
  }
  return r;
}

function checkFresh(q: ResourceQuota, usage: ResourceList): string | LazyText | ResourceQuota | undefined {
  const hard = q.status.hard;
  const used = q.status.used;
  let any = false;
  let missing: string[] | undefined;
  for (const k in hard) {
    if (used[k] === undefined) (missing ??= []).push(k);
    if (usage[k] !== undefined) any = true;
  }
  const name = q.metadata.name;
  if (missing) return `status unknown for quota: ${name}, resources: ${missing.sort().join(',')}`;
  if (!any) return undefined;
  let exceeded = false;
  for (const k in hard) {
    const u = usage[k];
    if (u !== undefined && (used[k] ?? 0) + u > hard[k]!) {
      exceeded = true;
      break;
    }
  }
  if (exceeded) {
    let text: string | undefined;
    return () => {
      if (text !== undefined) return text;
      const keys = Object.keys(hard).filter((k) => usage[k] !== undefined && (used[k] ?? 0) + usage[k]! > hard[k]!);
      const pick = (l: ResourceList) => Object.fromEntries(keys.map((k) => [k, l[k] ?? 0]));
      const requested = pick(usage);
      return (text = `exceeded quota: ${name}, requested: ${prettyPrint(requested)}, used: ${prettyPrint(pick(used))}, limited: ${prettyPrint(pick(hard))}`);
    };
  }
  const newUsed: Record<string, number> = { ...used };
  for (const k in hard) if (usage[k] !== undefined) newUsed[k] = (used[k] ?? 0) + usage[k]!;
  return { ...q, status: { hard, used: newUsed } };
}

