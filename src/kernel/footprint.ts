/**
 * What one kernel step touched, for exhaustive exploration's partial-order reduction
 * (explore/sleep.ts): shared components report the resources a step reads and writes
 * (an API object, an API kind, an informer's cache of a kind, a workqueue). Unset outside
 * that search, so the cost elsewhere is one property read.
 */
export interface Footprint {
  read(resource: string): void;
  write(resource: string): void;
}
