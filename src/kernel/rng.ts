import seedrandom from 'seedrandom';

/**
 * A named random stream. Every random choice in a run goes through one of these, and
 * each actor draws from its own stream (seed + "/" + name), so that one actor drawing
 * more or fewer numbers (a strategy that retries more, say) does not shift what every
 * other actor draws: strategies run with the same seed see the same action times and
 * the same latencies for the same work.
 */
export class Rng {
  private readonly next: () => number;

  constructor(readonly seed: string) {
    this.next = seedrandom.alea(seed);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Fisher–Yates shuffle into a new array. */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }

  /**
   * A random RFC 4122 version-4 UUID, as Kubernetes assigns to metadata.uid. Built from char
   * codes into one flat string: appending a character at a time leaves a chain of ~23 V8
   * cons-strings per UID (1 KB where 56 bytes do), thousands of them alive in a 1,000-VM run.
   */
  uuid(): string {
    const c = UUID_CODES;
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) c[i] = DASH;
      else if (i === 14) c[i] = FOUR;
      else if (i === 19) c[i] = HEX[8 + Math.floor(this.next() * 4)]!;
      else c[i] = HEX[Math.floor(this.next() * 16)]!;
    }
    return String.fromCharCode.apply(null, c);
  }
}

const HEX = Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0));
const DASH = '-'.charCodeAt(0);
const FOUR = '4'.charCodeAt(0);
/** The UUID being built (one at a time: nothing yields between filling and reading it). */
const UUID_CODES: number[] = new Array<number>(36).fill(0);

/** One run's random streams, created on first use. */
export class RngStreams {
  private readonly streams = new Map<string, Rng>();

  constructor(readonly seed: string) {}

  get(name: string): Rng {
    let r = this.streams.get(name);
    if (!r) {
      r = new Rng(`${this.seed}/${name}`);
      this.streams.set(name, r);
    }
    return r;
  }
}
