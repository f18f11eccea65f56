import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isStrategyPath } from '../strategies/loader.js';
import { CST, Lexer, LineCounter, parseDocument, isMap, isNode, visit, type Document } from 'yaml';
import { z, type ZodTypeAny } from 'zod';
import type { RancherLimit } from '../actors/rancher-quota.js';
import { completeQuota, exceedsMessage, isQuotaFit, type RancherProject } from '../actors/rancher-project.js';
import type { RancherKey } from '../cluster/resources.js';
import { defaultAgentReplicas } from '../actors/rancher-agent.js';
import { DEFAULT_OVERHEAD_RATIO_TEXT } from '../cluster/launcher.js';
import { parseQuantity } from '../cluster/quantity.js';
import { DEFAULT_LATENCIES, type Latencies, type LatencyName } from '../cluster/latency.js';
import { parseDuration } from './duration.js';
import { InputError, capList, fieldPath, zodIssueMessage, type InputProblem } from './errors.js';
import { readInputFile } from '../base/input-file.js';
import type { Action, Expectation, ExpectMetric, NamespaceSpec, Scenario, Timing } from './model.js';
import { duration, scenarioSchema, type ScenarioFile } from './schema.js';

type Path = (string | number)[];

const DEFAULT_RUNS = 100;
const DEFAULT_HORIZON = '30m';

/** Read and validate a scenario file; throws InputError listing every problem found. */
export function loadScenario(file: string, knownStrategy: (name: string) => boolean): Scenario {
  return parseScenario(readScenarioText(file), file, knownStrategy);
}

/** A scenario file's text, refused from its size (stat) before a byte is read. */
export function readScenarioText(file: string): string {
  const r = readInputFile(file, INPUT_LIMITS.bytes, 'a scenario');
  if ('error' in r) throw new InputError([{ file, line: 0, col: 0, field: '', message: r.error }]);
  return r.text;
}

/**
 * Sizes a scenario may have. A run's cost grows with VMs × actions (every action's
 * controllers list the cluster), so past these a campaign would run for minutes per run:
 * refused with the limit named, rather than silent.
 */
export const SCENARIO_LIMITS = { nodes: 200, vms: 1_000, namespaces: 100, actions: 100, horizonMs: 7 * 24 * 3600_000, seed: 2 ** 48, runs: 1_000_000_000, strategies: 50 } as const;

/**
 * Bounds on the file itself, checked before anything is built from it: its size from stat
 * (before reading), then in one pass of the YAML lexer (no document built) the number of
 * nodes, of aliases and the longest value. The largest scenario SCENARIO_LIMITS allows is
 * ~265 kB and ~17,000 nodes (every name 63 characters), so these leave room for comments
 * and descriptions while a file past them is refused in milliseconds: a 14 MB file of
 * 150,000 actions used to be built whole (19-27 s, 2.1-2.4 GB) only to be refused for its
 * action count.
 */
export const INPUT_LIMITS = { bytes: 1024 * 1024, nodes: 50_000, aliases: 1000, valueChars: 16_384 } as const;

/** The tokens that make a node (a value, a key, an alias, a collection, a list item). */
const NODE_TOKENS = new Set<string>(['alias', 'single-quoted-scalar', 'double-quoted-scalar', 'flow-map-start', 'flow-seq-start', 'seq-item-ind']);

/** Refuse a file past INPUT_LIMITS from its YAML tokens alone; the problem points at the token past the limit. */
function checkSize(text: string, file: string): void {
  let nodes = 0;
  let aliases = 0;
  let offset = 0;
  const tooMany = `more than ${INPUT_LIMITS.nodes.toLocaleString('en-US')} YAML values; a scenario within quotarace's limits has far fewer (at most ${SCENARIO_LIMITS.nodes} nodes, ${SCENARIO_LIMITS.vms.toLocaleString('en-US')} VMs, ${SCENARIO_LIMITS.actions} actions)`;
  let value = false; // the previous token announced a plain or block scalar: this one is its text
  const refuse = (message: string): never => {
    const lc = new LineCounter();
    for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
    const pos = lc.linePos(offset);
    throw new InputError([{ file, line: pos.line, col: pos.col, field: '', message }]);
  };
  for (const tok of new Lexer().lex(text)) {
    // Control tokens are not in the source: '\x1f' announces a plain or block scalar (its
    // text is the next token); '\x02' and '\x18' open a document and end a broken flow collection.
    if (tok === '\x1f') {
      if (++nodes > INPUT_LIMITS.nodes) refuse(tooMany);
      value = true;
      continue;
    }
    if (tok === '\x02' || tok === '\x18') continue;
    const type = CST.tokenType(tok);
    if (type === 'alias' && ++aliases > INPUT_LIMITS.aliases) refuse(`more than ${INPUT_LIMITS.aliases} aliases (*name); quotarace refuses the file rather than expand it`);
    if (type !== null && NODE_TOKENS.has(type) && ++nodes > INPUT_LIMITS.nodes) refuse(tooMany);
    if (tok.length > INPUT_LIMITS.valueChars && (value || type === 'single-quoted-scalar' || type === 'double-quoted-scalar')) {
      refuse(`a value of ${tok.length.toLocaleString('en-US')} characters; at most ${INPUT_LIMITS.valueChars.toLocaleString('en-US')} are accepted`);
    }
    value = false;
    offset += tok.length;
  }
}

/** At most this many YAML alias expansions are built (a "billion laughs" file is refused, not expanded). */
const MAX_ALIASES = INPUT_LIMITS.aliases;

export function parseScenario(text: string, file: string, knownStrategy: (name: string) => boolean): Scenario {
  if (text.length > INPUT_LIMITS.bytes) throw new InputError([{ file, line: 0, col: 0, field: '', message: `is ${text.length.toLocaleString('en-US')} characters; a scenario is at most ${INPUT_LIMITS.bytes.toLocaleString('en-US')} bytes` }]);
  checkSize(text, file);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const problems: InputProblem[] = [];
  const at = (path: Path, message: string, key?: string): void => {
    const pos = locate(doc, lc, path, key);
    problems.push({ file, line: pos.line, col: pos.col, field: fieldPath(key ? [...path, key] : path), message });
  };
  for (const e of doc.errors) {
    const pos = lc.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, col: pos.col, field: '', message: `invalid YAML: ${e.message.split('\n')[0]}` });
  }
  if (problems.length) throw new InputError(problems);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    let pos = { line: 1, col: 1 };
    visit(doc, {
      Alias(_k, node) {
        if (node.range) pos = lc.linePos(node.range[0]);
        return visit.BREAK;
      },
    });
    throw new InputError([{ file, line: pos.line, col: pos.col, field: '', message: `invalid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)} (aliases expand to more than ${MAX_ALIASES} nodes: refused)` }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError([{ file, line: 1, col: 1, field: '', message: 'expected a YAML mapping with name, cluster and actions' }]);
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const known = knownKeys(scenarioSchema, issue.path);
        for (const k of issue.keys) {
          at(issue.path, `unknown key "${k}"${known.length ? ` (expected one of: ${known.join(', ')})` : ''}`, k);
        }
      } else {
        const missing = issue.code === 'invalid_type' && issue.received === 'undefined';
        at(issue.path, missing ? `is required (${issue.message})` : zodIssueMessage(issue, issue.code === 'invalid_union' ? unionForms(scenarioSchema, issue.path) : undefined));
      }
    }
    throw new InputError(problems);
  }
  const s = parsed.data;
  const scenario = compile(s, text, file, knownStrategy, at);
  if (problems.length) throw new InputError(problems);
  return scenario;
}

function compile(
  s: ScenarioFile,
  text: string,
  file: string,
  knownStrategy: (name: string) => boolean,
  at: (path: Path, message: string, key?: string) => void,
): Scenario {
  const q = (v: string | number) => parseQuantity(v)!;
  const horizonMs = parseDuration(s.horizon ?? DEFAULT_HORIZON)!;
  if (horizonMs <= 0) at(['horizon'], 'expected a horizon above 0s');
  if (horizonMs > SCENARIO_LIMITS.horizonMs) at(['horizon'], `expected a horizon of at most 168h (7 days of simulated time), got ${s.horizon}`);
  if (s.seed !== undefined && s.seed > SCENARIO_LIMITS.seed) at(['seed'], `expected a seed from 0 to 2^48 (${SCENARIO_LIMITS.seed}), so that seed + runs stays exact`);
  if (s.runs !== undefined && s.runs > SCENARIO_LIMITS.runs) at(['runs'], `expected at most ${SCENARIO_LIMITS.runs.toLocaleString('en-US')} runs`);
  const vmCount = s.cluster.namespaces.reduce((n, ns) => n + ns.vms.length, 0);
  const tooBig = (path: Path, what: string, n: number, max: number): void => {
    if (n > max) at(path, `${n} ${what}; quotarace's limit is ${max} (a run's cost grows with the cluster's size, and a campaign runs it hundreds of times)`);
  };
  tooBig(['cluster', 'nodes'], 'nodes', s.cluster.nodes.length, SCENARIO_LIMITS.nodes);
  tooBig(['cluster', 'namespaces'], 'namespaces', s.cluster.namespaces.length, SCENARIO_LIMITS.namespaces);
  tooBig(['cluster', 'namespaces'], 'VMs in all', vmCount, SCENARIO_LIMITS.vms);
  tooBig(['actions'], 'actions', s.actions.length, SCENARIO_LIMITS.actions);
  tooBig(['strategies'], 'strategies', s.strategies?.length ?? 0, SCENARIO_LIMITS.strategies);
  s.strategies?.forEach((ref, i) => {
    if (s.strategies!.indexOf(ref) !== i) at(['strategies', i], `"${ref}" is listed twice; each strategy runs once`);
  });

  const nodes = s.cluster.nodes.map((n) => ({ name: n.name, cpu: q(n.cpu), memory: q(n.memory) }));
  const nodeByName = new Map<string, (typeof nodes)[number]>();
  nodes.forEach((n, i) => {
    if (nodeByName.has(n.name)) at(['cluster', 'nodes', i, 'name'], `duplicate node "${n.name}"`);
    nodeByName.set(n.name, n);
  });
  const nodeList = capList([...nodeByName.keys()]);

  let rancher: Scenario['rancher'];
  const r = s.cluster.rancher;
  if (r) {
    // scale-available "2": min(2, nodes) replicas unless the scenario says; the first on
    // agentNode, the others spread over the other nodes in name order (ClusterAgentAffinity's
    // preferred anti-affinity, rancher v2.10.3 pkg/settings/affinity.go; preferred, not
    // required, so agentNodes can also put them together, as after a drain of the others).
    // carrier: the node of the replica that connected first (rancher-tunnel.ts); unset, the
    // run draws it.
    const replicas = r.agentNodes?.length ?? r.agentReplicas ?? defaultAgentReplicas(nodes.length);
    if (r.agentNodes && r.agentReplicas !== undefined && r.agentReplicas !== r.agentNodes.length) {
      at(['cluster', 'rancher', 'agentReplicas'], `agentNodes lists ${r.agentNodes.length} node(s), one per replica, but agentReplicas is ${r.agentReplicas}`);
    }
    if (r.agentNode !== undefined && r.agentNodes !== undefined) at(['cluster', 'rancher', 'agentNodes'], 'expected agentNode (the first replica\'s node) or agentNodes (one node per replica), not both');
    if (r.agentNode === undefined && r.agentNodes === undefined) at(['cluster', 'rancher'], 'expected agentNode: <node> (where the cluster agent runs) or agentNodes: [<node>, ...] (one per replica)');
    const first = r.agentNode ?? r.agentNodes?.[0] ?? '';
    const others = nodes.map((n) => n.name).filter((n) => n !== first).sort();
    const agentNodes = r.agentNodes ?? Array.from({ length: replicas }, (_, i) => (i === 0 ? first : others[(i - 1) % Math.max(1, others.length)] ?? first));
    agentNodes.forEach((n, i) => {
      if (!nodeByName.has(n)) at(r.agentNodes ? ['cluster', 'rancher', 'agentNodes', i] : ['cluster', 'rancher', 'agentNode'], `unknown node "${n}" (nodes: ${nodeList})`);
    });
    if (r.carrier !== undefined && !agentNodes.includes(r.carrier)) {
      at(['cluster', 'rancher', 'carrier'], nodeByName.has(r.carrier)
        ? `node "${r.carrier}" runs no agent replica (agent replicas on: ${capList([...new Set(agentNodes)])})`
        : `unknown node "${r.carrier}" (nodes: ${nodeList})`);
    }
    rancher = {
      agentNodes,
      ...(r.carrier !== undefined ? { carrier: r.carrier } : {}),
      ...(r.syncOnlyChangedObjects !== undefined ? { syncOnlyChangedObjects: r.syncOnlyChangedObjects } : {}),
      ...(r.project ? { project: loadProject(r.project, at) } : {}),
    };
  }

  const ratioText = s.cluster.harvester?.additionalGuestMemoryOverheadRatio ?? DEFAULT_OVERHEAD_RATIO_TEXT;
  const ratioValue = Number(ratioText.trim());
  const harvester: Scenario['harvester'] = {
    overheadRatioText: ratioText,
    overheadRatio: ratioText.trim() === '' || ratioValue === 0 ? undefined : ratioValue,
  };

  const project = rancher?.project;
  const namespaces: NamespaceSpec[] = [];
  const vmsByNs = new Map<string, Set<string>>();
  s.cluster.namespaces.forEach((ns, i) => {
    if (vmsByNs.has(ns.name)) at(['cluster', 'namespaces', i, 'name'], `duplicate namespace "${ns.name}"`);
    const vmNames = new Set<string>();
    vmsByNs.set(ns.name, vmNames);
    const quota = normalizeLimit(ns.quota);
    if (Object.keys(quota).length === 0) at(['cluster', 'namespaces', i, 'quota'], 'expected at least one of limitsCpu, limitsMemory, requestsCpu, requestsMemory, pods');
    const vms = ns.vms.map((vm, j) => {
      const path: Path = ['cluster', 'namespaces', i, 'vms', j];
      if (vmNames.has(vm.name)) at([...path, 'name'], `duplicate VM "${vm.name}" in namespace ${ns.name}`);
      vmNames.add(vm.name);
      const node = nodeByName.get(vm.node);
      const cpu = q(vm.cpu) / 1000;
      const memory = q(vm.memory);
      if (!node) at([...path, 'node'], `unknown node "${vm.node}" (nodes: ${nodeList})`);
      else {
        if (cpu * 1000 > node.cpu) at([...path, 'cpu'], `VM needs ${cpu} vCPUs but node ${node.name} has ${node.cpu / 1000}`);
        if (memory > node.memory) at([...path, 'memory'], `VM needs more memory (${vm.memory}) than node ${node.name} has`);
      }
      return { name: vm.name, node: vm.node, cpu, memory, evictionStrategy: vm.evictionStrategy ?? ('LiveMigrate' as const) };
    });
    const podNames = new Set<string>();
    const pods = ns.pods.map((p, j) => {
      const path: Path = ['cluster', 'namespaces', i, 'pods', j];
      if (podNames.has(p.name)) at([...path, 'name'], `duplicate pod "${p.name}" in namespace ${ns.name}`);
      podNames.add(p.name);
      if (!nodeByName.has(p.node)) at([...path, 'node'], `unknown node "${p.node}" (nodes: ${nodeList})`);
      return { name: p.name, node: p.node, cpu: q(p.cpu), memory: q(p.memory) };
    });
    if (project?.namespaceDefault) {
      // completeQuota drops a key the project default lacks: the quota would never have it.
      for (const k of Object.keys(quota)) if (project.namespaceDefault?.[k as RancherKey] === undefined) at(['cluster', 'namespaces', i, 'quota', k], notInDefault(k, project));
    }
    namespaces.push({ name: ns.name, quota, vms, pods });
  });

  if (project?.namespaceDefault) {
    // The cluster at rest is what Rancher's sync converged to: every namespace validated, which needs them all to fit.
    const limits = namespaces.map((n) => completeQuota(n.quota, project.namespaceDefault!));
    const fit = limits.length ? isQuotaFit(limits[0]!, limits.slice(1), project.limit) : { fit: true, exceeded: {} };
    if (!fit.fit) at(['cluster', 'rancher', 'project', 'limit'], `at rest the namespaces' quotas (completed by namespaceDefault) do not fit: ${exceedsMessage(fit.exceeded)}; raise the limit or lower the namespaces' quotas (an editQuota may exceed it during the run)`);
  }

  const actions: Action[] = [];
  s.actions.forEach((a, i) => {
    const path: Path = ['actions', i];
    const kinds = (['drain', 'restartAgent', 'rolloutAgent', 'editQuota', 'editQuotaSpec', 'migrate'] as const).filter((k) => a[k] !== undefined);
    if (kinds.length !== 1) {
      at(path, kinds.length === 0 ? 'expected one of drain, restartAgent, rolloutAgent, editQuota, editQuotaSpec, migrate' : `expected one action per entry, got ${kinds.join(' and ')}`);
      return;
    }
    let timing: Timing | undefined;
    if ((a.at === undefined) === (a.between === undefined)) {
      at(path, 'expected exactly one of "at: <duration>" or "between: [<from>, <to>]"');
    } else if (a.at !== undefined) {
      timing = { at: parseDuration(a.at)! };
      if (timing.at > horizonMs) at([...path, 'at'], `${a.at} is after the horizon (${s.horizon ?? DEFAULT_HORIZON})`);
    } else {
      const from = parseDuration(a.between![0])!;
      const to = parseDuration(a.between![1])!;
      if (from > to) at([...path, 'between'], `expected [from, to] with from <= to, got [${a.between![0]}, ${a.between![1]}]`);
      else if (to > horizonMs) at([...path, 'between'], `${a.between![1]} is after the horizon (${s.horizon ?? DEFAULT_HORIZON})`);
      timing = { between: [from, to] };
    }
    if (!timing) return;
    const needsAgent = (key: string): void => {
      if (!s.cluster.rancher) at([...path, key], 'there is no cluster agent: add cluster.rancher to import the cluster into Rancher');
    };
    switch (kinds[0]) {
      case 'drain':
        if (!nodeByName.has(a.drain!)) at([...path, 'drain'], `unknown node "${a.drain}" (nodes: ${nodeList})`);
        actions.push({ type: 'drain', node: a.drain!, timing });
        break;
      case 'restartAgent': {
        needsAgent('restartAgent');
        const pods = a.restartAgent!.pods;
        if (rancher && pods !== undefined && pods > rancher.agentNodes.length) at([...path, 'restartAgent', 'pods'], `the agent has ${rancher.agentNodes.length} replica(s), so at most ${rancher.agentNodes.length} pod(s) to delete`);
        actions.push({ type: 'restartAgent', pods, timing });
        break;
      }
      case 'rolloutAgent':
        needsAgent('rolloutAgent');
        actions.push({ type: 'rolloutAgent', timing });
        break;
      case 'editQuotaSpec':
      case 'editQuota': {
        // The same shape: a namespace, and the Rancher quota keys to set.
        const type = kinds[0];
        const e = a[type]!;
        if (!vmsByNs.has(e.namespace)) at([...path, type, 'namespace'], `unknown namespace "${e.namespace}" (namespaces: ${capList([...vmsByNs.keys()])})`);
        const quota = normalizeLimit(e.quota);
        if (Object.keys(quota).length === 0) at([...path, type, 'quota'], 'expected at least one quota key to change');
        if (type === 'editQuota' && project?.namespaceDefault) for (const k of Object.keys(quota)) if (project.namespaceDefault?.[k as RancherKey] === undefined) at([...path, type, 'quota', k], notInDefault(k, project));
        actions.push({ type, namespace: e.namespace, quota, timing });
        break;
      }
      case 'migrate': {
        const [ns, vm] = a.migrate!.split('/') as [string, string];
        if (!vmsByNs.has(ns)) at([...path, 'migrate'], `unknown namespace "${ns}"`);
        else if (!vmsByNs.get(ns)!.has(vm)) at([...path, 'migrate'], `unknown VM "${vm}" in namespace ${ns} (VMs: ${capList([...vmsByNs.get(ns)!]) || 'none'})`);
        actions.push({ type: 'migrate', namespace: ns, vm, timing });
        break;
      }
    }
  });

  const strategies = s.strategies?.map((ref, i) => {
    if (isStrategyPath(ref)) {
      const abs = resolve(dirname(file), ref);
      if (!existsSync(abs)) at(['strategies', i], `no strategy module at ${ref} (looked in ${dirname(file) || '.'})`);
      return abs;
    }
    if (!knownStrategy(ref)) at(['strategies', i], `unknown strategy "${ref}" (a built-in name, or a path to a .ts/.js module next to the scenario)`);
    return ref;
  });

  const expect: Expectation[] = [];
  for (const [strategy, metrics] of Object.entries(s.expect ?? {})) {
    const known = s.strategies ? s.strategies.includes(strategy) : knownStrategy(strategy);
    if (!known && !(s.strategies ?? []).some(isStrategyPath)) at(['expect'], `expectations for "${strategy}", which this scenario does not run (strategies: ${capList(s.strategies ?? []) || 'every built-in'})`, strategy);
    for (const [metric, b] of Object.entries(metrics)) {
      if (b === undefined) continue;
      if (typeof b === 'number') expect.push({ strategy, metric: metric as ExpectMetric, min: b });
      else {
        if (b.min !== undefined && b.max !== undefined && b.min > b.max) at(['expect', strategy, metric], `expected min <= max, got min ${b.min}, max ${b.max}`);
        expect.push({ strategy, metric: metric as ExpectMetric, ...(b.min !== undefined ? { min: b.min } : {}), ...(b.max !== undefined ? { max: b.max } : {}) });
      }
    }
  }

  const latencies: Latencies = { ...DEFAULT_LATENCIES };
  for (const [k, v] of Object.entries(s.latencies ?? {})) {
    if (!v) continue;
    const [a, b] = Array.isArray(v) ? v : [v.min, v.max];
    const min = parseDuration(a)!;
    const max = parseDuration(b)!;
    if (min > max) at(['latencies', k], `expected min <= max, got [${a}, ${b}]`);
    latencies[k as LatencyName] = { min, max };
  }

  return {
    file,
    hash: createHash('sha256').update(text).digest('hex'),
    name: s.name,
    description: s.description ?? '',
    nodes,
    rancher,
    harvester,
    namespaces,
    actions,
    strategies,
    runs: s.runs ?? DEFAULT_RUNS,
    seed: s.seed ?? 1,
    horizonMs,
    latencies,
    expect,
  };
}

type At = (path: Path, message: string, key?: string) => void;

/**
 * cluster.rancher.project: both parts are required (a project without a namespace default
 * makes Rancher delete every namespace's quota). Every namespace-default key must be one the
 * limit sets: rancher/webhook's Project validator ("Project quotas and default limits must be
 * consistent with one another", pkg/resources/management.cattle.io/v3/project/Project.md;
 * its exact checks at the webhook version Rancher v2.10.3 ships are UNVERIFIED).
 */
function loadProject(p: NonNullable<NonNullable<ScenarioFile['cluster']['rancher']>['project']>, at: At): RancherProject {
  const path: Path = ['cluster', 'rancher', 'project'];
  const limit = normalizeLimit(p.limit ?? {});
  const given = normalizeLimit(p.namespaceDefault ?? {});
  const namespaceDefault = Object.keys(given).length ? given : undefined;
  if (Object.keys(limit).length === 0) at(p.limit ? [...path, 'limit'] : path, 'expected limit: { limitsCpu: ..., limitsMemory: ... } (the project\'s resource quota, the total of its namespaces\' quotas)');
  if (!namespaceDefault) {
    at(p.namespaceDefault ? [...path, 'namespaceDefault'] : path, 'expected namespaceDefault: { limitsCpu: ..., ... } (the project\'s namespace default quota; without one Rancher deletes every namespace\'s quota)');
  }
  for (const k of Object.keys(namespaceDefault ?? {})) if (limit[k as RancherKey] === undefined) at([...path, 'namespaceDefault', k], `the project's limit does not set ${k}: set it in limit too (every key of the namespace default is one the project limits)`);
  return { limit, namespaceDefault };
}

function notInDefault(key: string, project: RancherProject): string {
  return `${key} is not in cluster.rancher.project.namespaceDefault (${Object.keys(project.namespaceDefault ?? {}).join(', ')}): Rancher's completeQuota drops it, so the quota would never have it`;
}

function normalizeLimit(limit: Record<string, string | number | undefined>): RancherLimit {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(limit)) if (v !== undefined) out[k] = String(v);
  return out as RancherLimit;
}

/** Line and column of a field of a scenario's text (a check made across files: two scenarios of one name). */
export function fieldPosition(text: string, path: Path): { line: number; col: number } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  return path.length ? locate(doc, lc, path.slice(0, -1), String(path[path.length - 1])) : { line: 1, col: 1 };
}

/** Line and column of the deepest existing node on `path` (or of `key` in the map there). */
function locate(doc: Document, lc: LineCounter, path: Path, key?: string): { line: number; col: number } {
  for (let i = path.length; i >= 0; i--) {
    const node = i === 0 ? doc.contents : doc.getIn(path.slice(0, i), true);
    if (!isNode(node) || !node.range) continue;
    if (key !== undefined && i === path.length && isMap(node)) {
      const pair = node.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === key);
      if (pair && isNode(pair.key) && pair.key.range) return lc.linePos(pair.key.range[0]);
    }
    return lc.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}

/** The keys a strict object accepts at a path of the schema, for "expected one of". */
function knownKeys(schema: ZodTypeAny, path: Path): string[] {
  let s: ZodTypeAny | undefined = schema;
  const unwrap = (t: ZodTypeAny): ZodTypeAny => {
    for (;;) {
      if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap();
      else if (t instanceof z.ZodDefault) t = t.removeDefault();
      else if (t instanceof z.ZodEffects) t = t.innerType();
      else return t;
    }
  };
  for (const p of path) {
    if (!s) return [];
    s = unwrap(s);
    if (typeof p === 'number' && s instanceof z.ZodArray) s = s.element;
    else if (typeof p === 'string' && s instanceof z.ZodObject) s = (s.shape as Record<string, ZodTypeAny>)[p];
    // A map by name (expect: per strategy): every key has the value's schema.
    else if (typeof p === 'string' && s instanceof z.ZodRecord) s = s.valueSchema as ZodTypeAny;
    else return [];
  }
  if (!s) return [];
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape as object) : [];
}

/** The forms a union at `path` accepts, in words, for "expected ...". */
function unionForms(schema: ZodTypeAny, path: Path): string | undefined {
  const unwrap = (t: ZodTypeAny): ZodTypeAny => {
    for (;;) {
      if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap();
      else if (t instanceof z.ZodDefault) t = t.removeDefault();
      else if (t instanceof z.ZodEffects) t = t.innerType();
      else return t;
    }
  };
  let s: ZodTypeAny | undefined = schema;
  for (const p of path) {
    if (!s) return undefined;
    s = unwrap(s);
    if (typeof p === 'number' && s instanceof z.ZodArray) s = s.element;
    else if (typeof p === 'number' && s instanceof z.ZodTuple) s = (s.items as ZodTypeAny[])[p];
    else if (typeof p === 'string' && s instanceof z.ZodObject) s = (s.shape as Record<string, ZodTypeAny>)[p];
    else if (typeof p === 'string' && s instanceof z.ZodRecord) s = s.valueSchema as ZodTypeAny;
    else return undefined;
  }
  if (!s) return undefined;
  s = unwrap(s);
  if (!(s instanceof z.ZodUnion)) return undefined;
  const form = (t: ZodTypeAny): string => {
    t = unwrap(t);
    if (t instanceof z.ZodTuple) return `[${(t.items as ZodTypeAny[]).map(form).join(', ')}]`;
    if (t instanceof z.ZodObject) return `{ ${Object.keys(t.shape as object).map((k) => `${k}: ${form((t.shape as Record<string, ZodTypeAny>)[k]!)}`).join(', ')} }`;
    if (t instanceof z.ZodString) return t === unwrap(duration) || t.description === 'duration' ? 'duration' : 'string';
    if (t instanceof z.ZodNumber) return 'number';
    if (t instanceof z.ZodArray) return `[${form(t.element as ZodTypeAny)}, ...]`;
    if (t instanceof z.ZodLiteral) return JSON.stringify(t.value);
    if (t instanceof z.ZodEnum) return (t.options as string[]).map((o) => JSON.stringify(o)).join(' | ');
    return 'value';
  };
  const forms = (s.options as ZodTypeAny[]).map(form);
  return `one of: ${forms.join(' or ')}${forms.some((f) => f.includes('duration')) ? ' (durations such as "50ms", "2s" or "1m30s")' : ''}`;
}
