/**
 * Binary min-heap of scheduled events ordered by (time, sequence), as in SimPy's
 * Environment: equal times run in the order scheduled, so a run is a pure function of what
 * was scheduled and of the selector's choices.
 */
export interface Scheduled {
  time: number;
  seq: number;
  background: boolean;
  /** Who acts (a process or informer name): what PCT prioritises and traces name. */
  actor: string;
  /**
   * Events of one chain keep their order: only a chain's earliest ready event is a
   * candidate. An id from {@link Kernel.chainId}; 0 for none.
   */
  chain: number;
  /**
   * Events of one commuting group commute with each other: the selector sees all of a
   * group's ready events as one candidate (the earliest). An id from
   * {@link Kernel.groupId}; 0 for none.
   */
  commutes: number;
  fire: () => void;
}

function before(a: Scheduled, b: Scheduled): boolean {
  if (a.time !== b.time) return a.time < b.time;
  return a.seq < b.seq;
}

export class EventHeap {
  private items: Scheduled[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Scheduled | undefined {
    return this.items[0];
  }

  /** Every pending event, in no particular order (for state hashing). */
  all(): readonly Scheduled[] {
    return this.items;
  }

  push(e: Scheduled): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      if (!before(e, p)) break;
      a[i] = p;
      i = parent;
    }
    a[i] = e;
  }

  /**
   * Heap positions of every event due at or before `limit`, appended to `out` (heap order,
   * not sorted). Visits only those events and their direct children: a subtree whose root is
   * due later holds nothing earlier.
   */
  within(limit: number, out: number[]): void {
    const a = this.items;
    const n = a.length;
    if (n === 0 || a[0]!.time > limit) return;
    out.push(0);
    // `out` doubles as the work list: every position in it has its children checked once.
    for (let k = out.length - 1; k < out.length; k++) {
      const l = 2 * out[k]! + 1;
      if (l < n && a[l]!.time <= limit) out.push(l);
      if (l + 1 < n && a[l + 1]!.time <= limit) out.push(l + 1);
    }
  }

  /** The event at heap position `i` (from {@link within}). */
  at(i: number): Scheduled {
    return this.items[i]!;
  }

  /** Is an event other than the earliest due at or before `limit`? (The second earliest is a child of the root.) */
  hasSecondWithin(limit: number): boolean {
    const a = this.items;
    return (a.length > 1 && a[1]!.time <= limit) || (a.length > 2 && a[2]!.time <= limit);
  }

  /** Remove and return the event at heap position `i`. */
  removeAt(i: number): Scheduled {
    const a = this.items;
    const e = a[i]!;
    const last = a.pop()!;
    if (i === a.length) return e; // it was the last
    // Put the last event in the hole, then restore the order up or down from there.
    let j = i;
    while (j > 0) {
      const parent = (j - 1) >> 1;
      const p = a[parent]!;
      if (!before(last, p)) break;
      a[j] = p;
      j = parent;
    }
    if (j === i) {
      const n = a.length;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= n) break;
        const r = l + 1;
        const child = r < n && before(a[r]!, a[l]!) ? r : l;
        if (!before(a[child]!, last)) break;
        a[j] = a[child]!;
        j = child;
      }
    }
    a[j] = last;
    return e;
  }

  pop(): Scheduled | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(a[r]!, a[l]!) ? r : l;
      if (!before(a[child]!, last)) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }
}
