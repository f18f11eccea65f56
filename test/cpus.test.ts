import { describe, expect, it } from 'vitest';
import { cgroupCpuLimit, type ReadFile } from '../src/cli/cpus.js';

/**
 * `--workers` defaults to the CPUs a container may use: its cgroup CPU limit, as Kubernetes
 * writes `resources.limits.cpu` (cpu.max under cgroup v2, cfs_quota_us/cfs_period_us under
 * v1). Each case is a fake file system laid out as the kernel shows it inside a pod.
 */
const fs = (files: Record<string, string>): ReadFile => (path) => files[path];

describe('cgroupCpuLimit', () => {
  it('cgroup v2 in a pod (its own cgroup namespace): cpu.max QUOTA PERIOD at the root, in whole CPUs', () => {
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000\n' }))).toBe(2);
    // 2.5 CPUs run 2 workers without throttling; below one CPU still runs one.
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '250000 100000\n' }))).toBe(2);
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '50000 100000\n' }))).toBe(1);
  });

  it('cgroup v2 without a limit, or unreadable: none', () => {
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/\n' }))).toBeUndefined();
    expect(cgroupCpuLimit(fs({}))).toBeUndefined();
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'garbage\n' }))).toBeUndefined();
  });

  it('cgroup v2 seen from the host: the tightest level on the way up wins', () => {
    const path = '/kubepods.slice/kubepods-burstable.slice/pod1.slice/cri-abc.scope';
    const files = {
      '/proc/self/cgroup': `0::${path}\n`,
      '/sys/fs/cgroup/kubepods.slice/cpu.max': '1600000 100000',
      '/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/pod1.slice/cpu.max': '300000 100000',
      [`/sys/fs/cgroup${path}/cpu.max`]: 'max 100000',
    };
    expect(cgroupCpuLimit(fs(files))).toBe(3);
  });

  it('cgroup v1 in a container: the cpu controller mount shows the container cgroup at its root', () => {
    const self = '12:pids:/kubepods/pod1/abc\n4:cpu,cpuacct:/kubepods/pod1/abc\n1:name=systemd:/kubepods/pod1/abc\n0::/\n';
    const at = (dir: string, quota: string) => ({ [`${dir}/cpu.cfs_quota_us`]: `${quota}\n`, [`${dir}/cpu.cfs_period_us`]: '100000\n' });
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': self, ...at('/sys/fs/cgroup/cpu,cpuacct', '400000') }))).toBe(4);
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': self, ...at('/sys/fs/cgroup/cpu', '150000') }))).toBe(1);
    // -1: no quota.
    expect(cgroupCpuLimit(fs({ '/proc/self/cgroup': self, ...at('/sys/fs/cgroup/cpu', '-1') }))).toBeUndefined();
  });

  it('a hybrid host (v1 controllers, an empty v2 line last) reads v1', () => {
    const self = '2:cpuacct:/\n1:cpu:/\n0::/\n';
    expect(
      cgroupCpuLimit(fs({ '/proc/self/cgroup': self, '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '300000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000', '/sys/fs/cgroup/cpu.max': '100000 100000' })),
    ).toBe(3);
  });
});
