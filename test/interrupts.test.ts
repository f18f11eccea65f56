import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';

/**
 * Issue 22, items 6-7, through the real process (bin/quotarace.js, built): a signal mid-run,
 * a second run into a folder in use, a standard output that cannot be written.
 */
const tmp = (p: string): string => mkdtempSync(join(tmpdir(), `quotarace-interrupt-${p}-`));
const BIN = ['bin/quotarace.js'];

/** Scenario copies: `fast` finishes in a moment, `slow` runs long enough to be interrupted. */
function scenarios(dir: string): { fast: string; slow: string } {
  const fast = join(dir, 'a-fast.yaml');
  const slow = join(dir, 'b-slow.yaml');
  writeFileSync(fast, readFileSync('scenarios/6-control-no-race.yaml', 'utf8').replace(/^runs: .*$/m, 'runs: 3'));
  writeFileSync(slow, readFileSync('scenarios/2-normal-migration.yaml', 'utf8').replace(/^runs: .*$/m, 'runs: 1000000'));
  return { fast, slow };
}

/** Wait (polling, no timed assertion) until `ok()` holds or the process ended. */
async function until(ok: () => boolean, running: () => boolean): Promise<void> {
  while (!ok() && running()) await new Promise((r) => setTimeout(r, 50));
}

describe('an interrupted run leaves no stale verdict; a folder in use is refused', () => {
  it('SIGINT after the first report: index.html and JUnit say PARTIAL, the stale lock is taken over; meanwhile a second run is refused', async () => {
    const d = tmp('sigint');
    const { fast, slow } = scenarios(d);
    const reports = join(d, 'reports');
    const junit = join(d, 'junit.xml');
    // An earlier, passing run: its index and JUnit say PASS.
    const earlier = spawnSync(process.execPath, [...BIN, 'run', fast, '--reports', reports, '--junit', junit, '--workers', '1'], { encoding: 'utf8' });
    expect(earlier.status, earlier.stderr).toBe(0);
    expect(readFileSync(join(reports, 'index.html'), 'utf8')).not.toContain('PARTIAL');
    const before = statSync(join(reports, 'control-no-race.html')).mtimeMs;

    const child = spawn(process.execPath, [...BIN, 'run', fast, slow, '--reports', reports, '--junit', junit, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    let exited = false;
    const done = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => ((exited = true), r(signal))));
    // Never left running if this test fails (no timer: a loaded machine is not a failure).
    onTestFinished(() => {
      if (!exited) child.kill('SIGKILL');
    });
    // The run's first report is being written: the earlier verdict is down from here on.
    await until(() => readFileSync(join(reports, 'index.html'), 'utf8').includes('PARTIAL'), () => !exited);
    await until(() => statSync(join(reports, 'control-no-race.html')).mtimeMs !== before, () => !exited);
    expect(exited, err).toBe(false);

    // The folder is in use: a second run into it is refused, before any simulation.
    const second = spawnSync(process.execPath, [...BIN, 'run', fast, '--reports', reports, '--workers', '1'], { encoding: 'utf8' });
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^quotarace: cannot write the reports to .*: another quotarace run is writing there \\(pid ${child.pid}, `));

    // Ctrl-C ends it at once (the default action), whatever the main thread is running.
    child.kill('SIGINT');
    expect(await done).toBe('SIGINT');
    expect(readFileSync(join(reports, 'index.html'), 'utf8')).toContain('<h1>PARTIAL: no verdict</h1>');
    expect(readFileSync(junit, 'utf8')).toMatch(/errors="1"[\s\S]*PARTIAL: the run did not finish/);
    expect(JSON.parse(readFileSync(join(reports, '.quotarace.lock'), 'utf8')).pid).toBe(child.pid); // stale now

    // The next run takes the stale lock over and completes, its verdict replacing PARTIAL.
    const again = spawnSync(process.execPath, [...BIN, 'run', fast, '--reports', reports, '--junit', junit, '--workers', '1'], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    expect(readFileSync(join(reports, 'index.html'), 'utf8')).not.toContain('PARTIAL');
    expect(readFileSync(junit, 'utf8')).toContain('errors="0"');
    expect(existsSync(join(reports, '.quotarace.lock'))).toBe(false);
  });

  it('a run refused before any report (bad input) leaves the earlier verdict as it was', () => {
    const d = tmp('refused');
    const { fast } = scenarios(d);
    const reports = join(d, 'reports');
    expect(spawnSync(process.execPath, [...BIN, 'run', fast, '--reports', reports, '--workers', '1']).status).toBe(0);
    const index = readFileSync(join(reports, 'index.html'), 'utf8');
    const r = spawnSync(process.execPath, [...BIN, 'run', fast, '--reports', reports, '--runs', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(readFileSync(join(reports, 'index.html'), 'utf8')).toBe(index);
    expect(existsSync(join(reports, '.quotarace.lock'))).toBe(false);
  });
});

describe('a standard output that cannot be written', () => {
  it.runIf(existsSync('/dev/full'))('a full one (/dev/full): one line, exit 2, no stack trace', () => {
    for (const argv of [['--help'], ['run', 'scenarios/6-control-no-race.yaml', '--runs', '2', '--workers', '1', '--reports', join(tmp('full'), 'r')]]) {
      const r = spawnSync(`${JSON.stringify(process.execPath)} ${BIN.join(' ')} ${argv.map((a) => JSON.stringify(a)).join(' ')} > /dev/full`, { shell: true, encoding: 'utf8' });
      expect(r.status, argv.join(' ')).toBe(2);
      expect(r.stderr).toBe('quotarace: cannot write the standard output (ENOSPC)\n');
    }
  });

  it('a reader that stops early (| head): no stack trace', () => {
    const r = spawnSync(`${JSON.stringify(process.execPath)} ${BIN.join(' ')} trace scenarios/2-normal-migration.yaml --strategy v1.4.2 --seed 1 | head -c 10`, { shell: true, encoding: 'utf8' });
    expect(r.stdout).toHaveLength(10);
    expect(r.stderr).toBe('');
  });
});
