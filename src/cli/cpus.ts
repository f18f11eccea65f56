import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { LIMITS } from './io.js';

/** Reads a file's text, or undefined when it cannot be read (tests pass a fake file system). */
export type ReadFile = (path: string) => string | undefined;

const readOrUndefined: ReadFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The whole CPUs a cgroup CPU limit leaves this process (a container's `resources.limits.cpu`),
 * or undefined when there is none or it cannot be read.
 *
 * Mirrors libuv v1.49.0 `uv__get_constrained_cpu` (src/unix/linux.c), which Node 20's libuv
 * (1.46) predates: os.availableParallelism() there counts the node's cores, so a pod limited to
 * 2 CPUs on a 64-core node would start 64 workers and be throttled.
 * - cgroup v2 (/proc/self/cgroup is `0::/PATH`): `cpu.max` is `max PERIOD` or `QUOTA PERIOD`,
 *   read from /sys/fs/cgroup/PATH up to /sys/fs/cgroup; the kernel enforces the tightest
 *   level, so the smallest limit wins. Inside a container with its own cgroup namespace PATH is
 *   `/` and the container's limit is /sys/fs/cgroup/cpu.max.
 * - cgroup v1 (a line `N:...cpu...:PATH`): `cpu.cfs_quota_us` (-1: none) over
 *   `cpu.cfs_period_us` under the cpu controller's mount, walked up the same way. Without a
 *   cgroup namespace PATH is the host's and only the mount's root exists in the container:
 *   the walk reaches it. (libuv reads the v1 path after ":cpu," verbatim; this takes the
 *   controller list apart instead.)
 * Unlike libuv, a limit below one CPU counts as 1, not as no limit.
 */
export function cgroupCpuLimit(read: ReadFile = readOrUndefined, mount = '/sys/fs/cgroup'): number | undefined {
  const self = read('/proc/self/cgroup');
  if (self === undefined) return undefined;
  const lines = self.split('\n');
  if (lines[0]?.startsWith('0::/')) {
    return tightest(mount, lines[0].slice(3), (dir) => {
      const [quota, period] = (read(`${dir}/cpu.max`) ?? '').trim().split(/\s+/);
      return cpus(quota, period);
    });
  }
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (path === undefined || !controllers!.split(',').includes('cpu')) continue;
    for (const dir of [`${mount}/cpu`, `${mount}/${controllers}`]) {
      if (read(`${dir}/cpu.cfs_period_us`) === undefined) continue;
      return tightest(dir, path, (d) => cpus(read(`${d}/cpu.cfs_quota_us`)?.trim(), read(`${d}/cpu.cfs_period_us`)?.trim()));
    }
  }
  return undefined;
}

/** QUOTA/PERIOD microseconds as whole CPUs (at least 1), or undefined for none ("max", -1, unreadable). */
function cpus(quota: string | undefined, period: string | undefined): number | undefined {
  if (!quota || !period || !/^\d+$/.test(quota) || !/^\d+$/.test(period) || Number(period) === 0) return undefined;
  return Math.max(1, Math.floor(Number(quota) / Number(period)));
}

/** The smallest limit from `mount + path` up to `mount`. */
function tightest(mount: string, path: string, limitAt: (dir: string) => number | undefined): number | undefined {
  let best: number | undefined;
  const parts = path.split('/').filter(Boolean);
  for (let n = parts.length; n >= 0; n--) {
    const dir = [mount, ...parts.slice(0, n)].join('/');
    const limit = limitAt(dir);
    if (limit !== undefined && (best === undefined || limit < best)) best = limit;
  }
  return best;
}

/** `--workers` when not given: the cores this process may use, within a container's CPU limit. */
export function defaultWorkers(): number {
  return Math.min(LIMITS.workers, availableParallelism(), cgroupCpuLimit() ?? Number.POSITIVE_INFINITY);
}
