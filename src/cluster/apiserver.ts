import type { Footprint } from '../kernel/footprint.js';
import type { Kind, KObject, ObjectOf } from './objects.js';
import { RESOURCE, keyOf, objKey } from './objects.js';
import { validateAnnotationKeys } from './validation.js';
import { ObjectStore, storeOf, type ReadStore } from './store.js';

export type ErrorReason =
  | 'Conflict'
  | 'Invalid'
  | 'Forbidden'
  | 'TooManyRequests'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Unavailable'
  | 'InternalError';

export interface ApiError {
  readonly code: number;
  readonly reason: ErrorReason;
  readonly message: string;
  /** A refusal by ResourceQuota admission ("exceeded quota"), known without reading the message. */
  readonly exceededQuota?: boolean;
}

export type ApiResult<T> = { ok: true; obj: T } | { ok: false; err: ApiError };

export type Verb = 'create' | 'update' | 'updateStatus' | 'patch' | 'delete' | 'evict';

/**
 * One JSON Patch operation (RFC 6902) with its pointer split into keys: what KubeVirt's
 * controllers send (pkg/apimachinery/patch WithAdd / WithReplace / WithRemove), and the
 * form a strategic-merge patch of plain fields takes.
 */
export interface PatchOp {
  readonly op: 'add' | 'replace' | 'remove';
  readonly path: readonly string[];
  readonly value?: unknown;
}

/** What the API server reports to the run's recorder: every write and every refusal. */
export interface ApiObserver {
  written(actor: string, verb: Verb, old: KObject | undefined, cur: KObject | undefined): void;
  refused(actor: string, verb: Verb, kind: Kind, key: string, err: ApiError): void;
}

/** A validating admission step: return a refusal, or undefined to admit. */
export type Admission = (
  actor: string,
  verb: 'create' | 'update',
  old: KObject | undefined,
  obj: KObject,
) => ApiError | undefined;

/**
 * Kinds whose status is a subresource: an update keeps the stored status, an updateStatus
 * keeps the stored spec and metadata (pkg/registry/core/resourcequota/strategy.go,
 * pkg/registry/policy/poddisruptionbudget/strategy.go PrepareForUpdate/PrepareForUpdateStatus).
 */
const STATUS_SUBRESOURCE: ReadonlySet<Kind> = new Set<Kind>(['ResourceQuota', 'PodDisruptionBudget']);

type Watcher = (old: KObject | undefined, cur: KObject | undefined) => void;

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Kubernetes' utilrand alphabet for generateName suffixes (no vowels, no 0/1/3). */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** The length of a generated name's random suffix (nameSuffix draws this many). */
export const GENERATED_SUFFIX_LENGTH = 5;
const NAME_CODES = Array.from(NAME_ALPHABET, (ch) => ch.charCodeAt(0));

/**
 * The API server: the one place objects live, with a single resourceVersion counter.
 * Rules (kubernetes staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go
 * Update; pkg/registry/core/resourcequota/strategy.go):
 * - an update whose resourceVersion is not the stored one fails with 409 Conflict, an
 *   update with resourceVersion 0 is unconditional (AllowUnconditionalUpdate);
 * - a ResourceQuota's spec and status are written through separate endpoints
 *   (PrepareForUpdate keeps the old status, PrepareForUpdateStatus keeps the old spec)
 *   that share the one resourceVersion, so a status write makes a spec writer's copy stale;
 * - a PATCH carries no resourceVersion: it is applied to the stored object, so it never
 *   conflicts (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go patchResource:
 *   rest.DefaultUpdatedObjectInfo(nil, applyPatch, …), no preconditions, re-applied on an
 *   internal conflict up to MaxRetryWhenPatchConflicts; read at an older commit, the same at
 *   1.30 UNVERIFIED), and otherwise goes the way of an update (status kept for
 *   status-subresource kinds, validation, admission);
 * - annotation keys are validated (apimachinery ValidateAnnotations);
 * - admission plugins run in order after validation, ResourceQuota last.
 * Every stored version is deep-frozen (parts shared with the previous version are frozen
 * already and skipped): informer caches hand out these same objects,
 * so nothing that reads them can change the cluster without a write.
 */
export class ApiServer {
  private readonly stores = new Map<Kind, ObjectStore>();
  private readonly watchers = new Map<Kind, Watcher[]>();
  private readonly admissions = new Map<Kind, Admission[]>();
  private rv = 0;

  constructor(
    /** The kernel: its clock, and where a step's reads and writes are reported (exhaustive exploration). */
    private readonly clock: { readonly now: number; readonly footprint?: Footprint | undefined },
    private readonly random: () => number,
    private readonly uid: () => string,
    private readonly observer: ApiObserver | undefined,
  ) {}

  get resourceVersion(): number {
    return this.rv;
  }

  /**
   * Start from the cluster another server holds (the scenario's cluster at rest, sim/at-rest.ts),
   * before anything is written, watched or admitted here: its resourceVersion, and each kind's
   * store cloned (ObjectStore.clone: its frozen objects and indexes shared, this server's writes
   * its own). The other server must never be written to again.
   */
  startFrom(rest: ApiServer): void {
    if (this.rv !== 0 || this.stores.size !== 0 || this.watchers.size !== 0 || this.admissions.size !== 0) throw new Error('startFrom is for a server nothing has used yet');
    this.rv = rest.rv;
    for (const [kind, store] of rest.stores) this.stores.set(kind, store.clone());
  }

  get<K extends Kind>(kind: K, key: string): ObjectOf<K> | undefined {
    this.clock.footprint?.read(`${kind}/${key}`);
    return this.stores.get(kind)?.get(key) as ObjectOf<K> | undefined;
  }

  /** A kind's objects in a namespace, or all of them, in the order they were created. */
  list<K extends Kind>(kind: K, namespace?: string): ObjectOf<K>[] {
    this.clock.footprint?.read(kind);
    return this.storeOf(kind).list(namespace);
  }

  /**
   * The whole store of a kind with its indexes (store.ts): informers copy it at start and at
   * each re-list (it iterates as [key, object] pairs, like a Map), readers look objects up in it.
   */
  indexed<K extends Kind>(kind: K): ReadStore<ObjectOf<K>> {
    // A lookup by index reads the kind, as a list does (exhaustive exploration's footprint).
    this.clock.footprint?.read(kind);
    return this.storeOf(kind);
  }

  private storeOf<K extends Kind>(kind: K): ObjectStore<ObjectOf<K>> {
    let store = this.stores.get(kind);
    if (!store) this.stores.set(kind, (store = storeOf(kind)));
    return store as unknown as ObjectStore<ObjectOf<K>>;
  }

  /** Subscribe to every change of a kind; returns the unsubscribe function. */
  watch(kind: Kind, w: Watcher): () => void {
    let list = this.watchers.get(kind);
    if (!list) this.watchers.set(kind, (list = []));
    list.push(w);
    return () => {
      const i = list!.indexOf(w);
      if (i >= 0) list!.splice(i, 1);
    };
  }

  addAdmission(kind: Kind, a: Admission): void {
    let list = this.admissions.get(kind);
    if (!list) this.admissions.set(kind, (list = []));
    list.push(a);
  }

  create<T extends KObject>(actor: string, obj: T): ApiResult<T> {
    let meta = obj.metadata;
    const fp = this.clock.footprint;
    if (!meta.name && meta.generateName) {
      // Generated names come from one random stream: creates that generate one do not commute.
      fp?.write('names');
      meta = { ...meta, name: meta.generateName + this.nameSuffix() };
    }
    const key = keyOf(meta);
    if (fp) written(fp, obj.kind, key);
    const displayName = meta.name || meta.generateName || '';
    const store = this.storeOf(obj.kind);
    if (store.has(key)) return this.refuse(actor, 'create', obj.kind, key, alreadyExists(obj.kind, meta.name));
    const invalid = validateAnnotationKeys(meta.annotations);
    if (invalid) return this.refuse(actor, 'create', obj.kind, key, invalidError(obj.kind, displayName, invalid));
    const m: Writable<KObject['metadata']> = { ...meta, creationTimestamp: this.clock.now };
    if (obj.kind === 'PodDisruptionBudget') m.generation = 1;
    const candidate = { ...obj, metadata: m } as T;
    const denied = this.admit(actor, 'create', undefined, candidate);
    if (denied) return this.refuse(actor, 'create', obj.kind, key, denied);
    // The UID is assigned once the create is admitted (no admission plugin here reads it). The
    // admitted copy becomes the stored one: its metadata is this create's own, and assigning
    // keeps the key order a spread would give (a key present stays in place, a new one comes last).
    m.uid = meta.uid || this.uid();
    m.resourceVersion = ++this.rv;
    const stored = deepFreeze(candidate);
    store.set(key, stored);
    this.observer?.written(actor, 'create', undefined, stored);
    this.notify(obj.kind, undefined, stored);
    return { ok: true, obj: stored };
  }

  /** A generated name's random part: five characters of the alphabet (utilrand.String(5)). */
  protected nameSuffix(): string {
    // One flat string from the five codes, drawn in order (appending makes a string per character).
    const c = NAME_CODES;
    const n = c.length;
    const a = c[Math.floor(this.random() * n)]!;
    const b = c[Math.floor(this.random() * n)]!;
    const d = c[Math.floor(this.random() * n)]!;
    const e = c[Math.floor(this.random() * n)]!;
    return String.fromCharCode(a, b, d, e, c[Math.floor(this.random() * n)]!);
  }

  update<T extends KObject>(actor: string, obj: T): ApiResult<T> {
    return this.write(actor, 'update', obj);
  }

  /** The /status subresource: only ResourceQuota distinguishes it in this model. */
  updateStatus<T extends KObject>(actor: string, obj: T): ApiResult<T> {
    return this.write(actor, 'updateStatus', obj);
  }

  /**
   * PATCH (JSON Patch or a strategic merge of plain fields): the operations applied to the
   * object as stored. A remove or replace of a missing key, which the API server refuses, is
   * applied as is here: KubeVirt's patches in this model never name a missing key.
   */
  patch<K extends Kind>(actor: string, kind: K, key: string, ops: readonly PatchOp[]): ApiResult<ObjectOf<K>> {
    const old = this.get(kind, key);
    if (!old) return this.refuse(actor, 'patch', kind, key, notFound(kind, key));
    const next = applyOps(old, ops);
    return this.write(actor, 'patch', { ...next, metadata: { ...next.metadata, resourceVersion: 0 } });
  }

  delete(actor: string, kind: Kind, key: string): ApiResult<KObject> {
    const fp = this.clock.footprint;
    if (fp) written(fp, kind, key);
    const store = this.stores.get(kind);
    const old = store?.get(key);
    if (!store || !old) return this.refuse(actor, 'delete', kind, key, notFound(kind, key));
    store.delete(key);
    this.rv++;
    this.observer?.written(actor, 'delete', old, undefined);
    this.notify(kind, old, undefined);
    return { ok: true, obj: old };
  }

  /** An update, a /status update, or a patch (an update of the main resource with resourceVersion 0). */
  private write<T extends KObject>(actor: string, verb: 'update' | 'updateStatus' | 'patch', obj: T): ApiResult<T> {
    const main = verb !== 'updateStatus';
    const key = objKey(obj);
    const fp = this.clock.footprint;
    if (fp) written(fp, obj.kind, key);
    const old = this.stores.get(obj.kind)?.get(key) as T | undefined;
    if (!old) return this.refuse(actor, verb, obj.kind, key, notFound(obj.kind, key));
    const rv = obj.metadata.resourceVersion;
    if (rv !== 0 && rv !== old.metadata.resourceVersion) {
      return this.refuse(actor, verb, obj.kind, key, conflict(obj.kind, obj.metadata.name));
    }
    let next: T = obj;
    if (STATUS_SUBRESOURCE.has(obj.kind)) {
      const o = old as unknown as { spec: unknown; status: unknown; metadata: KObject['metadata'] };
      const n = obj as unknown as { spec: unknown; status: unknown; metadata: KObject['metadata'] };
      next = (main ? { ...n, status: o.status } : { ...n, spec: o.spec, metadata: o.metadata }) as unknown as T;
      // metadata.generation counts spec changes (registry/core/poddisruptionbudget/strategy.go PrepareForUpdate).
      if (obj.kind === 'PodDisruptionBudget' && main) {
        const gen = o.metadata.generation ?? 1;
        const changed = JSON.stringify(n.spec) !== JSON.stringify(o.spec);
        if ((next.metadata.generation ?? 0) !== (changed ? gen + 1 : gen)) next = { ...next, metadata: { ...next.metadata, generation: changed ? gen + 1 : gen } };
      }
    }
    if (main) {
      const invalid = validateAnnotationKeys(next.metadata.annotations);
      if (invalid) return this.refuse(actor, verb, obj.kind, key, invalidError(obj.kind, obj.metadata.name, invalid));
      const denied = this.admit(actor, 'update', old, next);
      if (denied) return this.refuse(actor, verb, obj.kind, key, denied);
    }
    return { ok: true, obj: this.store(verb, actor, old, next) };
  }

  private admit(actor: string, verb: 'create' | 'update', old: KObject | undefined, obj: KObject): ApiError | undefined {
    const list = this.admissions.get(obj.kind);
    if (!list) return undefined;
    for (const a of list) {
      const err = a(actor, verb, old, obj);
      if (err) return err;
    }
    return undefined;
  }

  private store<T extends KObject>(verb: Verb, actor: string, old: T | undefined, obj: T): T {
    // An update that changes nothing is not written: no new resourceVersion, no watch event
    // (GuaranteedUpdate compares the new object with the stored one and returns it unchanged).
    if (old && sameContent(old, obj)) return old;
    const stored = deepFreeze({ ...obj, metadata: { ...obj.metadata, resourceVersion: ++this.rv } } as T);
    this.stores.get(obj.kind)!.set(objKey(stored), stored);
    this.observer?.written(actor, verb, old, stored);
    this.notify(obj.kind, old, stored);
    return stored;
  }

  private notify(kind: Kind, old: KObject | undefined, cur: KObject | undefined): void {
    const list = this.watchers.get(kind);
    if (!list) return;
    for (const w of list.slice()) w(old, cur);
  }

  /** Record a refusal (also used by subresources such as eviction) and return it. */
  refuse<T>(actor: string, verb: Verb, kind: Kind, key: string, err: ApiError): ApiResult<T> {
    this.observer?.refused(actor, verb, kind, key, err);
    return { ok: false, err };
  }
}

/**
 * Freezes plain data (objects, arrays) all the way down. A part already frozen is skipped: it
 * was frozen with everything under it (a part shared with the stored version before, or a
 * frozen constant). What immer's freeze(obj, true) does for plain data, without its
 * per-value type dispatch: every write of a run passes here.
 */
export function deepFreeze<T>(o: T): T {
  if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return o;
  Object.freeze(o);
  for (const k in o) deepFreeze((o as Record<string, unknown>)[k]);
  return o;
}

/**
 * JSON Patch operations on object paths applied to a stored (frozen) version: the objects on
 * each operation's path are copied (key order kept: a key replaced or added in place stays
 * where it is, a new one comes last, as an assignment puts it), the rest is shared with the
 * stored version. What immer's applyPatches gave for these paths (values cloned, a path that
 * does not resolve refused), without a draft per patch. Array paths are not modelled.
 */
function applyOps<T extends KObject>(base: T, ops: readonly PatchOp[]): T {
  const root: Record<string, unknown> = { ...base };
  const copies = new Set<object>([root]);
  for (const op of ops) {
    let parent = root;
    for (let i = 0; i < op.path.length - 1; i++) {
      const k = op.path[i]!;
      const child = parent[k];
      if (typeof child !== 'object' || child === null || Array.isArray(child)) throw new Error(`Cannot apply patch, path doesn't resolve: ${op.path.join('/')}`);
      let copy = child as Record<string, unknown>;
      if (!copies.has(copy)) {
        copy = { ...copy };
        copies.add(copy);
        parent[k] = copy;
      }
      parent = copy;
    }
    const key = op.path[op.path.length - 1]!;
    if (op.op === 'remove') delete parent[key];
    else parent[key] = typeof op.value === 'object' && op.value !== null ? (JSON.parse(JSON.stringify(op.value)) as unknown) : op.value;
  }
  return root as T;
}

/**
 * A write (or refused write) of one object: the object, and its kind, which every list of the
 * kind reads and every watcher of the kind receives in write order (two writes of one kind
 * reach each informer's ordered stream in the order made, so they never commute).
 */
function written(fp: Footprint, kind: Kind, key: string): void {
  fp.write(kind);
  fp.write(`${kind}/${key}`);
}

/** Whether two versions of an object differ only in their resourceVersion. */
function sameContent(a: KObject, b: KObject): boolean {
  if (a.kind !== b.kind) return false;
  const am = a.metadata;
  const bm = b.metadata;
  if (am.name !== bm.name || am.namespace !== bm.namespace || am.uid !== bm.uid || am.generation !== bm.generation || am.creationTimestamp !== bm.creationTimestamp) return false;
  if (!sameJson(am.labels, bm.labels) || !sameJson(am.annotations, bm.annotations)) return false;
  const ax = a as unknown as { spec?: unknown; status?: unknown };
  const bx = b as unknown as { spec?: unknown; status?: unknown };
  return sameJson(ax.spec, bx.spec) && sameJson(ax.status, bx.status);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) if (!sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/** apierrors.NewConflict with OptimisticLockErrorMsg. */
export function conflict(kind: Kind, name: string): ApiError {
  return {
    code: 409,
    reason: 'Conflict',
    message: `Operation cannot be fulfilled on ${RESOURCE[kind]} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  };
}

function alreadyExists(kind: Kind, name: string): ApiError {
  return { code: 409, reason: 'AlreadyExists', message: `${RESOURCE[kind]} "${name}" already exists` };
}

function notFound(kind: Kind, key: string): ApiError {
  const name = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
  return { code: 404, reason: 'NotFound', message: `${RESOURCE[kind]} "${name}" not found` };
}

function invalidError(kind: Kind, name: string, detail: string): ApiError {
  return { code: 422, reason: 'Invalid', message: `${kind} "${name}" is invalid: ${detail}` };
}
