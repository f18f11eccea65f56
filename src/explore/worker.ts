import { parentPort, workerData } from 'node:worker_threads';
import { attachHeartbeat } from './heartbeat.js';
import { handleJob, type Job } from './jobs.js';

/** A worker thread: runs jobs from the pool, one at a time, and posts their results. */
attachHeartbeat((workerData as { hb: SharedArrayBuffer }).hb);
parentPort!.on('message', (msg: { id: number; job: Job }) => {
  handleJob(msg.job).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }),
    (e: unknown) => {
      let text: string;
      try {
        text = e instanceof Error ? (e.stack ?? e.message) : String(e);
      } catch {
        text = Object.prototype.toString.call(e);
      }
      parentPort!.postMessage({ id: msg.id, error: text });
    },
  );
});
