/**
 * The evidence file: a failing run as plain text that users commit next to their
 * scenarios. Versioned ("quotarace evidence v2"), one field per line, the choice log
 * wrapped at 20 tokens per line with runs of equal values written "v*count", so a diff
 * between two versions of a failure shows what changed.
 *
 * v2 adds what `replay` needs to vouch for a file: the tool that wrote it, the strategy
 * module's content hash, and the file's own hash (`evidence-sha256`), so that a replay whose
 * trace differs from the recorded one can say whether the file or the code changed.
 * v1 files are still read (their trace hash is still checked); they cannot say which.
 */
import { createHash } from 'node:crypto';
import type { Scenario } from '../scenario/model.js';
import { TOOL } from './provenance.js';
import { parseRunId } from './run-id.js';
import { runLengthTokens } from './run-id-format.js';

export const EVIDENCE_HEADER = '# quotarace evidence v2';
const EVIDENCE_V1_HEADER = '# quotarace evidence v1';
/** The first line of every evidence file any version of quotarace wrote (for "is this ours?" checks). */
export const EVIDENCE_MARKER = '# quotarace evidence v';
/** PCT's largest depth, as `run --depth` allows. */
const MAX_PCT_DEPTH = 100;

const MAX_SEED = 2 ** 48;
const MAX_HORIZON_MS = 7 * 24 * 3600_000;
const KNOWN_FIELDS = new Set([
  'scenario',
  'scenario-file',
  'scenario-sha256',
  'strategy',
  'strategy-module',
  'strategy-sha256',
  'run',
  'seed',
  'selector',
  'window-ms',
  'slots',
  'disabled-actions',
  'horizon-ms',
  'failure',
  'also-failing',
  'original',
  'shrunk',
  'determinism',
  'tool',
  'trace-sha256',
  'evidence-sha256',
  'choices',
]);

/**
 * Lines the file's own hash leaves out: the hash itself, and `scenario-file`, which only says
 * where to find the scenario (`scenario-sha256` pins which), so a moved scenario can be re-pointed.
 */
const UNHASHED_FIELDS = ['evidence-sha256', 'scenario-file'];

export interface Evidence {
  readonly scenario: string;
  readonly scenarioFile: string;
  readonly scenarioSha256: string;
  readonly strategy: string;
  /** For a strategy module: its path relative to the scenario file's folder. */
  readonly strategyModule?: string;
  /** For a strategy module: sha256 of the module file's bytes when the evidence was written. */
  readonly strategySha256?: string;
  /** The tool that wrote the file ("quotarace 0.1.0"); formatEvidence writes this build's when absent. */
  readonly tool?: string;
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
  const flat = runLengthTokens(values, ' ').join(' ').split(' ');
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

/** A parsed evidence file: the evidence, its format version, where each field is, and its own hash. */
export interface ParsedEvidence extends Evidence {
  readonly version: 1 | 2;
  /** Field name → its 1-based line, for messages. */
  readonly lineOf: Readonly<Record<string, number>>;
  /** The file's hash as recorded (`evidence-sha256`) and as its lines hash now; absent in v1 files. */
  readonly integrity?: { readonly recorded: string; readonly actual: string };
}

/** The file's own hash: sha256 of its lines (LF-joined, trailing blank lines dropped) without the unhashed fields' lines. */
function bodySha256(lines: readonly string[], skip: ReadonlySet<number>): string {
  const kept = lines.filter((_, i) => !skip.has(i));
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  return createHash('sha256').update(kept.join('\n')).digest('hex');
}

export function formatEvidence(e: Evidence): string {
  const list = (xs: readonly number[]) => (xs.length ? xs.join(' ') : '-');
  const lines = [
    EVIDENCE_HEADER,
    `scenario: ${e.scenario}`,
    `scenario-file: ${e.scenarioFile}`,
    `scenario-sha256: ${e.scenarioSha256}`,
    `strategy: ${e.strategy}`,
    ...(e.strategyModule ? [`strategy-module: ${e.strategyModule}`] : []),
    ...(e.strategyModule && e.strategySha256 ? [`strategy-sha256: ${e.strategySha256}`] : []),
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
    `tool: ${e.tool ?? TOOL}`,
    `trace-sha256: ${e.traceSha256}`,
    `choices: ${e.choices.length}`,
    ...encodeChoices(e.choices),
    'explanation:',
    ...e.explanation.map((l) => `  ${l}`),
    '',
  ];
  const at = lines.findIndex((l) => l.startsWith('choices: '));
  const hash = bodySha256(lines, new Set([lines.findIndex((l) => l.startsWith('scenario-file: '))]));
  lines.splice(at, 0, `evidence-sha256: ${hash}`);
  return lines.join('\n');
}

/** Parse an evidence file (v2, or v1 as older versions wrote it); an error says what and on which line. */
export function parseEvidence(input: string): ParsedEvidence | { error: string; line: number } {
  // A file committed on Linux and checked out on Windows has CRLF line ends: the same file.
  const text = input.replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  const version = lines[0] === EVIDENCE_HEADER ? 2 : lines[0] === EVIDENCE_V1_HEADER ? 1 : undefined;
  if (!version) return { error: `not a quotarace evidence file (first line should be "${EVIDENCE_HEADER}", or "${EVIDENCE_V1_HEADER}" for a file written by an older quotarace)`, line: 1 };
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
  const at = (k: string): number => fields.get(k)!.line;
  const req = ['scenario', 'scenario-file', 'scenario-sha256', 'strategy', 'seed', 'selector', 'window-ms', 'slots', 'disabled-actions', 'horizon-ms', 'choices'];
  // v2 records what replay needs to vouch for the file; a strategy module, its hash.
  const v2 = version === 2 ? ['tool', 'trace-sha256', 'evidence-sha256', ...(fields.has('strategy-module') ? ['strategy-sha256'] : [])] : [];
  for (const k of [...req, ...v2]) if (!fields.has(k)) return { error: `missing field "${k}"${v2.includes(k) ? ' (a v2 evidence file has it)' : ''}`, line: lines.length };
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
  if (disabled.some((x, j) => j > 0 && x <= disabled[j - 1]!)) return { error: 'disabled-actions: expected action numbers in increasing order, each once', line: at('disabled-actions') };
  const choices = decodeChoices(choiceLines);
  if (!Array.isArray(choices)) return { error: choices.error, line: choicesAt + 1 + choices.index };
  const count = /^\d{1,9}$/.test(fields.get('choices')!.value.trim()) ? Number(fields.get('choices')!.value) : Number.NaN;
  if (count !== choices.length) return { error: `choices: the header says ${count}, the list has ${choices.length}`, line: at('choices') };
  const whole = (k: string) => (WHOLE.test(fields.get(k)!.value.trim()) ? Number(fields.get(k)!.value) : Number.NaN);
  const seed = whole('seed');
  const windowMs = whole('window-ms');
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) return { error: `seed: expected a whole number from 0 to 2^48 (${MAX_SEED})`, line: at('seed') };
  if (!Number.isInteger(windowMs) || windowMs < 0 || windowMs > 86_400_000) return { error: 'window-ms: expected a whole number of ms from 0 to 86400000', line: at('window-ms') };
  const horizonMs = whole('horizon-ms');
  if (!Number.isInteger(horizonMs) || horizonMs <= 0 || horizonMs > MAX_HORIZON_MS) return { error: `horizon-ms: expected a whole number from 1 to ${MAX_HORIZON_MS} (7 days)`, line: at('horizon-ms') };
  const get = (k: string) => fields.get(k)?.value ?? '';
  const selector = /^(random|pct depth=(\d{1,3})|exhaustive)$/.exec(get('selector'));
  if (!selector) return { error: `selector: expected random, pct depth=<d> or exhaustive, got "${get('selector').slice(0, 40)}"`, line: at('selector') };
  const depth = selector[2] === undefined ? undefined : Number(selector[2]);
  if (depth !== undefined && (depth < 1 || depth > MAX_PCT_DEPTH)) return { error: `selector: a PCT depth is from 1 to ${MAX_PCT_DEPTH}, got ${depth}`, line: at('selector') };
  const hex = (k: string): { error: string; line: number } | undefined => (fields.has(k) && !/^[0-9a-f]{64}$/.test(get(k)) ? { error: `${k}: expected 64 hex digits`, line: at(k) } : undefined);
  for (const k of ['scenario-sha256', 'trace-sha256', 'strategy-sha256', 'evidence-sha256']) {
    const bad = hex(k);
    if (bad) return bad;
  }
  if (fields.has('tool') && !/^quotarace [!-~]{1,100}$/.test(get('tool'))) return { error: `tool: expected "quotarace <version>", got "${get('tool').slice(0, 40)}"`, line: at('tool') };
  if (!get('strategy') || /[/\\\u0000-\u001f]/.test(get('strategy')) || get('strategy').length > 100) return { error: 'strategy: expected a strategy name (no "/", "\\" or control characters)', line: at('strategy') };
  if (fields.has('strategy-module') && !/\.(ts|mts|js|mjs)$/.test(get('strategy-module'))) return { error: 'strategy-module: expected a path to a .ts or .js module', line: at('strategy-module') };
  if (fields.has('strategy-sha256') && !fields.has('strategy-module')) return { error: 'strategy-sha256: only a strategy module has a content hash (no strategy-module line)', line: at('strategy-sha256') };
  if (fields.has('run')) {
    try {
      const id = parseRunId(get('run'));
      if (id.seed !== seed) return { error: `run: ${get('run')} has seed ${id.seed}, the file says seed ${seed}`, line: at('run') };
      // The run id and the selector and window lines describe one run.
      const label = id.explorer === 'pct' ? `pct depth=${id.depth}` : id.explorer;
      if (label !== get('selector')) return { error: `run: ${get('run')} is a ${label} run, the file says selector ${get('selector')}`, line: at('run') };
      if (id.window !== windowMs) return { error: `run: ${get('run')} has a ${id.window} ms window, the file says window-ms ${windowMs}`, line: at('run') };
    } catch (e) {
      return { error: `run: ${(e as Error).message}`, line: at('run') };
    }
  }
  const lineOf: Record<string, number> = {};
  for (const [k, f] of fields) lineOf[k] = f.line;
  const skip = new Set(UNHASHED_FIELDS.filter((k) => fields.has(k)).map((k) => at(k) - 1));
  return {
    scenario: get('scenario'),
    scenarioFile: get('scenario-file'),
    scenarioSha256: get('scenario-sha256'),
    strategy: get('strategy'),
    ...(fields.has('strategy-module') ? { strategyModule: get('strategy-module') } : {}),
    ...(fields.has('strategy-sha256') ? { strategySha256: get('strategy-sha256') } : {}),
    ...(fields.has('tool') ? { tool: get('tool') } : {}),
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
    version,
    lineOf,
    ...(fields.has('evidence-sha256') ? { integrity: { recorded: get('evidence-sha256'), actual: bodySha256(lines, skip) } } : {}),
  };
}

/**
 * The fields that must fit the scenario the file names (checked once it is loaded): one
 * `slots` number per action, 0 for an action timed `at`; `disabled-actions` among the
 * scenario's actions; the shrunk horizon within the scenario's.
 */
export function checkEvidenceFits(ev: ParsedEvidence, scenario: Scenario): { error: string; line: number } | undefined {
  const n = scenario.actions.length;
  if (ev.windowWrites.length !== n) return { error: `slots: ${ev.windowWrites.length} number${ev.windowWrites.length === 1 ? '' : 's'}, the scenario has ${n} action${n === 1 ? '' : 's'} (one per action)`, line: ev.lineOf['slots']! };
  const timed = ev.windowWrites.findIndex((w, i) => w > 0 && !('between' in scenario.actions[i]!.timing));
  if (timed >= 0) return { error: `slots: action ${timed} is timed "at", it has no window to place it in (expected 0, got ${ev.windowWrites[timed]})`, line: ev.lineOf['slots']! };
  const outside = ev.disabledActions.find((a) => a >= n);
  if (outside !== undefined) return { error: `disabled-actions: ${outside} is not an action of the scenario (its actions are 0 to ${n - 1})`, line: ev.lineOf['disabled-actions']! };
  if (ev.horizonMs > scenario.horizonMs) return { error: `horizon-ms: ${ev.horizonMs} is past the scenario's horizon (${scenario.horizonMs} ms); shrinking only cuts it`, line: ev.lineOf['horizon-ms']! };
  return undefined;
}
