import seedrandom from 'seedrandom';
import { describe, expect, it } from 'vitest';
import { LABEL_CREATED_BY, LABEL_MIGRATION_NAME, LABEL_MIGRATION_UID } from '../src/actors/kubevirt/names.js';
import type { Kind, KObject, MigrationPhase } from '../src/cluster/objects.js';
import { migrationFinished, objKey, selects } from '../src/cluster/objects.js';
import { ANY_SELECTOR, type IndexName, ObjectStore, pdbSelecting } from '../src/cluster/store.js';

/**
 * The indexes are kept on write; a lookup must return exactly what a scan of every object
 * would, in the same order (the order decides what a run does). Random write sequences on
 * stores and their clones (which build their own indexes), checked after every write
 * against a plain Map that sees the same writes.
 */

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const NAMESPACES = ['a', 'b', 'c'];
const NODES = ['', 'n1', 'n2', 'n3'];
const UIDS = ['u1', 'u2', 'u3', 'u4'];
const PHASES: MigrationPhase[] = ['', 'Pending', 'Scheduling', 'Running', 'Succeeded', 'Failed'];

/** The names objects are drawn with (more of them make for larger stores and more keys written). */
let names = ['x', 'y', 'z', 'w', 'v'];

function meta(r: Rand, labels: Record<string, string> = {}) {
  return { name: pick(r, names), namespace: pick(r, NAMESPACES), uid: pick(r, ['', ...UIDS]), resourceVersion: 0, labels, annotations: {} };
}

/** A random object of a kind, with every field an index reads drawn from a few values. */
function randomObject(r: Rand, kind: Kind): KObject {
  switch (kind) {
    case 'Pod': {
      const labels: Record<string, string> = {};
      if (r() < 0.7) labels[LABEL_CREATED_BY] = pick(r, UIDS);
      if (r() < 0.4) labels[LABEL_MIGRATION_UID] = pick(r, UIDS);
      return { kind, metadata: meta(r, labels), spec: { nodeName: pick(r, NODES), limits: {}, requests: { 'requests.cpu': Math.floor(r() * 5) } }, status: { phase: pick(r, ['Pending', 'Running', 'Succeeded'] as const) } };
    }
    case 'VirtualMachineInstance': {
      const evac = pick(r, [undefined, ...NODES]);
      return { kind, metadata: meta(r), spec: { cpu: 1, memoryLimit: 1, memoryRequest: 1, evictionStrategy: 'LiveMigrate' }, status: { nodeName: pick(r, NODES), ...(evac === undefined ? {} : { evacuationNodeName: evac }) } };
    }
    case 'VirtualMachineInstanceMigration':
      return { kind, metadata: meta(r), spec: { vmiName: pick(r, ['x', 'y', 'z']) }, status: { phase: pick(r, PHASES), rejectedByResourceQuota: false, sourceNode: pick(r, NODES) } };
    case 'PodDisruptionBudget': {
      const selector: Record<string, string> = {};
      const shape = r();
      if (shape < 0.6) selector[LABEL_CREATED_BY] = pick(r, UIDS);
      else if (shape < 0.8) Object.assign(selector, { [LABEL_CREATED_BY]: pick(r, UIDS), app: 'x' });
      else if (shape < 0.9) selector['app'] = 'x';
      const labels: Record<string, string> = r() < 0.5 ? { [LABEL_MIGRATION_NAME]: pick(r, ['x', 'y']) } : {};
      return { kind, metadata: meta(r, labels), spec: { minAvailable: 1, selector }, status: { observedGeneration: 1, expectedPods: 1, currentHealthy: 1, desiredHealthy: 1, disruptionsAllowed: 0 } };
    }
    default:
      return { kind: 'Namespace', metadata: meta(r) };
  }
}

/** What each index files an object under, written out again from the object's fields. */
function expectedValue(index: IndexName, o: KObject): string | undefined {
  const x = o as unknown as Record<string, Record<string, unknown>>;
  switch (index) {
    case 'namespace':
      return o.metadata.namespace;
    case 'node':
      return ((o.kind === 'Pod' ? x['spec']!['nodeName'] : x['status']!['nodeName']) as string) || undefined;
    case 'created-by':
      return o.metadata.labels[LABEL_CREATED_BY];
    case 'migration-uid':
      return o.metadata.labels[LABEL_MIGRATION_UID];
    case 'evacuation':
      return (x['status']!['evacuationNodeName'] as string | undefined) || undefined;
    case 'uid':
      return o.metadata.uid || undefined;
    case 'vmi':
      return x['spec']!['vmiName'] as string;
    case 'active':
      return migrationFinished(x['status']!['phase'] as MigrationPhase) ? undefined : '';
    case 'selector': {
      const sel = x['spec']!['selector'] as Record<string, string>;
      const keys = Object.keys(sel);
      return keys.length === 1 && keys[0] === LABEL_CREATED_BY ? sel[LABEL_CREATED_BY] : ANY_SELECTOR;
    }
    case 'migration-name':
      return o.metadata.labels[LABEL_MIGRATION_NAME];
  }
}

const INDEXES_OF: Partial<Record<Kind, IndexName[]>> = {
  Pod: ['namespace', 'node', 'created-by', 'migration-uid'],
  VirtualMachineInstance: ['namespace', 'node', 'evacuation', 'uid'],
  VirtualMachineInstanceMigration: ['namespace', 'uid', 'vmi', 'active'],
  PodDisruptionBudget: ['namespace', 'selector', 'migration-name'],
};

const VALUES = ['', ...NAMESPACES, ...NODES, ...UIDS, 'x', 'y', 'z', ANY_SELECTOR];

/** The same objects (the very same versions) in the same order; a message only on failure. */
function same(got: readonly KObject[], want: readonly KObject[], what: string): void {
  if (got.length === want.length && got.every((o, i) => o === want[i])) return;
  expect(got.map((o) => `${objKey(o)}@${JSON.stringify(o)}`), what).toEqual(want.map((o) => `${objKey(o)}@${JSON.stringify(o)}`));
  expect.unreachable(`${what}: the same keys and contents, but other versions`);
}

function checkAgainstScan(store: ObjectStore, mirror: Map<string, KObject>): void {
  const all = [...mirror.values()];
  same([...store.values()], all, `${store.kind} values`);
  // A clone holds only what it wrote over its snapshot: every read of the whole must still be the Map's.
  if (store.size !== mirror.size) expect(store.size, `${store.kind} size`).toBe(mirror.size);
  const keys = [...mirror.keys()];
  if ([...store.keys()].join() !== keys.join()) expect([...store.keys()], `${store.kind} keys`).toEqual(keys);
  same([...store.entries()].map(([k, o]) => (k === objKey(o) ? o : ({ ...o, kind: 'wrong key' } as unknown as KObject))), all, `${store.kind} entries`);
  for (const ns of NAMESPACES) {
    for (const name of names) {
      const key = `${ns}/${name}`;
      if (store.get(key) !== mirror.get(key) || store.has(key) !== mirror.has(key)) expect([store.get(key), store.has(key)], `${store.kind} get ${key}`).toEqual([mirror.get(key), mirror.has(key)]);
    }
  }
  for (const ns of NAMESPACES) same(store.list(ns), all.filter((o) => o.metadata.namespace === ns), `${store.kind} namespace ${ns}`);
  for (const index of INDEXES_OF[store.kind]!) {
    for (const v of VALUES) {
      const scan = all.filter((o) => expectedValue(index, o) === v);
      same(store.select(index, v), scan, `${store.kind} ${index}=${v}`);
      if (store.count(index, v) !== scan.length) expect(store.count(index, v), `${store.kind} count ${index}=${v}`).toBe(scan.length);
      const derived = store.derived(index, v, checkAgainstScan, (objs) => [...objs].map(objKey).join());
      if (derived !== scan.map(objKey).join()) expect(derived, `${store.kind} derived ${index}=${v}`).toBe(scan.map(objKey).join());
    }
  }
  if (store.kind === 'PodDisruptionBudget') {
    for (const ns of NAMESPACES) {
      for (const labels of [{ [LABEL_CREATED_BY]: 'u1' }, { [LABEL_CREATED_BY]: 'u2', app: 'x' }, { app: 'x' }, {}] as Array<Record<string, string>>) {
        const found = all.find((b) => b.kind === 'PodDisruptionBudget' && b.metadata.namespace === ns && selects(b.spec.selector, labels));
        if (pdbSelecting(store as unknown as ObjectStore<never>, ns, labels) !== found) expect(pdbSelecting(store as unknown as ObjectStore<never>, ns, labels), `first PDB of ${ns} selecting ${JSON.stringify(labels)}`).toBe(found);
      }
    }
  }
}

describe('object store indexes', () => {
  /**
   * Read after every write, a clone looks each value up while few keys differ from the snapshot
   * it shares; read now and then over longer runs, it looks values up after many writes, and
   * past touchedLimit files a whole index instead.
   */
  const RUNS = [
    { reads: 1, steps: 120, keys: 5, clears: 0.03, name: 'read after every write' },
    { reads: 0.02, steps: 600, keys: 60, clears: 0.002, name: 'read now and then' },
  ];
  for (const kind of Object.keys(INDEXES_OF) as Kind[]) {
    it.each(RUNS)(`equal a fresh scan, in store order, after random writes (${kind}, stores and their clones, $name)`, ({ reads, steps, keys, clears }) => {
      names = Array.from({ length: keys }, (_, i) => `n${i}`);
      for (let seed = 1; seed <= 10; seed++) {
        const r = seedrandom(`${kind}-${seed}`);
        let pairs: Array<[ObjectStore, Map<string, KObject>]> = [[new ObjectStore(kind), new Map()]];
        // Sees the first store's writes and is read only half-way and at the end: its indexes are
        // built from all it holds then, and kept from there.
        const late = new ObjectStore(kind);
        for (let step = 0; step < steps; step++) {
          const [store, mirror] = pick(r, pairs);
          const alsoLate = store === pairs[0]![0];
          const op = r();
          if (op < 0.05 && pairs.length < 4) {
            // An informer's initial LIST: both go on, each with its own writes.
            pairs = [...pairs, [store.clone(), new Map(mirror)]];
          } else if (op < 0.25 && mirror.size > 0) {
            const key = pick(r, [...mirror.keys()]);
            store.delete(key);
            mirror.delete(key);
            if (alsoLate) late.delete(key);
          } else if (op < 0.25 + clears) {
            store.clear();
            mirror.clear();
            if (alsoLate) late.clear();
          } else {
            const o = randomObject(r, kind);
            store.set(objKey(o), o);
            mirror.set(objKey(o), o);
            if (alsoLate) late.set(objKey(o), o);
          }
          for (const [s, m] of pairs) if (reads === 1 || r() < reads) checkAgainstScan(s, m);
          if (step === steps >> 1) checkAgainstScan(late, pairs[0]![1]);
        }
        for (const [s, m] of pairs) checkAgainstScan(s, m);
        checkAgainstScan(late, pairs[0]![1]);
      }
    });
  }
});

describe('object store version', () => {
  it('changes with every write (set, delete, clear) and never with a read, in stores and clones', () => {
    const r = seedrandom('version');
    const store = new ObjectStore('Pod');
    const o = randomObject(r, 'Pod');
    const key = objKey(o);
    let v = store.version;
    const wrote = (): void => {
      expect(store.version).not.toBe(v);
      v = store.version;
    };
    store.set(key, o);
    wrote();
    store.set(key, o); // an update, even to the same object
    wrote();
    const copy = store.clone();
    store.get(key);
    store.select('node', 'n1');
    store.count('created-by', 'u1');
    expect(store.version).toBe(v);
    store.delete(key);
    wrote();
    store.delete(key); // nothing there: no write
    expect(store.version).toBe(v);
    store.clear();
    wrote();
    const cv = copy.version;
    copy.set(key, o);
    expect(copy.version).not.toBe(cv);
  });
});
