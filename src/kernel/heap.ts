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
