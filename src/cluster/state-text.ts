import { createHash } from 'node:crypto';
import { objKey, type KObject } from './objects.js';

/**
 * How the cluster's state parts (informer caches, queued plans, the admission plugin's copies)
 * write the objects they hold into the exploration's state key: every resourceVersion as a
 * reference that sim/state.ts's canonicalize renumbers, held versions with a content digest.
 * It sits here, below the parts that use it; the key itself is built in sim/state.ts.
 */

// A version reference in a part's text: private-use characters, which JSON.stringify leaves
// as they are and no object name contains.
const OPEN = '\uE000';
const MID = '\uE001';
const CLOSE = '\uE002';
const DIGEST = '\uE003';
const DIGEST_END = '\uE004';
export const DIGESTS = /\uE003[^\uE004]*\uE004/g;
export const VERSION = /\uE000([^\uE001]*)\uE001(\d+)\uE002/g;
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g;

/**
 * A resourceVersion of the object `kind` `key` inside a state part's text. Parts write every
 * resourceVersion they hold this way, so the key can renumber them (see {@link canonicalize}).
 */
export function rvRef(kind: string, key: string, rv: number): string {
  return `${OPEN}${kind}/${key}${MID}${rv}${CLOSE}`;
}

const digests = new WeakMap<KObject, string>();

/**
 * One stored version of an object as a part holds it (an informer's cache, the admission
 * plugin's copy, a delivery on its way): its resourceVersion as a reference and its content
 * as a digest. Once resourceVersions are renumbered they no longer name a content (version 2
 * of an object in one run need not be version 2 in another), so the content goes in too.
 * Stored versions are frozen, so the digest is computed once per version.
 */
export function versionRef(o: KObject): string {
  let d = digests.get(o);
  if (d === undefined) {
    d = createHash('sha1')
      .update(JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: 0 } }))
      .digest('base64');
    digests.set(o, d);
  }
  return `${rvRef(o.kind, objKey(o), o.metadata.resourceVersion)}${DIGEST}${d}${DIGEST_END}`;
}

const texts = new WeakMap<KObject, string>();

/**
 * An object, whole, with its resourceVersion as a reference: the API server's objects. Stored
 * versions are frozen, so each is serialised once, not at every choice point.
 */
export function objectState(o: KObject): string {
  let t = texts.get(o);
  if (t === undefined) {
    t = JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: rvRef(o.kind, objKey(o), o.metadata.resourceVersion) } });
    if (Object.isFrozen(o)) texts.set(o, t);
  }
  return t;
}

/** Any value holding objects (a plan's writes): every object's resourceVersion as a reference. */
export function stateJson(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, k, v: unknown) {
    if (k === 'metadata' && v && typeof v === 'object' && 'resourceVersion' in v) {
      const o = this as KObject;
      if (typeof o.kind === 'string') return { ...(v as object), resourceVersion: rvRef(o.kind, objKey(o), o.metadata.resourceVersion) };
    }
    return v;
  });
}

