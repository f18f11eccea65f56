import { agentPod, AGENT_NAMESPACE, RancherAgent } from '../actors/rancher-agent.js';
import { DrainLog, drainNode } from '../actors/drain.js';
import { installEvictionWebhook, launcherPod, newMigration, startKubeVirt } from '../actors/kubevirt.js';
import { startQuotaController } from '../actors/quota-controller.js';
import { ANN_RANCHER_QUOTA, LABEL_DEFAULT_RQ, rancherQuotaAnnotation } from '../actors/rancher-quota.js';
import { Intent, User } from '../actors/user.js';
import { EvictionApi } from '../cluster/eviction.js';
import { harvesterRequests } from '../cluster/launcher.js';
import type { Namespace, Node, ResourceQuota, VirtualMachineInstance } from '../cluster/objects.js';
import { keyOf, objKey, podCountsForQuota } from '../cluster/objects.js';
import { installQuotaAdmission } from '../cluster/quota-admission.js';
import { RANCHER_KEYS, type RancherKey } from '../cluster/resources.js';
import { parseQuantity } from '../cluster/quantity.js';
import { launcherPodUsage } from '../cluster/usage.js';
import type { Action, Scenario } from '../scenario/model.js';
import type { Strategy } from '../strategies/api.js';
import { installStrategy } from '../strategies/runtime.js';
import { judge, type RunOutcome } from './outcome.js';
import type { TraceSink } from './recorder.js';
import { World } from './world.js';

const SETUP = 'setup';
const OPERATOR = 'operator';

export interface RunOptions {
  readonly trace?: TraceSink;
}

/**
 * One seeded run of a scenario against a strategy: build the cluster in its steady
 * state, start every actor, schedule the scenario's actions, run until the cluster settles
 * or the horizon, and judge the end state.
 */
export function runOnce(scenario: Scenario, strategy: Strategy, seed: number, opts: RunOptions = {}): RunOutcome {
  const world = new World(String(seed), scenario.latencies, opts.trace);
  const api = world.api;
  const intent = new Intent();
  const homes = new Map<string, string>();

  // ---- the cluster at rest ----
  for (const n of scenario.nodes) {
    const node: Node = {
      kind: 'Node',
      metadata: meta(n.name, ''),
      spec: { unschedulable: false },
      status: { allocatable: { cpu: n.cpu, memory: n.memory } },
    };
    api.create(SETUP, node);
  }
  for (const ns of scenario.namespaces) {
    const annotations: Record<string, string> = scenario.rancher ? { [ANN_RANCHER_QUOTA]: rancherQuotaAnnotation(ns.quota) } : {};
    api.create(SETUP, { kind: 'Namespace', metadata: { ...meta(ns.name, ''), annotations } } satisfies Namespace);
    intent.set(ns.name, ns.quota);
    for (const vm of ns.vms) {
      const req = harvesterRequests(vm.cpu, vm.memory);
      const r = api.create(SETUP, {
        kind: 'VirtualMachineInstance',
        metadata: meta(vm.name, ns.name),
        spec: { cpu: vm.cpu, memoryLimit: vm.memory, memoryRequest: req.memory, evictionStrategy: vm.evictionStrategy },
        status: { nodeName: vm.node },
      } satisfies VirtualMachineInstance);
      if (r.ok) api.create(SETUP, launcherPod(r.obj, vm.node));
      homes.set(keyOf({ namespace: ns.name, name: vm.name }), vm.node);
    }
    const hard: Record<string, number> = {};
    for (const k of Object.keys(ns.quota) as RancherKey[]) hard[RANCHER_KEYS[k]] = parseQuantity(ns.quota[k]!)!;
    const used: Record<string, number> = {};
    for (const k in hard) used[k] = 0;
    for (const p of api.list('Pod', ns.name)) {
      if (!podCountsForQuota(p)) continue;
      const u = launcherPodUsage(p);
      for (const k in hard) used[k]! += u[k] ?? 0;
    }
    const rq: ResourceQuota = {
      kind: 'ResourceQuota',
      metadata: scenario.rancher
        ? { ...meta('', ns.name), generateName: 'default-', labels: { [LABEL_DEFAULT_RQ]: 'true' } }
        : meta('quota', ns.name),
      spec: { hard },
      status: { hard, used },
    };
    api.create(SETUP, rq);
  }
  let agent: RancherAgent | undefined;
  if (scenario.rancher) {
    const r = api.create(SETUP, agentPod(scenario.rancher.agentNode));
    if (r.ok) agent = new RancherAgent(world, objKey(r.obj));
  }

  // ---- the actors ----
  const eviction = new EvictionApi(api);
  installQuotaAdmission(world);
  startQuotaController(world);
  installEvictionWebhook(world, eviction);
  startKubeVirt(world);
  installStrategy(world, strategy);
  agent?.startWarm();
  const user = new User(world, intent, agent);
  const drains = new DrainLog();
  const mustMove = new Set<string>();

  // ---- the scenario's actions, at times drawn from their own stream ----
  const when = world.rng.get('actions');
  for (const a of scenario.actions) {
    const t = 'at' in a.timing ? a.timing.at : when.int(a.timing.between[0], a.timing.between[1]);
    world.recorder.note('scenario', () => `${describeAction(a)} at ${(t / 1000).toFixed(3)}s${'between' in a.timing ? ' (drawn)' : ''}`);
    switch (a.type) {
      case 'drain':
        for (const [vmKey, node] of homes) if (node === a.node) mustMove.add(vmKey);
        world.kernel.spawn(drainNode(world, eviction, a.node, drains), t);
        break;
      case 'restartAgent':
        world.kernel.schedule(t, () => {
          const pod = api.list('Pod', AGENT_NAMESPACE).find((p) => p.metadata.labels.app === 'cattle-cluster-agent');
          if (pod) api.delete(OPERATOR, 'Pod', objKey(pod));
        });
        break;
      case 'editQuota':
        world.kernel.schedule(t, () => user.edit(a.namespace, a.quota));
        break;
      case 'migrate': {
        const key = keyOf({ namespace: a.namespace, name: a.vm });
        mustMove.add(key);
        world.kernel.schedule(t, () => {
          const vmi = api.get('VirtualMachineInstance', key);
          if (vmi) api.create(OPERATOR, newMigration(vmi, `${a.vm}-migration-`));
        });
        break;
      }
    }
  }

  const settled = world.kernel.run(scenario.horizonMs);
  world.recorder.counters.drainMs = drains.durationMs;
  return judge(world, intent, homes, mustMove, settled, seed);
}

function describeAction(a: Action): string {
  switch (a.type) {
    case 'drain':
      return `drain ${a.node}`;
    case 'restartAgent':
      return 'restart the cluster agent';
    case 'editQuota':
      return `user edits quota of ${a.namespace} to ${rancherQuotaAnnotation(a.quota)}`;
    case 'migrate':
      return `migrate ${a.namespace}/${a.vm}`;
  }
}

function meta(name: string, namespace: string) {
  return { name, namespace, uid: '', resourceVersion: 0, labels: {}, annotations: {} };
}
