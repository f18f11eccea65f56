import { isMap, isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { parseQuantity } from '../cluster/quantity.js';
import { readInputFile } from '../base/input-file.js';
import { parseDuration } from '../scenario/duration.js';
import { fieldPath, InputError, type InputProblem } from '../scenario/errors.js';
import { ACTION_KINDS, DEFAULT_SPACE, type Space } from './space.js';

/**
 * A space file (`hunt --space space.yaml`): every key optional, each replacing that part of
 * the default space. Strict like scenarios: an unknown key is an error with its line.
 */
const qty = z.union([z.string(), z.number()]).transform(String).refine((v) => parseQuantity(v) !== undefined, (v) => ({ message: `expected a Kubernetes quantity such as "15m", "2" or "4Gi", got ${JSON.stringify(v)}` }));
const dur = z.string().refine((v) => parseDuration(v) !== undefined, (v) => ({ message: `expected a duration such as "30s" or "2m", got ${JSON.stringify(v)}` }));
const rng = (lo: number, hi: number) =>
  z
    .tuple([z.number().int().min(lo).max(hi), z.number().int().min(lo).max(hi)], { errorMap: () => ({ message: `expected [min, max], whole numbers from ${lo} to ${hi}` }) })
    .refine((r) => r[0] <= r[1], 'expected [min, max] with min <= max');
const list = <T extends z.ZodTypeAny>(t: T) => z.array(t).min(1, 'expected at least one value');
const prob = z.number().min(0, 'expected a probability in [0, 1]').max(1, 'expected a probability in [0, 1]');

const spaceSchema = z
  .object({
    nodes: z.object({ count: rng(2, 8).optional(), cpu: list(z.number().int().min(1).max(512)).optional(), memory: list(qty).optional() }).strict().optional(),
    namespaces: z.object({ count: rng(1, 5).optional(), vms: rng(0, 8).optional(), pods: rng(0, 4).optional() }).strict().optional(),
    vms: z.object({ cpu: list(z.number().int().min(1).max(64)).optional(), memory: list(qty).optional(), liveMigrate: prob.optional() }).strict().optional(),
    quota: z.object({ headroomCpu: list(qty).optional(), headroomMemory: list(qty).optional() }).strict().optional(),
    overheadRatio: list(z.union([z.string(), z.number()]).transform(String).refine((v) => /^\d+(\.\d+)?$/.test(v) && Number(v) >= 1, 'expected a ratio such as "1.5" (1 or more)')).optional(),
    rancher: z
      .object({
        imported: prob.optional(),
        agentReplicas: rng(1, 3).optional(),
        carrier: prob.optional(),
        syncOnlyChangedObjects: prob.optional(),
        // `project: 0.4` is short for `project: { p: 0.4 }` (the default rooms).
        project: z.preprocess((v) => (typeof v === 'number' ? { p: v } : v), z.object({ p: prob.optional(), roomCpu: list(qty).optional(), roomMemory: list(qty).optional() }, { invalid_type_error: 'expected a probability, or { p: <probability>, roomCpu: [...], roomMemory: [...] }' }).strict()).optional(),
      })
      .strict()
      .optional(),
    actions: z
      .object({
        count: rng(0, 8).optional(),
        kinds: z.array(z.enum(ACTION_KINDS)).optional(),
        times: list(dur).optional(),
        windows: prob.optional(),
        editCpu: list(z.union([z.string(), z.number()]).transform(String).refine((v) => parseQuantity(v.replace(/^-/, '')) !== undefined, 'expected a CPU change such as "-1", "500m" or "2"')).optional(),
      })
      .strict()
      .optional(),
    campaign: z.object({ runs: z.number().int().min(1).max(1000).optional(), explorers: list(z.enum(['random', 'pct'])).optional(), batch: z.number().int().min(1).max(64).optional() }).strict().optional(),
    horizon: dur.optional(),
  })
  .strict();

export function loadSpace(file: string): Space {
  const r = readInputFile(file);
  if ('error' in r) throw new InputError([{ file, line: 0, col: 0, field: '', message: r.error }]);
  return parseSpace(r.text, file);
}

export function parseSpace(text: string, file: string): Space {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const problems: InputProblem[] = doc.errors.map((e) => {
    const p = lc.linePos(e.pos[0]);
    return { file, line: p.line, col: p.col, field: '', message: `invalid YAML: ${e.message.split('\n')[0]}` };
  });
  if (problems.length) throw new InputError(problems);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (e) {
    throw new InputError([{ file, line: 1, col: 1, field: '', message: `invalid YAML: ${(e as Error).message.split('\n')[0]}` }]);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InputError([{ file, line: 1, col: 1, field: '', message: 'expected a YAML mapping (nodes, namespaces, vms, quota, overheadRatio, rancher, actions, campaign, horizon)' }]);
  const parsed = spaceSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      for (const k of keys) {
        const pos = locate(doc, lc, issue.path, k);
        problems.push({ file, line: pos.line, col: pos.col, field: fieldPath(k ? [...issue.path, k] : issue.path), message: k ? `unknown key "${k}"` : issue.message });
      }
    }
    throw new InputError(problems);
  }
  const s = parsed.data;
  const d = DEFAULT_SPACE;
  const space: Space = {
    nodes: { count: s.nodes?.count ?? d.nodes.count, cpu: s.nodes?.cpu ?? d.nodes.cpu, memory: s.nodes?.memory ?? d.nodes.memory },
    namespaces: { count: s.namespaces?.count ?? d.namespaces.count, vms: s.namespaces?.vms ?? d.namespaces.vms, pods: s.namespaces?.pods ?? d.namespaces.pods },
    vms: { cpu: s.vms?.cpu ?? d.vms.cpu, memory: s.vms?.memory ?? d.vms.memory, liveMigrate: s.vms?.liveMigrate ?? d.vms.liveMigrate },
    quota: { headroomCpu: s.quota?.headroomCpu ?? d.quota.headroomCpu, headroomMemory: s.quota?.headroomMemory ?? d.quota.headroomMemory },
    overheadRatio: s.overheadRatio ?? d.overheadRatio,
    rancher: {
      imported: s.rancher?.imported ?? d.rancher.imported,
      agentReplicas: s.rancher?.agentReplicas ?? d.rancher.agentReplicas,
      carrier: s.rancher?.carrier ?? d.rancher.carrier,
      syncOnlyChangedObjects: s.rancher?.syncOnlyChangedObjects ?? d.rancher.syncOnlyChangedObjects,
      project: { p: s.rancher?.project?.p ?? d.rancher.project.p, roomCpu: s.rancher?.project?.roomCpu ?? d.rancher.project.roomCpu, roomMemory: s.rancher?.project?.roomMemory ?? d.rancher.project.roomMemory },
    },
    actions: {
      count: s.actions?.count ?? d.actions.count,
      kinds: s.actions?.kinds ?? d.actions.kinds,
      times: s.actions?.times ?? d.actions.times,
      windows: s.actions?.windows ?? d.actions.windows,
      editCpu: s.actions?.editCpu ?? d.actions.editCpu,
    },
    campaign: { runs: s.campaign?.runs ?? d.campaign.runs, explorers: s.campaign?.explorers ?? d.campaign.explorers, batch: s.campaign?.batch ?? d.campaign.batch },
    horizon: s.horizon ?? d.horizon,
  };
  // Cross-checks: a VM must fit some node; a window's times must lie within the horizon.
  const maxNodeCpu = Math.max(...space.nodes.cpu);
  if (Math.min(...space.vms.cpu) > maxNodeCpu) problems.push({ ...at(doc, lc, ['vms', 'cpu'], file), message: `every VM size is larger than every node (${maxNodeCpu} CPU)` });
  const horizon = parseDuration(space.horizon)!;
  if (horizon <= 0 || horizon > 24 * 3600_000) problems.push({ ...at(doc, lc, ['horizon'], file), message: 'expected a horizon above 0s and at most 24h' });
  space.actions.times.forEach((t, i) => {
    if (parseDuration(t)! > horizon) problems.push({ ...at(doc, lc, ['actions', 'times', i], file), message: `${t} is after the horizon (${space.horizon})` });
  });
  if (problems.length) throw new InputError(problems);
  return space;
}

function at(doc: Document, lc: LineCounter, path: (string | number)[], file: string): Omit<InputProblem, 'message'> {
  const p = locate(doc, lc, path);
  return { file, line: p.line, col: p.col, field: fieldPath(path) };
}

function locate(doc: Document, lc: LineCounter, path: readonly PropertyKey[], key?: string): { line: number; col: number } {
  const p = path.filter((x): x is string | number => typeof x !== 'symbol');
  for (let i = p.length; i >= 0; i--) {
    const node = i === 0 ? doc.contents : doc.getIn(p.slice(0, i), true);
    if (!isNode(node) || !node.range) continue;
    if (key !== undefined && i === p.length && isMap(node)) {
      const pair = node.items.find((x) => isNode(x.key) && (x.key as { value?: unknown }).value === key);
      if (pair && isNode(pair.key) && pair.key.range) return lc.linePos(pair.key.range[0]);
    }
    return lc.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}
