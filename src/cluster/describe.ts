import type { KObject, ResourceQuota } from './objects.js';
import { objKey } from './objects.js';
import { formatQuantity } from './quantity.js';
import type { ResourceList } from './resources.js';

/** What changed between two versions of an object, in the words the timeline prints. */
export function describeChange(old: KObject | undefined, cur: KObject | undefined): string {
  const o = cur ?? old!;
  const head = `${o.kind} ${objKey(o)}`;
  if (!old) return `create ${head}${describeNew(cur!)}`;
  if (!cur) return `delete ${head}`;
  const parts: string[] = [];
  diffAnnotations(old.metadata.annotations, cur.metadata.annotations, parts);
  switch (cur.kind) {
    case 'ResourceQuota': {
      const prev = old as ResourceQuota;
      diffList('spec.hard', prev.spec.hard, cur.spec.hard, parts);
      diffList('status.hard', prev.status.hard, cur.status.hard, parts);
      diffList('used', prev.status.used, cur.status.used, parts);
      break;
    }
    case 'Pod': {
      const prev = old as typeof cur;
      if (prev.spec.nodeName !== cur.spec.nodeName) parts.push(`bound to ${cur.spec.nodeName}`);
      if (prev.status.phase !== cur.status.phase) parts.push(`phase ${prev.status.phase}→${cur.status.phase}`);
      if (!prev.status.unschedulable && cur.status.unschedulable) parts.push('Unschedulable');
      break;
    }
    case 'VirtualMachineInstanceMigration': {
      const prev = old as typeof cur;
      if (prev.status.phase !== cur.status.phase) parts.push(`phase ${prev.status.phase}→${cur.status.phase}`);
      if (prev.status.rejectedByResourceQuota !== cur.status.rejectedByResourceQuota) {
        parts.push(`condition migrationRejectedByResourceQuota=${cur.status.rejectedByResourceQuota ? 'True' : 'removed'}`);
      }
      if (prev.status.targetPod !== cur.status.targetPod && cur.status.targetPod) parts.push(`target pod ${cur.status.targetPod}`);
      break;
    }
    case 'VirtualMachineInstance': {
      const prev = old as typeof cur;
      if (prev.status.nodeName !== cur.status.nodeName) parts.push(`node ${prev.status.nodeName}→${cur.status.nodeName}`);
      if (prev.status.evacuationNodeName !== cur.status.evacuationNodeName) {
        parts.push(cur.status.evacuationNodeName ? `evacuationNodeName=${cur.status.evacuationNodeName}` : 'evacuationNodeName cleared');
      }
      break;
    }
    case 'Node': {
      const prev = old as typeof cur;
      if (prev.spec.unschedulable !== cur.spec.unschedulable) parts.push(cur.spec.unschedulable ? 'cordoned' : 'uncordoned');
      break;
    }
    case 'PodDisruptionBudget': {
      const prev = old as typeof cur;
      diffLabels(prev.metadata.labels, cur.metadata.labels, parts);
      if (prev.spec.minAvailable !== cur.spec.minAvailable) parts.push(`minAvailable ${prev.spec.minAvailable}→${cur.spec.minAvailable}`);
      if (prev.status.expectedPods !== cur.status.expectedPods) parts.push(`expectedPods ${prev.status.expectedPods}→${cur.status.expectedPods}`);
      if (prev.status.currentHealthy !== cur.status.currentHealthy) parts.push(`currentHealthy ${prev.status.currentHealthy}→${cur.status.currentHealthy}`);
      if (prev.status.desiredHealthy !== cur.status.desiredHealthy) parts.push(`desiredHealthy ${prev.status.desiredHealthy}→${cur.status.desiredHealthy}`);
      if (prev.status.disruptionsAllowed !== cur.status.disruptionsAllowed) parts.push(`disruptionsAllowed ${prev.status.disruptionsAllowed}→${cur.status.disruptionsAllowed}`);
      break;
    }
    case 'Namespace':
      break;
  }
  return `update ${head}${parts.length ? ': ' + parts.join('; ') : ''}`;
}

function describeNew(o: KObject): string {
  switch (o.kind) {
    case 'Pod':
      return ` (limits ${list(o.spec.limits)}${o.spec.nodeName ? `, on ${o.spec.nodeName}` : ''})`;
    case 'VirtualMachineInstanceMigration':
      return ` for VMI ${o.spec.vmiName} from ${o.status.sourceNode}`;
    case 'ResourceQuota':
      return ` spec.hard ${list(o.spec.hard)}`;
    default:
      return '';
  }
}

function list(l: ResourceList): string {
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${formatQuantity(l[k]!, k)}`)
    .join(',');
}

function diffList(label: string, a: ResourceList, b: ResourceList, out: string[]): void {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const changes: string[] = [];
  for (const k of [...keys].sort()) {
    if (a[k] === b[k]) continue;
    const from = a[k] === undefined ? '∅' : formatQuantity(a[k]!, k);
    const to = b[k] === undefined ? '∅' : formatQuantity(b[k]!, k);
    changes.push(`${k} ${from}→${to}`);
  }
  if (changes.length) out.push(`${label} ${changes.join(', ')}`);
}

function diffLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>, out: string[]): void {
  for (const k of Object.keys(b).sort()) if (a[k] !== b[k]) out.push(`label ${k}=${b[k]}`);
  for (const k of Object.keys(a).sort()) if (b[k] === undefined) out.push(`-label ${k}`);
}

function diffAnnotations(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>, out: string[]): void {
  for (const k of Object.keys(b).sort()) {
    if (a[k] === undefined) out.push(`+annotation ${k}=${b[k]}`);
    else if (a[k] !== b[k]) out.push(`annotation ${k}: ${a[k]} → ${b[k]}`);
  }
  for (const k of Object.keys(a).sort()) if (b[k] === undefined) out.push(`-annotation ${k}`);
}
