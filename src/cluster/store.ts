import type { Kind, KObject, ObjectOf } from './objects.js';
import { LABEL_CREATED_BY, LABEL_MIGRATION_NAME, LABEL_MIGRATION_UID, migrationFinished, selects, type PodDisruptionBudget } from './objects.js';

/**
 * The secondary indexes a store keeps (client-go's cache.Indexers, by one value each): what
 * the controllers look objects up by, so a lookup costs what it returns, not the cluster's size.
 * - namespace: every kind;
 * - Pod: node (spec.nodeName, unscheduled pods under none), created-by (the VMI's UID label),
 *   migration-uid (a target pod's migration UID label);
 * - VirtualMachineInstance: node (status.nodeName), evacuation (status.evacuationNodeName), uid;
 * - VirtualMachineInstanceMigration: uid, vmi (spec.vmiName), active ('' while not finished);
 * - PodDisruptionBudget: selector (the created-by UID a selector of only that label names,
 *   ANY_SELECTOR for every other selector), migration-name (the kubevirt.io/migrationName label).
 */
export type IndexName = 'namespace' | 'node' | 'created-by' | 'migration-uid' | 'evacuation' | 'uid' | 'vmi' | 'active' | 'selector' | 'migration-name';

/** The selector bucket of a PodDisruptionBudget whose selector is not exactly one created-by label. */
export const ANY_SELECTOR = '*';

type IndexFn = (o: KObject) => string | undefined;

const byNamespace: IndexFn = (o) => o.metadata.namespace;

const nonEmpty = (s: string | undefined): string | undefined => (s ? s : undefined);

const INDEXES: Record<Kind, ReadonlyArray<readonly [IndexName, IndexFn]>> = {
  Namespace: [],
  ResourceQuota: [],
  Node: [],
  Pod: [
    ['node', (o) => nonEmpty((o as ObjectOf<'Pod'>).spec.nodeName)],
    ['created-by', (o) => o.metadata.labels[LABEL_CREATED_BY]],
    ['migration-uid', (o) => o.metadata.labels[LABEL_MIGRATION_UID]],
  ],
  VirtualMachineInstance: [
    ['node', (o) => nonEmpty((o as ObjectOf<'VirtualMachineInstance'>).status.nodeName)],
    ['evacuation', (o) => nonEmpty((o as ObjectOf<'VirtualMachineInstance'>).status.evacuationNodeName)],
    ['uid', (o) => nonEmpty(o.metadata.uid)],
  ],
  VirtualMachineInstanceMigration: [
    ['uid', (o) => nonEmpty(o.metadata.uid)],
    ['vmi', (o) => (o as ObjectOf<'VirtualMachineInstanceMigration'>).spec.vmiName],
    ['active', (o) => (migrationFinished((o as ObjectOf<'VirtualMachineInstanceMigration'>).status.phase) ? undefined : '')],
  ],
  PodDisruptionBudget: [
    ['selector', (o) => selectorBucket((o as ObjectOf<'PodDisruptionBudget'>).spec.selector)],
    ['migration-name', (o) => o.metadata.labels[LABEL_MIGRATION_NAME]],
  ],
};

export function selectorBucket(selector: Readonly<Record<string, string>>): string {
  let only: string | undefined;
  for (const k in selector) {
    if (k !== LABEL_CREATED_BY || only !== undefined) return ANY_SELECTOR;
    only = selector[k];
  }
  return only ?? ANY_SELECTOR;
}

/** The objects filed under one value of an index, in the store's order. */
class Bucket {
  /**
   * The objects while there is one: most values of the UID-like indexes (a VMI's pods, a PDB's
   * selector) file a single object, and a 1,000-VM cluster has thousands of them per run.
   */
  private k0: string | undefined;
  private o0: KObject | undefined;
  /** The objects once there are two or more, in order. */
  private map: Map<string, KObject> | undefined;

  get size(): number {
    return this.map ? this.map.size : this.k0 === undefined ? 0 : 1;
  }

  set(key: string, obj: KObject): void {
    if (this.map) this.map.set(key, obj);
    else if (this.k0 === undefined || this.k0 === key) {
      this.k0 = key;
      this.o0 = obj;
    } else {
      this.map = new Map([[this.k0, this.o0!], [key, obj]]);
      this.k0 = this.o0 = undefined;
    }
  }

  delete(key: string): void {
    if (this.map) this.map.delete(key);
    else if (this.k0 === key) this.k0 = this.o0 = undefined;
  }

  values(): Iterable<KObject> {
    if (this.map) return this.map.values();
    return this.k0 === undefined ? NO_OBJECTS : [this.o0!];
  }

  entries(): Iterable<[string, KObject]> {
    if (this.map) return this.map.entries();
    return this.k0 === undefined ? [] : [[this.k0, this.o0!]];
  }

  /** The objects again, in this order. */
  replace(entries: ReadonlyArray<[string, KObject]>): void {
    this.map = new Map(entries);
    this.k0 = this.o0 = undefined;
  }

  /** The highest sequence number filed here: a lower one arriving means the order must be rebuilt. */
  last = -1;
  /** Values derived from the bucket's objects (see ObjectStore.derived), dropped on any change. */
  memo: Map<object, unknown> | undefined;
}

const NO_OBJECTS: readonly KObject[] = [];

/** What a store over a snapshot holds for a snapshot object it has deleted. */
const GONE = Object.freeze({}) as KObject;

/**
 * A store's contents at one instant, shared by the stores cloned then (an informer's initial
 * LIST) and by the store itself, never changed: their common past. Each index is built over it
 * once, on first read, for all of them; a store that has written since files its own changes
 * on top (ObjectStore.materialize).
 */
class Snapshot {
  /**
   * Per index, by value, the keys filed there in store order: one key as itself (most values
   * of the UID-like indexes file one object, thousands of them in a 1,000-VM cluster), more as
   * an array.
   */
  private readonly indexes: Array<Map<string, string | string[]> | undefined>;

  constructor(
    readonly objs: ReadonlyMap<string, KObject>,
    readonly seqs: ReadonlyMap<string, number>,
    private readonly fns: readonly IndexFn[],
  ) {
    this.indexes = fns.map(() => undefined);
  }

  /** The keys index i files under `value`, in store order. */
  keys(i: number, value: string): string | readonly string[] | undefined {
    let index = this.indexes[i];
    if (!index) {
      const built = (index = new Map<string, string | string[]>());
      const fn = this.fns[i]!;
      // forEach, not for-of: no entry pair per object (a 1,000-VM cluster's snapshot holds thousands).
      this.objs.forEach((o, key) => {
        const v = fn(o);
        if (v === undefined) return;
        const there = built.get(v);
        if (there === undefined) built.set(v, key);
        else if (typeof there === 'string') built.set(v, [there, key]);
        else there.push(key);
      });
      this.indexes[i] = index;
    }
    return index.get(value);
  }
}

/**
 * The objects of one kind, by key, in the order a Map of them would iterate (insertion order
 * of each key since it was last deleted), with secondary indexes kept on every write from
 * their first read on. An
 * index lookup returns its objects in that same order, so replacing a filtered scan with a
 * lookup changes nothing a run does: the order decides which pod a `find` returns, in which
 * order a drain spawns its evictions, which VMIs a shuffle draws from.
 *
 * A store cloned, and its clones, share a {@link Snapshot} of it: the positions of the keys it
 * held, and each index of it, built once. An index of such a store is partial: it files only
 * the values read so far, each taken from the snapshot's bucket, without the keys written since,
 * with those of them filed under the value now (kept by value as they are written). An index
 * of a store never cloned is whole, built over every object on its first read. A store cloned
 * and its clones hold only what they have written since (`layer` is the snapshot's objects):
 * an informer's initial LIST copies nothing.
 */
export class ObjectStore<O extends KObject = KObject> {
  /** The objects; over a snapshot, only those written since, with GONE for its objects deleted. */
  private objs = new Map<string, O>();
  /** The snapshot's objects, under `objs`; undefined when `objs` holds every object. */
  private layer: ReadonlyMap<string, KObject> | undefined;
  /** The object count over a snapshot. */
  private held = 0;
  /** Each key's position: a counter value given when the key is added, kept across updates (for keys in `base`, there). */
  private seqs = new Map<string, number>();
  private next = 0;
  private writes = 0;
  /** The kind's indexes, namespace first. */
  private readonly fns: readonly IndexFn[];
  private readonly names: readonly IndexName[];
  /**
   * Per index, its buckets by value; undefined until the index is first read: a store nobody
   * looks up by an index (most informers read a few) never pays for keeping it.
   */
  private buckets: Array<Map<string, Bucket> | undefined>;
  /** Per index, whether `buckets` files every value (else only those read so far, over `base`). */
  private readonly whole: boolean[];
  /** The contents this store had when last cloned, if it has not been cleared since. */
  private base: Snapshot | undefined;
  /** The keys set or deleted since `base`. */
  private touched = new Set<string>();
  /** Per partial index, the keys of `touched` present now, by value, for the values not read yet. */
  private pending: Array<Map<string, Set<string>> | undefined>;

  constructor(readonly kind: Kind) {
    const defs: ReadonlyArray<readonly [IndexName, IndexFn]> = [['namespace', byNamespace], ...INDEXES[kind]];
    this.fns = defs.map((d) => d[1]);
    this.names = defs.map((d) => d[0]);
    this.buckets = defs.map(() => undefined);
    this.whole = defs.map(() => false);
    this.pending = defs.map(() => undefined);
  }

  get size(): number {
    return this.layer ? this.held : this.objs.size;
  }

  /**
   * Bumped by every set, delete and clear: a value computed from the store (a count over an
   * index) stays right while this is unchanged.
   */
  get version(): number {
    return this.writes;
  }

  get(key: string): O | undefined {
    const o = this.objs.get(key);
    if (o !== undefined) return o === GONE ? undefined : o;
    return this.layer?.get(key) as O | undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  values(): IterableIterator<O> {
    return this.layer ? this.layered(1) : this.objs.values();
  }

  keys(): IterableIterator<string> {
    return this.layer ? this.layered(0) : this.objs.keys();
  }

  entries(): IterableIterator<[string, O]> {
    return this.layer ? this.layered(2) : this.objs.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, O]> {
    return this.entries();
  }

  /**
   * The objects over a snapshot in Map order: the snapshot's keys in its order (the present ones, as
   * they are now), then the keys added since (also one deleted and added again), in the order added.
   */
  private layered(what: 0): Generator<string>;
  private layered(what: 1): Generator<O>;
  private layered(what: 2): Generator<[string, O]>;
  private *layered(what: 0 | 1 | 2): Generator<string | O | [string, O]> {
    const own = this.objs;
    const added = this.seqs;
    for (const [k, o] of this.layer!) {
      let cur = own.get(k);
      if (cur === undefined) cur = o as O;
      else if (cur === GONE || added.has(k)) continue;
      yield what === 0 ? k : what === 1 ? cur : [k, cur];
    }
    if (added.size === 0) return;
    for (const k of [...added.keys()].sort((a, b) => added.get(a)! - added.get(b)!)) {
      const cur = own.get(k)!;
      yield what === 0 ? k : what === 1 ? cur : [k, cur];
    }
  }

  /** The objects over a snapshot in Map order, as {@link layered} yields them, into a new array (no generator). */
  private layeredList(): O[] {
    const own = this.objs;
    const added = this.seqs;
    const out: O[] = [];
    if (own.size === 0) {
      this.layer!.forEach((o) => out.push(o as O));
      return out;
    }
    this.layer!.forEach((o, k) => {
      const cur = own.get(k);
      if (cur === undefined) out.push(o as O);
      else if (cur !== GONE && !added.has(k)) out.push(cur);
    });
    if (added.size === 0) return out;
    for (const k of [...added.keys()].sort((a, b) => added.get(a)! - added.get(b)!)) out.push(own.get(k)!);
    return out;
  }

  /** A present key's position. */
  private seqOf(key: string): number {
    return this.seqs.get(key) ?? this.base!.seqs.get(key)!;
  }

  set(key: string, obj: O): void {
    const old = this.get(key);
    let seq: number;
    if (old === undefined) {
      this.seqs.set(key, (seq = this.next++));
      this.held++;
    } else seq = this.seqOf(key);
    this.objs.set(key, obj);
    this.writes++;
    if (this.base) this.touched.add(key);
    for (let i = 0; i < this.fns.length; i++) {
      const buckets = this.buckets[i];
      if (buckets === undefined) continue;
      const fn = this.fns[i]!;
      this.file(i, buckets, old === undefined ? undefined : fn(old), fn(obj), key, obj, seq);
    }
  }

  delete(key: string): boolean {
    const old = this.get(key);
    if (old === undefined) return false;
    this.writes++;
    this.held--;
    if (this.layer?.has(key)) this.objs.set(key, GONE as O);
    else this.objs.delete(key);
    this.seqs.delete(key);
    if (this.base) this.touched.add(key);
    for (let i = 0; i < this.fns.length; i++) {
      const buckets = this.buckets[i];
      if (buckets === undefined) continue;
      const v = this.fns[i]!(old);
      if (v !== undefined) this.unfile(i, buckets, v, key);
    }
    return true;
  }

  clear(): void {
    this.writes++;
    this.objs.clear();
    this.layer = undefined;
    this.held = 0;
    this.seqs.clear();
    this.base = undefined;
    this.touched.clear();
    for (let i = 0; i < this.buckets.length; i++) {
      const b = this.buckets[i];
      // A whole index stays whole (empty); a partial one depended on the snapshot, gone now.
      if (b && this.whole[i]) b.clear();
      else this.buckets[i] = undefined;
      this.pending[i] = undefined;
    }
  }

  /**
   * An independent copy, indexes and order included (an informer's initial LIST): it and this
   * store share a snapshot of what this store holds now (see {@link Snapshot}).
   */
  clone(): ObjectStore<O> {
    const base = this.snapshot();
    const c = new ObjectStore<O>(this.kind);
    c.layer = base.objs;
    c.held = this.size;
    c.base = base;
    c.next = this.next;
    // The copy's indexes are filed when it first reads them: no bucket is shared.
    return c;
  }

  /** This store's contents as a snapshot, taken now unless nothing was written since the last. */
  private snapshot(): Snapshot {
    if (this.base && this.touched.size === 0) return this.base;
    const size = this.size;
    let objs: Map<string, KObject>;
    let seqs: Map<string, number>;
    if (!this.base && !this.layer) {
      // Never cloned before: the store's maps (its positions are those of its keys) move over whole.
      objs = this.objs;
      seqs = this.seqs;
    } else {
      objs = new Map();
      // forEach, not new Map(map): the iterator protocol allocates an entry pair per object.
      if (this.layer) for (const [k, o] of this.layered(2)) objs.set(k, o);
      else this.objs.forEach((o, k) => objs.set(k, o));
      seqs = new Map();
      objs.forEach((_, k) => seqs.set(k, this.seqOf(k)));
    }
    // From now on this store's past is the snapshot too: it holds only what it writes over it,
    // as its clones do. The values its partial indexes have read stay filed; any other is the
    // snapshot's as it is.
    this.base = new Snapshot(objs, seqs, this.fns);
    this.layer = objs;
    this.held = size;
    this.objs = new Map();
    this.seqs = new Map();
    this.touched = new Set();
    for (let i = 0; i < this.pending.length; i++) if (this.pending[i]) this.pending[i] = new Map();
    return this.base;
  }

  /** The objects of a namespace ('' for cluster-scoped ones), or all, as a new array. */
  list(namespace?: string): O[] {
    if (namespace === undefined) return this.layer ? this.layeredList() : [...this.objs.values()];
    const b = this.bucket('namespace', namespace);
    return b ? ([...b.values()] as O[]) : [];
  }

  /** The objects filed under `value` in an index of this kind, as a new array. */
  select(index: IndexName, value: string): O[] {
    const b = this.bucket(index, value);
    return b ? ([...b.values()] as O[]) : [];
  }

  /** The objects filed under `value`, without copying: do not write while iterating. */
  view(index: IndexName, value: string): Iterable<O> {
    return (this.bucket(index, value)?.values() ?? NO_OBJECTS) as Iterable<O>;
  }

  /** How many objects are filed under `value`. */
  count(index: IndexName, value: string): number {
    return this.bucket(index, value)?.size ?? 0;
  }

  /**
   * The first object, in store order, among those filed under any of `values` that passes
   * `pred`: what a `find` over the whole store returns when every match is filed under one
   * of the values.
   */
  first(index: IndexName, values: readonly (string | undefined)[], pred: (o: O) => boolean): O | undefined {
    let best: O | undefined;
    let bestSeq = Infinity;
    for (const v of values) {
      if (v === undefined) continue;
      const b = this.bucket(index, v);
      if (!b) continue;
      for (const [k, o] of b.entries()) {
        const s = this.seqOf(k);
        if (s >= bestSeq) break;
        if (pred(o as O)) {
          best = o as O;
          bestSeq = s;
          break;
        }
      }
    }
    return best;
  }

  /**
   * A value computed from one bucket's objects (in store order), kept until the bucket
   * changes. `token` names the computation: one bucket can hold several.
   */
  derived<T>(index: IndexName, value: string, token: object, compute: (objs: Iterable<O>) => T): T {
    const b = this.bucket(index, value);
    if (!b) return compute(NO_OBJECTS as Iterable<O>);
    const memo = (b.memo ??= new Map());
    if (memo.has(token)) return memo.get(token) as T;
    const r = compute(b.values() as Iterable<O>);
    memo.set(token, r);
    return r;
  }

  private bucket(index: IndexName, value: string): Bucket | undefined {
    const i = this.names.indexOf(index);
    if (i < 0) throw new Error(`no index ${index} on ${this.kind}`);
    const buckets = this.buckets[i];
    if (buckets === undefined) return this.base ? this.materialize(i, this.partial(i), value) : this.build(i).get(value);
    if (this.whole[i]) return buckets.get(value);
    return buckets.get(value) ?? this.materialize(i, buckets, value);
  }

  /** A partial index's first read: the keys written since the snapshot, by value. */
  private partial(i: number): Map<string, Bucket> {
    const fn = this.fns[i]!;
    const pending = new Map<string, Set<string>>();
    for (const k of this.touched) {
      const o = this.get(k);
      const v = o === undefined ? undefined : fn(o);
      if (v === undefined) continue;
      let keys = pending.get(v);
      if (!keys) pending.set(v, (keys = new Set()));
      keys.add(k);
    }
    this.pending[i] = pending;
    return (this.buckets[i] = new Map());
  }

  /**
   * One value's bucket of a partial index, first read: the snapshot's, without the keys written
   * since, with those of them now filed under the value, in store order. Kept from here on, and
   * filed into as the store is written.
   */
  private materialize(i: number, buckets: Map<string, Bucket>, value: string): Bucket {
    const entries: Array<[string, KObject]> = [];
    const base = this.base!;
    const from = base.keys(i, value);
    if (typeof from === 'string') {
      if (!this.touched.has(from)) entries.push([from, base.objs.get(from)!]);
    } else if (from) for (const k of from) if (!this.touched.has(k)) entries.push([k, base.objs.get(k)!]);
    const pending = this.pending[i]!;
    const moved = pending.get(value);
    if (moved) {
      for (const k of moved) entries.push([k, this.get(k)!]);
      pending.delete(value);
      entries.sort((x, y) => this.seqOf(x[0]) - this.seqOf(y[0]));
    }
    const b = new Bucket();
    for (const [k, o] of entries) b.set(k, o);
    if (entries.length) b.last = this.seqOf(entries[entries.length - 1]![0]);
    buckets.set(value, b);
    return b;
  }

  /** An index's first read as a whole: every object filed, in store order. */
  private build(i: number): Map<string, Bucket> {
    const buckets = new Map<string, Bucket>();
    const fn = this.fns[i]!;
    for (const [key, o] of this.entries()) {
      const v = fn(o);
      if (v === undefined) continue;
      let b = buckets.get(v);
      if (!b) buckets.set(v, (b = new Bucket()));
      b.set(key, o);
      b.last = this.seqOf(key);
    }
    this.buckets[i] = buckets;
    this.whole[i] = true;
    return buckets;
  }

  /**
   * A key filed under `now` (from `was`) in index i. A partial index files it in the bucket of
   * `now` if read already, else among the keys pending under `now`.
   */
  private file(i: number, buckets: Map<string, Bucket>, was: string | undefined, now: string | undefined, key: string, obj: KObject, seq: number): void {
    const whole = this.whole[i];
    let b = now === undefined ? undefined : buckets.get(now);
    if (was === now && (b || now === undefined)) {
      if (b) {
        b.memo = undefined;
        b.set(key, obj);
      }
      return;
    }
    if (was !== undefined && was !== now) this.unfile(i, buckets, was, key);
    if (now === undefined) return;
    if (!b) {
      if (!whole) {
        const pending = this.pending[i]!;
        let keys = pending.get(now);
        if (!keys) pending.set(now, (keys = new Set()));
        keys.add(key);
        return;
      }
      buckets.set(now, (b = new Bucket()));
    }
    b.memo = undefined;
    if (seq > b.last) {
      b.set(key, obj);
      b.last = seq;
      return;
    }
    // An older object moves into the bucket (a VMI migrates to a node): keep store order.
    b.replace([...b.entries(), [key, obj] as [string, KObject]].sort((x, y) => this.seqOf(x[0]) - this.seqOf(y[0])));
  }

  private unfile(i: number, buckets: Map<string, Bucket>, value: string, key: string): void {
    const b = buckets.get(value);
    if (!b) {
      this.pending[i]?.get(value)?.delete(key);
      return;
    }
    b.memo = undefined;
    b.delete(key);
    if (b.size === 0) buckets.delete(value);
  }
}

/** What readers get of a store: lookups, never writes. */
export type ReadStore<O extends KObject = KObject> = Omit<ObjectStore<O>, 'set' | 'delete' | 'clear'>;

/** An empty store of a kind, typed for it. */
export function storeOf<K extends Kind>(kind: K): ObjectStore<ObjectOf<K>> {
  return new ObjectStore<ObjectOf<K>>(kind);
}

/**
 * The first PodDisruptionBudget of a namespace, in store order, whose selector matches the
 * labels (the disruption controller's getPdbForPod, the eviction API's check, KubeVirt's
 * PDBsForVMI): only the labels' created-by bucket and the other-selector bucket can hold one.
 */
export function pdbSelecting(pdbs: ReadStore<PodDisruptionBudget>, namespace: string, labels: Readonly<Record<string, string>>): PodDisruptionBudget | undefined {
  return pdbs.first('selector', [labels[LABEL_CREATED_BY], ANY_SELECTOR], (b) => b.metadata.namespace === namespace && selects(b.spec.selector, labels));
}
