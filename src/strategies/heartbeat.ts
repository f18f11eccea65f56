/**
 * A sandboxed worker's pulse, shared with the main thread's watchdog through a
 * SharedArrayBuffer: a counter bumped after every kernel step of an untrusted strategy's
 * run, the index of the run within the job and the kernel step. The main thread reads it
 * to tell a slow run (the counter moves) from a stuck one (it does not), and to name the
 * run and step of a worker it had to stop. Outside a sandbox it is a no-op.
 *
 * The module shares the worker's isolate: it can import this file by its path and beat, or
 * write the buffer. So the heartbeat is believed only for a quick verdict on an honest stall
 * and for naming where; the job's wall-time limit (pool.ts) is counted by the main thread
 * from the job alone, and bounds a module that forges progress.
 */
export const HB_BEAT = 0;
export const HB_RUN = 1;
export const HB_STEP = 2;
export const HB_SLOTS = 4;

let hb: Int32Array | undefined;

export function attachHeartbeat(buffer: SharedArrayBuffer): void {
  hb = new Int32Array(buffer);
}

/** A step was made (the kernel's step count). */
export function beat(step: number): void {
  if (!hb) return;
  hb[HB_BEAT] = (hb[HB_BEAT]! + 1) | 0;
  hb[HB_STEP] = step | 0;
}

/** The job moved on to its run number `index` (0-based), or -1 when not in a run. */
export function beatRun(index: number): void {
  if (!hb) return;
  hb[HB_BEAT] = (hb[HB_BEAT]! + 1) | 0;
  hb[HB_RUN] = index | 0;
  hb[HB_STEP] = 0;
}

export function heartbeatActive(): boolean {
  return hb !== undefined;
}
