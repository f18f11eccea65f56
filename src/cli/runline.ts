import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { shellQuote } from '../base/shell.js';
import { isStrategyPath, strategyRef } from '../strategies/loader.js';
import type { Strategy } from '../strategies/api.js';
import { DEFAULT_SANDBOX, type SandboxLimits } from '../explore/pool.js';
import { VERSION } from './help.js';
import type { CampaignPlan } from './plans.js';

/**
 * The command that reproduces a campaign, and what it ran against. The command carries
 * every option that shaped the numbers, explicitly (not left to defaults a later version
 * may change): scenario paths, the strategies named with --strategy (modules by path), the
 * explorer, its depth or run cap, the window, runs and seed, --no-evidence, and a strategy
 * module's sandbox limits when they are not the defaults. Runs and seed
 * are given only when every scenario ran with the same ones; otherwise each scenario's own
 * came from its file, and leaving the flags out reproduces that. The notes say what the
 * command ran against: the tool's version, each scenario's sha256 and runs/seed, each
 * strategy module's sha256, and the shards it was cut into.
 */
export interface RunLine {
  /** One shell line; run from the directory the campaign ran in. */
  readonly command: string;
  /** Shell comments ("# ..."), one per line: provenance, not options. */
  readonly notes: readonly string[];
}

/** A path as the command line should give it: relative to the working directory when below it. */
export function cliPath(p: string, cwd: string = process.cwd()): string {
  if (!isAbsolute(p)) return p;
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

/** A strategy as `--strategy` takes it: a built-in's name, a module's path. */
function strategyArg(s: Strategy, cwd: string): string {
  const ref = strategyRef(s);
  return isStrategyPath(ref) ? cliPath(ref, cwd) : s.name;
}

function sha256File(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (e) {
    return `unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}

/**
 * `chosen`: the strategies came from --strategy (the same list for every scenario), not
 * from each scenario's `strategies:`. `shards`: the campaign ran as that many `run --shard`
 * and one `merge`; the unsharded command gives the same results.
 */
export function runLine(plans: readonly CampaignPlan[], chosen: boolean, shards?: number, sandbox: SandboxLimits = DEFAULT_SANDBOX, cwd: string = process.cwd()): RunLine {
  const parts = ['quotarace run', ...plans.map((p) => shellQuote(cliPath(p.s.file, cwd)))];
  if (chosen && plans[0]) for (const s of plans[0].strategies) parts.push('--strategy', shellQuote(strategyArg(s, cwd)));
  // Modules a scenario names load only when allowed by name: the line allows exactly those.
  if (!chosen) {
    const named = new Set<string>();
    for (const p of plans) for (const s of p.strategies) if (isStrategyPath(strategyRef(s))) named.add(strategyArg(s, cwd));
    for (const m of [...named].sort()) parts.push('--allow-module', shellQuote(m));
  }
  const o = plans[0]?.opts;
  if (o) {
    parts.push('--explore', o.mode);
    if (o.mode === 'pct') parts.push('--depth', String(o.depth));
    if (o.mode === 'exhaustive') parts.push('--max-runs', String(o.maxRuns));
    if (o.mode === 'exhaustive' && o.delays !== undefined) parts.push('--delays', String(o.delays));
    if (o.mode === 'exhaustive' && o.reduction) parts.push('--reduction', o.reduction);
    if (o.mode === 'exhaustive' && o.latencyPoints) parts.push('--latency-points', String(o.latencyPoints));
    parts.push('--window', String(o.window));
    const same = (f: (p: CampaignPlan) => number) => plans.every((p) => f(p) === f(plans[0]!));
    if (o.mode !== 'exhaustive' && same((p) => p.opts.runs)) parts.push('--runs', String(o.runs));
    if (same((p) => p.opts.seed)) parts.push('--seed', String(o.seed));
    if (o.evidenceLimit === 0) parts.push('--no-evidence');
  }
  // A module's sandbox limits decide whether it is stopped (a fault instead of numbers):
  // stated when a module ran under other limits than the defaults (a flag or the environment).
  const modules = plans.some((p) => p.strategies.some((s) => isStrategyPath(strategyRef(s))));
  if (modules && sandbox.timeoutMs !== DEFAULT_SANDBOX.timeoutMs) parts.push('--strategy-timeout', String(sandbox.timeoutMs / 1000));
  if (modules && sandbox.memoryMb !== DEFAULT_SANDBOX.memoryMb) parts.push('--strategy-memory', String(sandbox.memoryMb));
  const notes = [`# quotarace ${VERSION}${shards && shards > 1 ? `; ran as ${shards} shards (run --shard i/${shards}, then merge): the same results as this one command` : ''}`];
  for (const p of plans) notes.push(`# ${cliPath(p.s.file, cwd)} sha256 ${p.s.hash}${p.opts.mode === 'exhaustive' ? '' : ` runs ${p.opts.runs}`} seed ${p.opts.seed}: ${p.strategies.map((s) => s.name).join(', ')}`);
  const paths = new Map<string, string>();
  for (const p of plans) for (const s of p.strategies) if (isStrategyPath(strategyRef(s))) paths.set(strategyRef(s), s.name);
  for (const [path, name] of paths) notes.push(`# strategy ${name}: ${cliPath(path, cwd)} sha256 ${sha256File(path)}`);
  return { command: parts.join(' '), notes };
}
