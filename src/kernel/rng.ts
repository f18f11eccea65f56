import seedrandom from 'seedrandom';

/**
 * A named random stream. Every random choice in a run goes through one of these, and
 * each actor draws from its own stream (seed + "/" + name), so that one actor drawing
 * more or fewer numbers (a strategy that retries more, say) does not shift what every
 * other actor draws: strategies run with the same seed see the same action times and
 * the same latencies for the same work.
 */
export class Rng {
  /**
   * Alea's state (seedrandom's alea, seeded by it): its step is done here, so that uuid()
   * keeps the state in locals for its 31 draws. The same operations on the same doubles: the
   * same numbers as seedrandom.alea(seed)() in turn. Declared only (no field initialised to
   * undefined first): the fields then hold doubles in place, and a step allocates nothing.
   */
  private declare c: number;
  private declare s0: number;
  private declare s1: number;
  private declare s2: number;

  constructor(readonly seed: string) {
    const st = (seedrandom.alea(seed, { state: true }) as unknown as { state(): AleaState }).state();
    this.c = st.c;
    this.s0 = st.s0;
    this.s1 = st.s1;
    this.s2 = st.s2;
  }

  /** Uniform float in [0, 1): Alea's step (seedrandom lib/alea.js next). */
  float(): number {
    const t = 2091639 * this.s0 + this.c * 2.3283064365386963e-10; // 2^-32
    this.s0 = this.s1;
    this.s1 = this.s2;
    return (this.s2 = t - (this.c = t | 0));
  }

  /** Advance past `n` draws of float() (a uuid() makes {@link UUID_DRAWS}). */
  skip(n: number): void {
    let c = this.c;
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    for (let i = 0; i < n; i++) {
      const t = 2091639 * s0 + c * 2.3283064365386963e-10;
      s0 = s1;
      s1 = s2;
      s2 = t - (c = t | 0);
    }
    this.c = c;
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
  }

  /** Fisher–Yates shuffle into a new array. */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
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
    const out = UUID_CODES;
    // float()'s step, on the state in locals (a 1,000-VM cluster at rest draws 3,000 UIDs a run).
    let c = this.c;
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) out[i] = DASH;
      else if (i === 14) out[i] = FOUR;
      else {
        const t = 2091639 * s0 + c * 2.3283064365386963e-10;
        s0 = s1;
        s1 = s2;
        s2 = t - (c = t | 0);
        out[i] = i === 19 ? HEX[8 + Math.floor(s2 * 4)]! : HEX[Math.floor(s2 * 16)]!;
      }
    }
    this.c = c;
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    return String.fromCharCode.apply(null, out);
  }
}

interface AleaState {
  readonly c: number;
  readonly s0: number;
  readonly s1: number;
  readonly s2: number;
}

/** The draws of float() a uuid() makes: 32 hex digits but the version's 4. */
export const UUID_DRAWS = 31;

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
