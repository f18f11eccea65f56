/**
 * A strategy misbehaved: it threw, never settled within the step budget, wrote an invalid
 * object, or is not deterministic. Carries what a user needs to find it: the strategy, the
 * scenario, the seed and the step. The campaign reports it for that strategy only.
 */
export class StrategyFault extends Error {
  constructor(
    readonly strategy: string,
    readonly detail: string,
    readonly seed?: number,
    readonly step?: number,
    readonly scenario?: string,
    /** The run id (see explore/run-id.ts), when known. */
    readonly run?: string,
  ) {
    super(detail);
    this.name = 'StrategyFault';
  }

  with(where: { seed?: number; step?: number; scenario?: string; run?: string }): StrategyFault {
    return new StrategyFault(this.strategy, this.detail, this.seed ?? where.seed, this.step ?? where.step, this.scenario ?? where.scenario, this.run ?? where.run);
  }

  describe(): string {
    // A run id names the run (its seed is in it); a bare seed only where no id is known.
    const where = [this.scenario && `scenario ${this.scenario}`, this.run ? `run ${this.run}` : this.seed !== undefined && `seed ${this.seed}`, this.step !== undefined && `step ${this.step}`].filter(Boolean).join(', ');
    return `strategy ${this.strategy}${where ? ` (${where})` : ''}: ${this.detail}`;
  }

  toJSON(): { strategy: string; detail: string; seed?: number; step?: number; scenario?: string; run?: string; message: string } {
    return { strategy: this.strategy, detail: this.detail, seed: this.seed, step: this.step, scenario: this.scenario, run: this.run, message: this.describe() };
  }
}
