import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byNumberedName, scenarioFiles } from '../src/cli/plans.js';

describe("a folder's scenarios run in the order their numbers say", () => {
  it('2 before 10, whatever the digits count, and the same order for names without numbers', () => {
    const names = ['10-b.yaml', '2-a.yaml', '1-x.yaml', 'z.yaml', '002-c.yaml', '14-d.yml', 'a.yaml', '9-e.yaml'];
    expect([...names].sort(byNumberedName)).toEqual(['1-x.yaml', '002-c.yaml', '2-a.yaml', '9-e.yaml', '10-b.yaml', '14-d.yml', 'a.yaml', 'z.yaml']);
  });

  it('scenarioFiles lists a folder that way, files given by name as given', () => {
    const d = mkdtempSync(join(tmpdir(), 'quotarace-order-'));
    for (const f of ['10-b.yaml', '2-a.yaml', '1-x.yaml', 'notes.txt']) writeFileSync(join(d, f), '');
    expect(scenarioFiles([d, join(d, '1-x.yaml')])).toEqual([join(d, '1-x.yaml'), join(d, '2-a.yaml'), join(d, '10-b.yaml'), join(d, '1-x.yaml')]);
  });
});
