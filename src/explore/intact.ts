/**
 * Did a strategy module change the JavaScript built-ins its worker shares with the simulator?
 * A module that patches `Math.min`, pollutes `Object.prototype` or swaps a global runs the
 * simulator itself differently in its worker: whatever results it returns are not the
 * model's. The sandboxed worker takes this snapshot before it loads any module and compares
 * after each job; a change makes the job the module's fault (see pool.ts).
 *
 * Every tool the comparison uses is captured here, at startup, so a later patch of
 * `Reflect.ownKeys` or `Array.prototype[Symbol.iterator]` cannot blind it. It bounds faults,
 * not a determined attacker (see the README's threat model).
 */
const ownKeys = Reflect.ownKeys;
const describe = Reflect.getOwnPropertyDescriptor;
const protoOf = Reflect.getPrototypeOf;
const isExtensible = Reflect.isExtensible;
const toStr = String;
// NaN is not === NaN: identity is Object.is.
const same = Object.is;

interface Prop {
  readonly key: string | symbol;
  readonly value: unknown;
  readonly get: unknown;
  readonly set: unknown;
  readonly flags: number;
}

interface Shot {
  readonly name: string;
  readonly obj: object;
  readonly proto: object | null;
  readonly extensible: boolean;
  readonly props: Prop[];
}

/** Keys the runtime itself sets and restores (Node hides stack frames by changing them). */
const volatile = (key: string | symbol): boolean => key === 'stackTraceLimit' || key === 'prepareStackTrace';

function props(obj: object): Prop[] {
  const out: Prop[] = [];
  const keys = ownKeys(obj);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (volatile(key)) continue;
    const d = describe(obj, key)!;
    out[out.length] = { key, value: d.value, get: d.get, set: d.set, flags: (d.writable ? 1 : 0) | (d.enumerable ? 2 : 0) | (d.configurable ? 4 : 0) };
  }
  return out;
}

/** The objects checked: the ECMAScript built-ins (constructors, their prototypes, namespaces, iterator prototypes). */
function targets(): Array<[string, object]> {
  const g = globalThis as unknown as Record<string, unknown>;
  const out: Array<[string, object]> = [];
  const names = [
    'Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'BigInt', 'Date', 'RegExp', 'Promise', 'Proxy',
    'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
    'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
    'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError',
  ];
  for (const n of names) {
    const c = g[n];
    if (typeof c !== 'function') continue;
    out.push([n, c]);
    const p = (c as { prototype?: unknown }).prototype;
    if (p !== null && typeof p === 'object') out.push([`${n}.prototype`, p]);
  }
  for (const n of ['Math', 'JSON', 'Reflect', 'Atomics']) if (g[n] !== null && typeof g[n] === 'object') out.push([n, g[n] as object]);
  const typedArray = protoOf(Int8Array) as object;
  out.push(['TypedArray', typedArray], ['TypedArray.prototype', (typedArray as { prototype: object }).prototype]);
  const arrayIter = protoOf([][Symbol.iterator]()) as object;
  out.push(['ArrayIterator.prototype', arrayIter], ['Iterator.prototype', protoOf(arrayIter) as object]);
  out.push(['MapIterator.prototype', protoOf(new Map()[Symbol.iterator]()) as object], ['SetIterator.prototype', protoOf(new Set()[Symbol.iterator]()) as object]);
  out.push(['StringIterator.prototype', protoOf(''[Symbol.iterator]()) as object]);
  const gen = protoOf(function* () {}) as object;
  out.push(['GeneratorFunction.prototype', gen], ['Generator.prototype', (gen as { prototype: object }).prototype]);
  out.push(['AsyncFunction.prototype', protoOf(async function () {}) as object]);
  return out;
}

function take(name: string, obj: object): Shot {
  return { name, obj, proto: protoOf(obj), extensible: isExtensible(obj), props: props(obj) };
}

function keyName(owner: string, key: string | symbol): string {
  return typeof key === 'symbol' ? `${owner}[${toStr(key.description ?? 'symbol')}]` : `${owner}.${key}`;
}

/** What changed in one object, in words (at most a few). */
function changes(s: Shot, out: string[]): void {
  if (protoOf(s.obj) !== s.proto) out[out.length] = `${s.name}'s prototype replaced`;
  if (isExtensible(s.obj) !== s.extensible) out[out.length] = `${s.name} frozen or sealed`;
  const now = props(s.obj);
  for (let i = 0; i < s.props.length; i++) {
    const p = s.props[i]!;
    const d = describe(s.obj, p.key);
    if (!d) out[out.length] = `${keyName(s.name, p.key)} deleted`;
    else if (!same(d.value, p.value) || d.get !== p.get || d.set !== p.set) out[out.length] = `${keyName(s.name, p.key)} replaced`;
    else if (((d.writable ? 1 : 0) | (d.enumerable ? 2 : 0) | (d.configurable ? 4 : 0)) !== p.flags) out[out.length] = `${keyName(s.name, p.key)} redefined`;
  }
  for (let i = 0; i < now.length; i++) {
    let known = false;
    for (let j = 0; j < s.props.length && !known; j++) known = s.props[j]!.key === now[i]!.key;
    if (!known) out[out.length] = `${keyName(s.name, now[i]!.key)} added`;
  }
}

/**
 * The global object's own data properties (undefined, NaN, structuredClone, the built-in
 * constructors...): replacing or deleting one is a patch. Accessors are not compared (Node
 * defines some globals lazily and replaces the accessor on first use). A new global is
 * state kept outside the module, where a fresh instance of the module would still find it
 * (a job's result would then depend on the jobs its worker ran before): a change too.
 */
function globals(): Prop[] {
  return props(globalThis).filter((p) => p.get === undefined && p.set === undefined);
}

/** Snapshot now; the function returned lists what changed since, or undefined. */
export function snapshotBuiltins(): () => string | undefined {
  const shots = targets().map(([n, o]) => take(n, o));
  const globalProps = globals();
  const globalKeys = ownKeys(globalThis);
  return () => {
    const out: string[] = [];
    const keys = ownKeys(globalThis);
    for (let i = 0; i < keys.length; i++) {
      let known = false;
      for (let j = 0; j < globalKeys.length && !known; j++) known = globalKeys[j] === keys[i];
      if (!known) out[out.length] = `${keyName('globalThis', keys[i]!)} added`;
    }
    for (let i = 0; i < globalProps.length; i++) {
      const p = globalProps[i]!;
      const d = describe(globalThis, p.key);
      if (!d) out[out.length] = `${keyName('globalThis', p.key)} deleted`;
      else if (!same(d.value, p.value)) out[out.length] = `${keyName('globalThis', p.key)} replaced`;
    }
    for (let i = 0; i < shots.length; i++) changes(shots[i]!, out);
    if (out.length === 0) return undefined;
    // Plain concatenation: Array.prototype.join may be what was patched.
    let shown = out[0]!;
    for (let i = 1; i < out.length && i < 3; i++) shown += `, ${out[i]!}`;
    return out.length > 3 ? `${shown} and ${out.length - 3} more` : shown;
  };
}
