import type { ScheduleOptions } from '../kernel/kernel.js';
import type { LatencyName } from './latency.js';
import type { World } from './world.js';
import type { Kind, KObject, ObjectOf } from './objects.js';
import { objKey } from './objects.js';
import type { ObjectStore, ReadStore } from './store.js';
import { versionRef } from './state-text.js';

export type EventHandler = (old: KObject | undefined, cur: KObject | undefined) => void;

/**
 * One process's shared informer factory (client-go SharedInformerFactory): per kind, a
 * cache that receives the API server's watch events after a drawn lag, in order
 * (a reflector delivers one kind's events in sequence), then calls the registered
 * handlers. A controller that reads the cache before an event arrives reads the older
 * version: this is the stale read the race is made of.
 */
export class Informer {
  private readonly caches = new Map<Kind, ObjectStore>();
  /** Per kind, its watch stream: the deliveries on their way, in order (what the cache will hold next). */
  private readonly streams = new Map<Kind, Stream>();
  private readonly handlers = new Map<Kind, EventHandler[]>();
  private readonly unwatch = new Map<Kind, () => void>();
  /** Bumped when the watches break: deliveries sent before are lost. */
  private epoch = 0;
  /** The kinds whose watch is broken (the connection to the API server was lost), until each re-lists. */
  private readonly broken = new Set<Kind>();
  private readonly lag: string;
  /** The process's resource in exhaustive exploration's footprint (see {@link footprintParts}). */
  private readonly processResource: string;
  private readonly actor: string;
  /** Per kind, its deliveries' scheduling options: the kernel chain (a watch stream is ordered), shared by every delivery. */
  private readonly deliveryOpts = new Map<Kind, ScheduleOptions>();
  /** Deliveries queued on the streams of earlier epochs (footprintParts: every delivery ever queued). */
  private sentBefore = 0;
  /** Verify only (FootprintRecorder's read check): per kind, the cache handed out by {@link indexed}. */
  private checked: Map<Kind, ReadStore> | undefined;
  /** Verify only: per kind, its part as {@link footprintParts} last wrote it, and what it was made of. */
  private partTexts: Map<Kind, PartText> | undefined;
  /** Verify only: the count {@link footprintParts} last wrote as `cache:<process>`, and its text. */
  private sentText: [number, string] = [-1, ''];
  alive = true;

  constructor(
    private readonly world: World,
    readonly process: string,
    kinds: readonly Kind[],
    private readonly lagName: LatencyName = 'cacheLag',
    /** A second latency every delivery and LIST pays (a tunnel between the process and the API server). */
    private readonly extraLag?: LatencyName,
  ) {
    this.lag = `${process}/cache`;
    this.processResource = `cache:${process}`;
    this.actor = `${process} cache`;
    // All informers' deliveries due at one instant are one candidate for the chooser: they run in
    // the order they were sent. (Their handlers enqueue into the process's queues, so that order
    // can matter: exhaustive exploration's footprint makes the writes that send them conflict.)
    const commutes = world.kernel.groupId('informer deliveries');
    for (const kind of kinds) {
      this.deliveryOpts.set(kind, { actor: this.actor, chain: world.kernel.chainId(`${process}/${kind}`), commutes });
      // The initial LIST: the cache starts as the API server's state at this instant.
      this.caches.set(kind, (world.api.indexed(kind) as ObjectStore).clone());
    }
    this.watchAll();
    world.registerState('informer', process, () => this.stateKey(), (out) => this.footprintParts(out));
  }

  private watchAll(): void {
    for (const kind of this.caches.keys()) this.watchKind(kind);
  }

  private watchKind(kind: Kind): void {
    this.unwatch.set(kind, this.world.api.watch(kind, (old, cur) => this.onWatch(kind, old, cur)));
  }

  /** Whether every kind's watch is up. */
  get watching(): boolean {
    return this.broken.size === 0;
  }

  /**
   * The connection to the API server is lost: every watch breaks and events on their way
   * are lost; the cache keeps what it had (reads still answer, from an ever staler cache).
   */
  disconnect(): void {
    // Every watch that is up breaks, also while other kinds are still re-listing.
    if (this.unwatch.size === 0) return;
    this.touchAll();
    for (const [kind, u] of this.unwatch) {
      u();
      this.broken.add(kind);
    }
    this.unwatch.clear();
    this.epoch++;
    for (const s of this.streams.values()) this.sentBefore += s.pushed;
    this.streams.clear();
  }

  /**
   * One kind's reflector LISTs now and watches from there (the caller has spent the
   * request's time): client-go v0.31.1 tools/cache/reflector.go list → syncWith →
   * DeltaFIFO.Replace, which hands every listed object to the handlers as an update of what
   * the cache held (also when nothing changed: a "sync"), an add if it is new, and a delete
   * for what is gone. Returns the number of objects handed over.
   */
  relistKind(kind: Kind): number {
    const fp = this.world.kernel.footprint;
    if (!this.alive || !this.broken.has(kind)) {
      // Whether the watch is broken is this kind's state: nothing to do is a read of it.
      fp?.read(`cache:${this.process}/${kind}`);
      return 0;
    }
    fp?.write(`cache:${this.process}/${kind}`);
    this.broken.delete(kind);
    this.watchKind(kind);
    const cache = this.caches.get(kind)!;
    const fresh = this.world.api.indexed(kind);
    const hs = this.handlers.get(kind) ?? [];
    const old = new Map(cache);
    cache.clear();
    for (const [key, o] of fresh) cache.set(key, o);
    for (const [key, o] of fresh) for (const h of hs) h(old.get(key), o);
    let n = fresh.size;
    for (const [key, o] of old) {
      if (fresh.has(key)) continue;
      n++;
      for (const h of hs) h(o, undefined);
    }
    return n;
  }

  /** The kinds this informer caches. */
  kinds(): Kind[] {
    return [...this.caches.keys()];
  }

  /**
   * Call `handler` with each event of `kind`: the old and new versions are that kind's
   * objects (the cache holds one kind per key), so a handler reads their fields unchecked.
   */
  on<K extends Kind>(kind: K, handler: (old: ObjectOf<K> | undefined, cur: ObjectOf<K> | undefined) => void): void {
    let list = this.handlers.get(kind);
    if (!list) this.handlers.set(kind, (list = []));
    list.push(handler as EventHandler);
  }

  /** Replay the initial LIST to the handlers as adds (what a freshly started informer does). */
  replayList(): void {
    for (const [kind, cache] of this.caches) {
      const hs = this.handlers.get(kind);
      if (!hs) continue;
      for (const o of cache.values()) for (const h of hs) h(undefined, o);
    }
  }

  get<K extends Kind>(kind: K, key: string): ObjectOf<K> | undefined {
    this.world.kernel.footprint?.read(`cache:${this.process}/${kind}`);
    return this.caches.get(kind)?.get(key) as ObjectOf<K> | undefined;
  }

  list<K extends Kind>(kind: K, namespace?: string): ObjectOf<K>[] {
    this.world.kernel.footprint?.read(`cache:${this.process}/${kind}`);
    return (this.caches.get(kind)?.list(namespace) ?? []) as ObjectOf<K>[];
  }

  /**
   * A kind's cache with its indexes (client-go's Indexer: ByIndex), for lookups that cost what
   * they return. Only for kinds this informer watches.
   */
  indexed<K extends Kind>(kind: K): ReadStore<ObjectOf<K>> {
    this.world.kernel.footprint?.read(`cache:${this.process}/${kind}`);
    const c = this.caches.get(kind);
    if (!c) throw new Error(`${this.process} does not watch ${kind}`);
    if (this.world.checkRead) return this.checkedStore(kind, c) as unknown as ReadStore<ObjectOf<K>>;
    return c as unknown as ReadStore<ObjectOf<K>>;
  }

  /**
   * Verify only: the cache of a kind as a store whose every use checks that the step using it
   * reported reading (or writing) the cache. A reader that keeps the store and looks into it
   * in a later step, without a lookup through this informer, would read unreported.
   */
  private checkedStore(kind: Kind, c: ObjectStore): ReadStore {
    const checked = (this.checked ??= new Map());
    let p = checked.get(kind);
    if (!p) {
      const resource = `cache:${this.process}/${kind}`;
      const world = this.world;
      p = new Proxy(c, {
        get(target, prop) {
          world.checkRead?.(resource);
          const v: unknown = Reflect.get(target, prop, target);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      checked.set(kind, p);
    }
    return p;
  }

  /**
   * Per resource this informer reports to exhaustive exploration's footprint, the state it stands
   * for (FootprintRecorder's verify checks that every change of one came with a report of it):
   * - `cache:<process>/<kind>`: the kind's cache (keys and resourceVersions, in order), its
   *   stream (when the next delivery can land, the deliveries on their way), whether its watch
   *   is broken, the watches' epoch, whether the process is alive;
   * - `cache:<process>`: the order deliveries are queued in across kinds, which decides the order
   *   those due at one instant run in: every delivery ever queued, counted (a delivery taken off
   *   changes no order among those left, and its kind's resource covers its removal).
   */
  private footprintParts(out: Map<string, string>): void {
    let sent = this.sentBefore;
    const texts = (this.partTexts ??= new Map());
    const broken = this.broken;
    for (const [kind, cache] of this.caches) {
      const stream = this.streams.get(kind);
      if (stream) sent += stream.pushed;
      // The text is redone only when what it is made of moved: every set, delete and clear of the
      // store bumps its version, a stream changes only by push (pushed) and shift (length).
      let t = texts.get(kind);
      if (!t || t.version !== cache.version || t.alive !== this.alive || t.epoch !== this.epoch || t.broken !== broken.has(kind) || t.stream !== stream || t.pushed !== stream?.pushed || t.length !== stream?.length) {
        let s = `${this.alive ? '' : 'stopped '}${this.epoch}${broken.has(kind) ? ' broken' : ''}|`;
        for (const o of cache.values()) s += `${versionRef(o)},`;
        if (stream) {
          // Absolute times: relative ones would change with the clock, not with the state.
          s += `>${stream.nextFree}`;
          for (let i = 0; i < stream.length; i++) {
            const cur = stream.curAt(i);
            s += `,${stream.atAt(i)}:${cur ? versionRef(cur) : `-${versionRef(stream.oldAt(i)!)}`}`;
          }
        }
        t = { resource: t?.resource ?? `cache:${this.process}/${kind}`, version: cache.version, alive: this.alive, epoch: this.epoch, broken: broken.has(kind), stream, pushed: stream?.pushed, length: stream?.length, text: s };
        texts.set(kind, t);
      }
      out.set(t.resource, t.text);
    }
    if (this.sentText[0] !== sent) this.sentText = [sent, String(sent)];
    out.set(this.processResource, this.sentText[1]);
  }

  /**
   * What the cache holds, by resourceVersion, and what is on its way to it (each event's
   * object and delay), for exhaustive exploration's state key.
   */
  stateKey(): string {
    if (!this.alive) return '';
    const now = this.world.now;
    let s = this.watching ? '' : `disconnected@${this.epoch}:${[...this.broken].join('+')}`;
    for (const [kind, cache] of this.caches) {
      s += `|${kind}`;
      for (const o of cache.values()) s += `,${versionRef(o)}`;
      const stream = this.streams.get(kind);
      if (stream && stream.length > 0) {
        s += `>${Math.max(0, stream.nextFree - now)}`;
        for (let i = 0; i < stream.length; i++) {
          const cur = stream.curAt(i);
          s += `,${stream.atAt(i) - now}:${cur ? versionRef(cur) : `-${versionRef(stream.oldAt(i)!)}`}`;
        }
      }
    }
    return s;
  }

  /** The process dies (agent pod evicted): no more deliveries. */
  stop(): void {
    this.touchAll();
    this.alive = false;
    for (const u of this.unwatch.values()) u();
  }

  /** Exhaustive exploration's footprint: this step changes every kind's cache or stream. */
  private touchAll(): void {
    const fp = this.world.kernel.footprint;
    if (fp) for (const kind of this.caches.keys()) fp.write(`cache:${this.process}/${kind}`);
  }

  private onWatch(kind: Kind, old: KObject | undefined, cur: KObject | undefined): void {
    const k = this.world.kernel;
    // The delivery queued here and the cache it lands in are this kind's stream (footprint). And
    // the process's: deliveries due at one instant run in the order sent (one commuting group),
    // so two writes reaching one process decide which kind its handlers see first.
    const fp = k.footprint;
    if (fp) {
      fp.write(`cache:${this.process}/${kind}`);
      fp.write(this.processResource);
    }
    let lag = this.world.draw(this.lagName, this.lag);
    if (this.extraLag) lag += this.world.draw(this.extraLag, this.lag);
    let stream = this.streams.get(kind);
    if (!stream) this.streams.set(kind, (stream = this.stream(kind)));
    const at = Math.max(stream.nextFree, k.now + lag);
    stream.nextFree = at;
    stream.push(at, old, cur);
    k.schedule(at - k.now, stream.deliver, this.deliveryOpts.get(kind));
  }

  /**
   * A kind's stream for this epoch. Its deliveries are one kernel chain, so they run in the
   * order sent: each runs the stream's one `deliver`, which takes the earliest delivery on
   * its way (no closure per event). A stream of an earlier epoch still takes its deliveries
   * off as they come due, and drops them.
   */
  private stream(kind: Kind): Stream {
    const k = this.world.kernel;
    const epoch = this.epoch;
    const stream = new Stream();
    stream.deliver = (): void => {
      k.footprint?.write(`cache:${this.process}/${kind}`);
      stream.shift();
      const old = stream.old;
      const cur = stream.cur;
      if (!this.alive || epoch !== this.epoch) return;
      const cache = this.caches.get(kind)!;
      if (cur) cache.set(objKey(cur), cur);
      else if (old) cache.delete(objKey(old));
      if (this.world.recorder.tracing) this.world.recorder.delivered(this.process, kind, objKey((cur ?? old)!), cur?.metadata.resourceVersion);
      const hs = this.handlers.get(kind);
      if (hs) for (const h of hs) h(old, cur);
    };
    return stream;
  }
}

/** Verify only: one kind's part of an informer's footprint, and what it was made of. */
interface PartText {
  readonly resource: string;
  readonly version: number;
  readonly alive: boolean;
  readonly epoch: number;
  readonly broken: boolean;
  readonly stream: Stream | undefined;
  readonly pushed: number | undefined;
  readonly length: number | undefined;
  readonly text: string;
}

/**
 * One kind's watch stream in one epoch: when the next delivery can land, and the watch
 * events on their way (when each lands, the versions before and after), earliest first. A
 * ring of (at, old, cur) slots: no object per delivery, no array shifted or regrown as the
 * stream empties and fills again, which it does on nearly every write.
 */
class Stream {
  nextFree = 0;
  /** Deliveries on their way. */
  length = 0;
  /** Deliveries queued so far (the footprint check's view of the order across kinds). */
  pushed = 0;
  /** What {@link shift} took off. */
  old: KObject | undefined = undefined;
  cur: KObject | undefined = undefined;
  deliver: () => void = () => undefined;
  private slots: unknown[] = new Array<unknown>(3 * 4).fill(undefined);
  /** The slot of the earliest delivery's time. */
  private head = 0;

  push(at: number, old: KObject | undefined, cur: KObject | undefined): void {
    if (3 * (this.length + 1) > this.slots.length) this.grow();
    const n = this.slots.length;
    const i = (this.head + 3 * this.length) % n;
    this.slots[i] = at;
    this.slots[i + 1] = old;
    this.slots[i + 2] = cur;
    this.length++;
    this.pushed++;
  }

  /** Take the earliest delivery off, into {@link old} and {@link cur}. */
  shift(): void {
    const i = this.head;
    this.old = this.slots[i + 1] as KObject | undefined;
    this.cur = this.slots[i + 2] as KObject | undefined;
    this.slots[i + 1] = this.slots[i + 2] = undefined;
    this.head = (i + 3) % this.slots.length;
    this.length--;
  }

  /** The i-th delivery on its way (0: the earliest): when it lands, the versions before and after. */
  atAt(i: number): number {
    return this.slots[(this.head + 3 * i) % this.slots.length] as number;
  }

  oldAt(i: number): KObject | undefined {
    return this.slots[(this.head + 3 * i + 1) % this.slots.length] as KObject | undefined;
  }

  curAt(i: number): KObject | undefined {
    return this.slots[(this.head + 3 * i + 2) % this.slots.length] as KObject | undefined;
  }

  private grow(): void {
    const n = this.slots.length;
    const next = new Array<unknown>(2 * n).fill(undefined);
    for (let j = 0; j < 3 * this.length; j++) next[j] = this.slots[(this.head + j) % n];
    this.slots = next;
    this.head = 0;
  }
}
