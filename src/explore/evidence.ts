/**
 * The evidence file: a failing run as plain text that users commit next to their
 * scenarios. Versioned ("quotarace evidence v1"), one field per line, the choice log
 * wrapped at 20 tokens per line with runs of equal values written "v*count", so a diff
 * between two versions of a failure shows what changed.
 */
import { parseRunId } from './run-id.js';

export const EVIDENCE_HEADER = '# quotarace evidence v1';

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
  readonly slots: readonly number[];
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

export function decodeChoices(lines: readonly string[]): number[] | { error: string; index: number } {
  const out: number[] = [];
  for (const [index, line] of lines.entries()) {
    for (const tok of line.trim().split(/\s+/)) {
      if (!tok) continue;
      const m = /^(\d+)(?:\*(\d+))?$/.exec(tok);
      if (!m) return { error: `bad choice token "${tok}"`, index };
      const v = Number(m[1]);
      const count = m[2] ? Number(m[2]) : 1;
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
    `slots: ${list(e.slots)}`,
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
export function parseEvidence(text: string): Evidence | { error: string; line: number } {
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
  const WHOLE = /^\d+$/;
  const nums = (k: string): number[] | { error: string; line: number } => {
    const f = fields.get(k)!;
    if (f.value === '-') return [];
    const parts = f.value.trim().split(/\s+/);
    return parts.every((x) => WHOLE.test(x)) ? parts.map(Number) : { error: `${k}: expected whole numbers or "-"`, line: f.line };
  };
  const slots = nums('slots');
  if (!Array.isArray(slots)) return slots;
  const disabled = nums('disabled-actions');
  if (!Array.isArray(disabled)) return disabled;
  const choices = decodeChoices(choiceLines);
  if (!Array.isArray(choices)) return { error: choices.error, line: choicesAt + 1 + choices.index };
  const count = Number(fields.get('choices')!.value);
  if (count !== choices.length) return { error: `choices: the header says ${count}, the list has ${choices.length}`, line: fields.get('choices')!.line };
  const whole = (k: string) => (WHOLE.test(fields.get(k)!.value.trim()) ? Number(fields.get(k)!.value) : Number.NaN);
  const seed = whole('seed');
  const windowMs = whole('window-ms');
  if (!Number.isInteger(seed) || seed < 0) return { error: 'seed: expected a whole number', line: fields.get('seed')!.line };
  if (!Number.isInteger(windowMs) || windowMs < 0) return { error: 'window-ms: expected a whole number', line: fields.get('window-ms')!.line };
  const horizonMs = whole('horizon-ms');
  if (!Number.isInteger(horizonMs) || horizonMs <= 0) return { error: 'horizon-ms: expected a whole number above 0', line: fields.get('horizon-ms')!.line };
  const get = (k: string) => fields.get(k)?.value ?? '';
  if (fields.has('run')) {
    try {
      parseRunId(get('run'));
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
    slots,
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
