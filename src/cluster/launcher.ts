import type { ResourceList } from './resources.js';
import { LIMITS_CPU, LIMITS_MEMORY, PODS, REQUESTS_CPU, REQUESTS_MEMORY } from './resources.js';

/** Bytes → milli-units. */
const B = 1000;
const MI = 2 ** 20;

/**
 * Harvester's overcommit defaults (harvester pkg/settings, overcommit-config
 * {"cpu":1600,"memory":150}) as its VM mutator applies them
 * (pkg/webhook/resources/virtualmachine/mutator.go patchResourceOvercommit, which computes the
 * CPU request inline, and generateMemoryPatch): request = limit * 100 / ratio, memory
 * truncated to whole MiB.
 */
export function harvesterRequests(cpuCores: number, memoryLimit: number): { cpu: number; memory: number } {
  const cpu = Math.floor((cpuCores * 1000 * 100) / 1600);
  const memBytes = Math.floor((memoryLimit / B) * 100 / 150);
  return { cpu, memory: Math.floor(memBytes / MI) * MI * B };
}

/**
 * KubeVirt v1.3.1 GetMemoryOverhead (pkg/virt-controller/services/renderresources.go),
 * for an amd64 VM with default devices (one IOThread, autoattached graphics), in bytes:
 * pagetables ceil(request/1000)*1000/512, fixed 210Mi (virt-launcher-monitor 25, virt-launcher
 * 100, virtlogd 20, virtqemud 35, qemu 30), 8Mi per vCPU, 8Mi IOThread, 16Mi video; then
 * multiplyMemory for additionalGuestMemoryOverheadRatio: + int(ceil(o/1000)*(ratio-1))*1000.
 * Checked against harvester/harvester#7504's 1-CPU 1Gi VM: 1Gi + this at ratio 1.5 = 1456469952.
 */
export function memoryOverheadBytes(vcpus: number, memoryRequestBytes: number, ratio: number | undefined): number {
  const pagetable = Math.floor((Math.ceil(memoryRequestBytes / 1000) * 1000) / 512);
  let overhead = pagetable + 210 * MI + 8 * MI * Math.max(1, vcpus) + 8 * MI + 16 * MI;
  if (ratio !== undefined && ratio > 1) {
    overhead += Math.trunc(Math.ceil(overhead / 1000) * (ratio - 1)) * 1000;
  }
  return overhead;
}

/**
 * Harvester's default additional-guest-memory-overhead-ratio, "1.5" (harvester v1.4.x
 * pkg/settings/settings_helper.go AdditionalGuestMemoryOverheadRatioDefault; valid 1.0–10.0,
 * "" or "0" clear it). Harvester's setting controller copies it into the KubeVirt CR
 * (pkg/controller/master/setting/additional_guest_memory_overhead.go), and KubeVirt renders
 * every virt-launcher pod with it (pkg/virt-controller/services/template.go, GetMemoryOverhead).
 */
/**
 * The VM a virt-launcher pod runs, from the pod's key or name: KubeVirt names it by generateName
 * `virt-launcher-<vm>-` and a 5-character suffix (actors/kubevirt/templates.ts). Undefined for
 * any other pod.
 */
export function launcherPodVm(pod: string): string | undefined {
  const slash = pod.indexOf('/');
  const m = /^virt-launcher-(.+)-[a-z0-9]{5}$/.exec(slash < 0 ? pod : pod.slice(slash + 1));
  return m ? (slash < 0 ? m[1] : `${pod.slice(0, slash)}/${m[1]}`) : undefined;
}

export const DEFAULT_OVERHEAD_RATIO_TEXT = '1.5';
export const DEFAULT_OVERHEAD_RATIO = 1.5;

/**
 * The serial-console-log container every v1.3 virt-launcher pod has by default
 * (kubevirt pkg/virt-controller/services/serialconsolelog.go): limits 15m cpu / 60M memory,
 * requests 5m / 35M. It is why a 4-core VM's pod asks limits.cpu=4015m (#7178's log), and
 * Harvester's quota delta, taken from the VMI alone, leaves it out.
 */
const CONSOLE_LOG = { limitsCpu: 15, limitsMemory: 60_000_000 * B, requestsCpu: 5, requestsMemory: 35_000_000 * B };

export interface VmSize {
  readonly cpu: number;
  readonly memoryLimit: number;
  readonly memoryRequest: number;
}

/**
 * A virt-launcher pod's quota usage (renderLaunchManifest + WithMemoryOverhead in
 * renderresources.go): the compute container has the VMI's limits plus the overhead on
 * memory (ratio from KubeVirt's config), plus the console-log container. The migration
 * target pod is rendered by the same function, so it is the same size as the source.
 */
const rendered = new WeakMap<VmSize, Map<number | undefined, { limits: ResourceList; requests: ResourceList }>>();

export function launcherPodResources(vm: VmSize, ratio: number | undefined): { limits: ResourceList; requests: ResourceList } {
  // A VMI's spec is immutable, so its pods' resources are rendered once per spec and ratio
  // (any ratio: the incident's is unset): every retry of a target pod then carries the same
  // objects, which the quota usage and refusal-text caches recognise.
  let byRatio = rendered.get(vm);
  if (!byRatio) rendered.set(vm, (byRatio = new Map()));
  let r = byRatio.get(ratio);
  if (!r) byRatio.set(ratio, (r = renderResources(vm, ratio)));
  return r;
}

function renderResources(vm: VmSize, ratio: number | undefined): { limits: ResourceList; requests: ResourceList } {
  const overhead = memoryOverheadBytes(vm.cpu, vm.memoryRequest / B, ratio) * B;
  const reqCpu = Math.floor((vm.cpu * 1000 * 100) / 1600) + CONSOLE_LOG.requestsCpu;
  const reqMem = vm.memoryRequest + overhead + CONSOLE_LOG.requestsMemory;
  return {
    limits: {
      [LIMITS_CPU]: vm.cpu * 1000 + CONSOLE_LOG.limitsCpu,
      [LIMITS_MEMORY]: vm.memoryLimit + overhead + CONSOLE_LOG.limitsMemory,
    },
    requests: { [REQUESTS_CPU]: reqCpu, [REQUESTS_MEMORY]: reqMem },
  };
}

/**
 * PodUsageFunc (kubernetes pkg/quota/v1/evaluator/core/pods.go): what a non-terminal pod
 * charges: pods=1, cpu/requests.cpu, memory/requests.memory, limits.cpu, limits.memory.
 */
export function podUsage(limits: ResourceList, requests: ResourceList): ResourceList {
  const rc = requests[REQUESTS_CPU] ?? 0;
  const rm = requests[REQUESTS_MEMORY] ?? 0;
  return {
    [PODS]: 1000,
    'count/pods': 1000,
    cpu: rc,
    memory: rm,
    [REQUESTS_CPU]: rc,
    [REQUESTS_MEMORY]: rm,
    [LIMITS_CPU]: limits[LIMITS_CPU] ?? 0,
    [LIMITS_MEMORY]: limits[LIMITS_MEMORY] ?? 0,
  };
}
