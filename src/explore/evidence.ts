/**
 * The evidence file: a failing run as plain text that users commit next to their
 * scenarios. Versioned ("quotarace evidence v1"), one field per line, the choice log
 * wrapped at 20 tokens per line with runs of equal values written "v*count", so a diff
 * between two versions of a failure shows what changed.
 */
import { parseRunId } from './run-id.js';

export const EVIDENCE_HEADER = '# quotarace evidence v1';

const MAX_SEED = 2 ** 48;
const MAX_HORIZON_MS = 7 * 24 * 3600_000;
const KNOWN_FIELDS = new Set(['scenario', 'scenario-file', 'scenario-sha256', 'strategy', 'strategy-module', 'run', 'seed', 'selector', 'window-ms', 'slots', 'disabled-actions', 'horizon-ms', 'failure', 'also-failing', 'original', 'shrunk', 'determinism', 'trace-sha256', 'choices']);

export interface Evidence {
  readonly scenario: string;
  readonly scenarioFile: string;
  readonly scenarioSha256: string;
  readonly strategy: string;
  /** For a strategy module: its path relative to the scenario file's folder. */
  readonly strategyModule?: string;
  /** The run id of the original run (see run-id.ts); absent in files written before run ids. */
  readonly run?: string;
  readonly seed: number;
  /** How the original run was explored: "random", "pct depth=3", "exhaustive". */
  readonly selector: string;
  readonly windowMs: number;
  /** Per action, the API writes counted inside its `between` window (the file's `slots:` line). */
  readonly windowWrites: readonly number[];
  readonly disabledActions: readonly number[];
  /** The horizon the shrunk run stops at, in ms. */
  readonly horizonMs: number;
  readonly failure: string;
  readonly alsoFailing: string;
  readonly original: string;
  readonly shrunk: string;
  readonly determinism: string;
  readonly traceSha256: string;
  readonly choices: readonly number[];
  readonly explanation: readonly string[];
}

export function encodeChoices(values: readonly number[]): string[] {
  const tokens: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j < values.length && values[j] === values[i]) j++;
    const count = j - i;
    tokens.push(count > 2 ? `${values[i]}*${count}` : Array(count).fill(String(values[i])).join(' '));
    i = j;
  }
  const flat = tokens.join(' ').split(' ');
  const lines: string[] = [];
  for (let i = 0; i < flat.length; i += 20) lines.push('  ' + flat.slice(i, i + 20).join(' '));
  return lines;
}

/** The most choices an evidence file may hold (a run of the step budget makes fewer). */
export const MAX_CHOICES = 10_000_000;

export function decodeChoices(lines: readonly string[]): number[] | { error: string; index: number } {
  const out: number[] = [];
  for (const [index, line] of lines.entries()) {
    for (const tok of line.trim().split(/\s+/)) {
      if (!tok) continue;
      const m = /^(\d{1,9})(?:\*(\d{1,9}))?$/.exec(tok);
      if (!m) return { error: `bad choice token "${tok.slice(0, 40)}" (expected a value, or value*count, with at most 9 digits each)`, index };
      const v = Number(m[1]);
      const count = m[2] ? Number(m[2]) : 1;
      if (count < 1) return { error: `bad choice token "${tok}": a count is at least 1`, index };
      if (out.length + count > MAX_CHOICES) return { error: `too many choices (more than ${MAX_CHOICES.toLocaleString('en-US')})`, index };
      for (let i = 0; i < count; i++) out.push(v);
    }
  }
  return out;
}

export function formatEvidence(e: Evidence): string {
  const list = (xs: readonly number[]) => (xs.length ? xs.join(' ') : '-');
  return [
    EVIDENCE_HEADER,
    `scenario: ${e.scenario}`,
    `scenario-file: ${e.scenarioFile}`,
    `scenario-sha256: ${e.scenarioSha256}`,
    `strategy: ${e.strategy}`,
    ...(e.strategyModule ? [`strategy-module: ${e.strategyModule}`] : []),
    ...(e.run ? [`run: ${e.run}`] : []),
    `seed: ${e.seed}`,
    `selector: ${e.selector}`,
    `window-ms: ${e.windowMs}`,
    `slots: ${list(e.windowWrites)}`,
    `disabled-actions: ${list(e.disabledActions)}`,
    `horizon-ms: ${e.horizonMs}`,
    `failure: ${e.failure}`,
    `also-failing: ${e.alsoFailing}`,
    `original: ${e.original}`,
    `shrunk: ${e.shrunk}`,
    `determinism: ${e.determinism}`,
    `trace-sha256: ${e.traceSha256}`,
    `choices: ${e.choices.length}`,
    ...encodeChoices(e.choices),
    'explanation:',
    ...e.explanation.map((l) => `  ${l}`),
    '',
  ].join('\n');
}

/** Parse an evidence file; a string is the error (with its line). */
export function parseEvidence(input: string): Evidence | { error: string; line: number } {
  // A file committed on Linux and checked out on Windows has CRLF line ends: the same file.
  const text = input.replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  if (lines[0] !== EVIDENCE_HEADER) return { error: `not a quotarace evidence file (first line should be "${EVIDENCE_HEADER}")`, line: 1 };
  const fields = new Map<string, { value: string; line: number }>();
  let i = 1;
  let choiceLines: string[] = [];
  let choicesAt = 0;
  const explanation: string[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (line === 'explanation:') {
      for (i++; i < lines.length; i++) if (lines[i]!.startsWith('  ')) explanation.push(lines[i]!.slice(2));
      break;
    }
    const m = /^([a-z0-9-]+): ?(.*)$/.exec(line);
    if (!m) return { error: `expected "field: value", got "${line.slice(0, 40)}"`, line: i + 1 };
    if (fields.has(m[1]!)) return { error: `${m[1]}: given twice (first on line ${fields.get(m[1]!)!.line})`, line: i + 1 };
    if (!KNOWN_FIELDS.has(m[1]!)) return { error: `unknown field "${m[1]!.slice(0, 40)}" (expected one of: ${[...KNOWN_FIELDS].join(', ')}, explanation)`, line: i + 1 };
    fields.set(m[1]!, { value: m[2]!, line: i + 1 });
    if (m[1] === 'choices') {
      choiceLines = [];
      choicesAt = i + 1;
      while (i + 1 < lines.length && lines[i + 1]!.startsWith('  ')) choiceLines.push(lines[++i]!);
    }
  }
  const need = (k: string): string | { error: string; line: number } => {
    const f = fields.get(k);
    return f ? f.value : { error: `missing field "${k}"`, line: lines.length };
  };
  const req = ['scenario', 'scenario-file', 'scenario-sha256', 'strategy', 'seed', 'selector', 'window-ms', 'slots', 'disabled-actions', 'horizon-ms', 'choices'];
  for (const k of req) {
    const v = need(k);
    if (typeof v !== 'string') return v;
  }
  const WHOLE = /^\d{1,15}$/;
  const nums = (k: string): number[] | { error: string; line: number } => {
    const f = fields.get(k)!;
    if (f.value === '-') return [];
    const parts = f.value.trim().split(/\s+/);
    if (parts.length > 100_000) return { error: `${k}: at most 100,000 numbers`, line: f.line };
    return parts.every((x) => /^\d{1,9}$/.test(x)) ? parts.map(Number) : { error: `${k}: expected whole numbers (at most 9 digits each) or "-"`, line: f.line };
  };
  const windowWrites = nums('slots');
  if (!Array.isArray(windowWrites)) return windowWrites;
  const disabled = nums('disabled-actions');
  if (!Array.isArray(disabled)) return disabled;
  const choices = decodeChoices(choiceLines);
  if (!Array.isArray(choices)) return { error: choices.error, line: choicesAt + 1 + choices.index };
  const count = /^\d{1,9}$/.test(fields.get('choices')!.value.trim()) ? Number(fields.get('choices')!.value) : Number.NaN;
  if (count !== choices.length) return { error: `choices: the header says ${count}, the list has ${choices.length}`, line: fields.get('choices')!.line };
  const whole = (k: string) => (WHOLE.test(fields.get(k)!.value.trim()) ? Number(fields.get(k)!.value) : Number.NaN);
  const seed = whole('seed');
  const windowMs = whole('window-ms');
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) return { error: `seed: expected a whole number from 0 to 2^48 (${MAX_SEED})`, line: fields.get('seed')!.line };
  if (!Number.isInteger(windowMs) || windowMs < 0 || windowMs > 86_400_000) return { error: 'window-ms: expected a whole number of ms from 0 to 86400000', line: fields.get('window-ms')!.line };
  const horizonMs = whole('horizon-ms');
  if (!Number.isInteger(horizonMs) || horizonMs <= 0 || horizonMs > MAX_HORIZON_MS) return { error: `horizon-ms: expected a whole number from 1 to ${MAX_HORIZON_MS} (7 days)`, line: fields.get('horizon-ms')!.line };
  const get = (k: string) => fields.get(k)?.value ?? '';
  if (!/^(random|pct depth=\d{1,3}|exhaustive)$/.test(get('selector'))) return { error: `selector: expected random, pct depth=<d> or exhaustive, got "${get('selector').slice(0, 40)}"`, line: fields.get('selector')!.line };
  if (!/^[0-9a-f]{64}$/.test(get('scenario-sha256'))) return { error: 'scenario-sha256: expected 64 hex digits', line: fields.get('scenario-sha256')!.line };
  if (fields.has('trace-sha256') && !/^[0-9a-f]{64}$/.test(get('trace-sha256'))) return { error: 'trace-sha256: expected 64 hex digits', line: fields.get('trace-sha256')!.line };
  if (!get('strategy') || /[/\\\u0000-\u001f]/.test(get('strategy')) || get('strategy').length > 100) return { error: 'strategy: expected a strategy name (no "/", "\\" or control characters)', line: fields.get('strategy')!.line };
  if (fields.has('strategy-module') && !/\.(ts|mts|js|mjs)$/.test(get('strategy-module'))) return { error: 'strategy-module: expected a path to a .ts or .js module', line: fields.get('strategy-module')!.line };
  if (fields.has('run')) {
    try {
      const id = parseRunId(get('run'));
      if (id.seed !== seed) return { error: `run: ${get('run')} has seed ${id.seed}, the file says seed ${seed}`, line: fields.get('run')!.line };
    } catch (e) {
      return { error: `run: ${(e as Error).message}`, line: fields.get('run')!.line };
    }
  }
  return {
    scenario: get('scenario'),
    scenarioFile: get('scenario-file'),
    scenarioSha256: get('scenario-sha256'),
    strategy: get('strategy'),
    ...(fields.has('strategy-module') ? { strategyModule: get('strategy-module') } : {}),
    ...(fields.has('run') ? { run: get('run') } : {}),
    seed,
    selector: get('selector'),
    windowMs,
    windowWrites,
    disabledActions: disabled,
    horizonMs,
    failure: get('failure'),
    alsoFailing: get('also-failing'),
    original: get('original'),
    shrunk: get('shrunk'),
    determinism: get('determinism'),
    traceSha256: get('trace-sha256'),
    choices,
    explanation,
  };
}
