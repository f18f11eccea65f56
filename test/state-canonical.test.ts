import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadScenario } from '../src/scenario/load.js';
import { runOnce } from '../src/sim/run.js';
import { ABSOLUTE, canonicalize, stateKey } from '../src/sim/state.js';
import { rvRef } from '../src/cluster/state-text.js';
import type { World } from '../src/cluster/world.js';
import { builtinStrategy } from '../src/strategies/builtin.js';
import type { ChoiceKind, Selector } from '../src/kernel/choice.js';

/**
 * The canonical state key (src/sim/state.ts): what the model only compares is renamed, so
 * states that differ in nothing else meet, and nothing the model can tell apart is merged.
 */
const A = (rv: number) => rvRef('ResourceQuota', 'default/rq', rv);
const B = (rv: number) => rvRef('Pod', 'default/p', rv);

describe('canonical resourceVersions and UIDs', () => {
  it('two writes to different objects in either order reach one key', () => {
    // A written at 5 then B at 6, or B at 5 then A at 6; caches hold the versions before (3, 4).
    const ab = `api ${A(5)} ${B(6)} | cache ${A(3)} ${B(4)}`;
    const ba = `api ${A(6)} ${B(5)} | cache ${A(3)} ${B(4)}`;
    expect(canonicalize(ab)).toBe(canonicalize(ba));
    expect(canonicalize(ab, ABSOLUTE)).not.toBe(canonicalize(ba, ABSOLUTE));
  });

  it('keeps which of two versions of one object is newer (the admission plugin compares them)', () => {
    const cacheOlder = `cache ${A(5)} lru ${A(7)}`;
    const cacheNewer = `cache ${A(7)} lru ${A(5)}`;
    expect(canonicalize(cacheOlder)).not.toBe(canonicalize(cacheNewer));
    expect(canonicalize(`cache ${A(5)} lru ${A(7)}`)).toBe(canonicalize(`cache ${A(2)} lru ${A(9)}`));
  });

  it('keeps whether a held version is the current one, and "unconditional" (0)', () => {
    expect(canonicalize(`api ${A(7)} cache ${A(7)}`)).not.toBe(canonicalize(`api ${A(7)} cache ${A(6)}`));
    expect(canonicalize(`write ${A(0)} api ${A(4)}`)).not.toBe(canonicalize(`write ${A(4)} api ${A(4)}`));
  });

  it('numbers UIDs in order of appearance, keeping which are equal', () => {
    const u1 = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const u2 = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    expect(canonicalize(`vmi ${u1} pod ${u1} mig ${u2}`)).toBe(canonicalize(`vmi ${u2} pod ${u2} mig ${u1}`));
    expect(canonicalize(`vmi ${u1} pod ${u1}`)).not.toBe(canonicalize(`vmi ${u1} pod ${u2}`));
  });
});

/** The key of a real run at every choice point: canonical keys of one state are stable. */
class Recording implements Selector {
  readonly name = 'recording';
  world: World | undefined;
  readonly keys: string[] = [];
  readonly absolute: string[] = [];
  choose(kind: ChoiceKind, n: number): number {
    if (kind === 'draw') return n >> 1;
    if (kind === 'order') {
      this.keys.push(stateKey(this.world!));
      this.absolute.push(stateKey(this.world!, undefined, ABSOLUTE));
    }
    return kind === 'placement' ? 1 : 0;
  }
}

describe('the key of a run', () => {
  const scenario = loadScenario(resolve(__dirname, '../scenarios/7-tiny-agent-restart.yaml'), () => true);
  it('holds no resourceVersion or UID as issued, and is the same for the same run', () => {
    const keysOf = () => {
      const sel = new Recording();
      runOnce(scenario, builtinStrategy('v1.4.2')!, 1, { selector: sel, window: 0, inspect: (w) => (sel.world = w) });
      return sel;
    };
    const a = keysOf();
    const b = keysOf();
    expect(a.keys.length).toBeGreaterThan(0);
    expect(a.keys).toEqual(b.keys);
    for (const k of a.keys) {
      expect(k).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/);
      expect(k).not.toMatch(/"resourceVersion":"[^"]*@[1-9]/);
    }
    // The absolute key holds the issued ones: canonicalisation has something to do.
    expect(a.absolute.some((k) => /"resourceVersion":"[^"]*@[1-9]/.test(k))).toBe(true);
  });
});
