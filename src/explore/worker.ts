import { parentPort } from 'node:worker_threads';
import { handleJob, type Job } from './jobs.js';

/** A worker thread: runs jobs from the pool, one at a time, and posts their results. */
parentPort!.on('message', (msg: { id: number; job: Job }) => {
  handleJob(msg.job).then(
    (result) => parentPort!.postMessage({ id: msg.id, result }),
    (e: unknown) => parentPort!.postMessage({ id: msg.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
