/**
 * What one kernel step touched, for exhaustive exploration's partial-order reduction
 * (explore/dpor.ts): shared components report the resources a step reads and writes
 * (an API object, an API kind, an informer's cache of a kind, a workqueue's key). Unset
 * outside that search, so the cost elsewhere is one property read.
 */
export interface Footprint {
  read(resource: string): void;
  write(resource: string): void;
  /**
   * A change that commutes with every other such change of the resource (a counter's
   * increment or decrement), though not with reads or writes of it.
   */
  count(resource: string): void;
}
