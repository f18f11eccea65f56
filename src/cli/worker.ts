import { parentPort, workerData } from 'node:worker_threads';
import { attachHeartbeat } from '../strategies/heartbeat.js';
import { snapshotBuiltins } from '../explore/intact.js';
import { freshInstances, registerBundle } from '../strategies/loader.js';
import { handleJob } from '../explore/handle-job.js';
import type { CommandJob, CommandResult, Job } from '../explore/jobs.js';

/**
 * A worker thread: runs jobs from the pool, one at a time, and posts their results. A
 * sandboxed one (it will load a strategy module) takes what it needs before any module
 * runs: the heartbeat, out of workerData where a module would look for it; a snapshot of the
 * built-ins, to tell the pool when a module changed them; and its own references to the
 * functions that post the answer, which a module's patches of prototypes cannot reach.
 * Each job then loads fresh instances of the module: nothing a job leaves in it reaches the next.
 */
const data = workerData as { hb?: SharedArrayBuffer; sandboxed?: boolean; command?: boolean };
if (data.hb) attachHeartbeat(data.hb);
delete data.hb;
// A whole command loads the CLI and the report code, some of which adds to the built-ins
// (vega-lite defines Set.prototype.toJSON): loaded before the snapshot, it is not the module's doing.
if (data.command) await import('./main.js');
const changed = data.sandboxed ? snapshotBuiltins() : undefined;
const port = parentPort!;
const post = port.postMessage.bind(port);
const then = Promise.prototype.then;
const apply = Reflect.apply;

function describe(e: unknown, sandboxed: boolean): string {
  try {
    // A trusted job's error is a bug of ours: its stack helps. A module's is one line, in its fault.
    return e instanceof Error ? String((!sandboxed && e.stack) || e.message) : String(e);
  } catch {
    return Object.prototype.toString.call(e);
  }
}

/** A whole command (trace, replay) of a user strategy: the CLI, run in this sandboxed worker. */
async function runCommand(job: CommandJob): Promise<CommandResult> {
  const { main } = await import('./main.js');
  for (const [path, file] of job.bundles) registerBundle(path, file);
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(job.argv, { out: (t) => out.push(t.endsWith('\n') ? t : t + '\n'), err: (t) => err.push(t.endsWith('\n') ? t : t + '\n') });
  return { code, out: out.join(''), err: err.join('') };
}

// Loaded and waiting: the pool starts a job's watchdog from here.
post({ ready: true });
port.on('message', (msg: { id: number; job: Job }) => {
  if (data.sandboxed) freshInstances();
  const answer = (ok: { result: unknown } | { error: string }): void => {
    let tampered: string | undefined;
    try {
      tampered = changed?.();
    } catch (e) {
      tampered = `the check itself threw: ${describe(e, true)}`;
    }
    post(tampered === undefined ? { id: msg.id, ...ok } : { id: msg.id, tampered });
  };
  apply(then, msg.job.type === 'command' ? runCommand(msg.job) : handleJob(msg.job), [(result: unknown) => answer({ result }), (e: unknown) => answer({ error: describe(e, data.sandboxed === true) })]);
});
