import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { handleJob, type Job } from './jobs.js';

/**
 * Runs jobs on worker threads and returns their results in job order, so that the
 * number of workers never changes the output. With one worker, jobs run inline.
 */
export class WorkerPool {
  private workers: Worker[] = [];

  constructor(readonly size: number) {}

  private workerUrl(): URL {
    const here = new URL('./worker.js', import.meta.url);
    if (existsSync(fileURLToPath(here))) return here;
    // Running from TypeScript sources (tests): use the build.
    return new URL('../../dist/explore/worker.js', import.meta.url);
  }

  async run<T>(jobs: readonly Job[], progress?: (done: number, total: number) => void): Promise<T[]> {
    let done = 0;
    const tick = (): void => progress?.(++done, jobs.length);
    if (this.size <= 1 || jobs.length <= 1) {
      const out: T[] = [];
      for (const j of jobs) {
        out.push((await handleJob(j)) as T);
        tick();
      }
      return out;
    }
    while (this.workers.length < Math.min(this.size, jobs.length)) this.workers.push(new Worker(this.workerUrl()));
    const results: T[] = new Array(jobs.length);
    let next = 0;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = (): void => {
              if (next >= jobs.length) {
                w.off('message', onMessage);
                w.off('error', reject);
                resolve();
                return;
              }
              const id = next++;
              w.postMessage({ id, job: jobs[id] });
            };
            const onMessage = (msg: { id: number; result?: T; error?: string }): void => {
              if (msg.error !== undefined) {
                w.off('message', onMessage);
                reject(new Error(msg.error));
                return;
              }
              results[msg.id] = msg.result as T;
              tick();
              feed();
            };
            w.on('message', onMessage);
            w.on('error', reject);
            feed();
          }),
      ),
    );
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
