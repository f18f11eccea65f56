/** A problem in a user's file, with where it is. Printed as "file:line:col: field: message". */
export interface InputProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly field: string;
  readonly message: string;
}

export class InputError extends Error {
  constructor(readonly problems: readonly InputProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InputError';
  }
}

export function formatProblem(p: InputProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

/** Cap a list in a message: a scenario with 10,000 VMs must not print a 100 kB line. */
export function capList(items: readonly string[], max = 20): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')}, … (${items.length - max} more)`;
}

/** A zod issue in words; a union says which forms it accepts (not zod's bare "Invalid input"). */
export function zodIssueMessage(issue: { code: string; message: string; unionErrors?: Array<{ issues: Array<{ code: string; message: string; expected?: unknown; received?: unknown; path: (string | number)[] }> }> }, forms?: string): string {
  if (issue.code === 'invalid_union') {
    if (forms) return `expected ${forms}`;
    const alts = new Set<string>();
    for (const u of issue.unionErrors ?? []) {
      const first = u.issues[0];
      if (!first) continue;
      alts.add(first.code === 'invalid_type' && first.expected !== undefined ? String(first.expected) : first.message);
    }
    return alts.size ? `expected one of: ${[...alts].join('; ')}` : issue.message;
  }
  return issue.message;
}

/** "cluster.namespaces[0].vms[1].node" from a path. */
export function fieldPath(path: readonly (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}
