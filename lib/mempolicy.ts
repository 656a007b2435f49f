// The kernel's memory policy numbers (include/uapi/linux/mempolicy.h): the
// addon's `constants`, copied so that the package loads where the addon cannot
// (test/binding.test.ts compares each copy with the addon's).
import type { NativePolicy } from '../types/binding';

/** Memory policy modes (MPOL_*), as numactl and libnuma name them. */
export type PolicyMode =
  | 'default'
  | 'preferred'
  | 'bind'
  | 'interleave'
  | 'local'
  | 'preferred-many'
  | 'weighted-interleave';

/** The kernel's number for each mode. */
export const POLICY_MODES: Record<PolicyMode, number> = {
  default: 0,
  preferred: 1,
  bind: 2,
  interleave: 3,
  local: 4,
  'preferred-many': 5,
  'weighted-interleave': 6,
};

/** Mode flags, or-ed into the mode. */
export const MPOL_F_STATIC_NODES = 1 << 15;
export const MPOL_F_RELATIVE_NODES = 1 << 14;
export const MPOL_F_NUMA_BALANCING = 1 << 13;

/** mbind / move_pages flags. */
export const MPOL_MF_STRICT = 1 << 0;
export const MPOL_MF_MOVE = 1 << 1;
export const MPOL_MF_MOVE_ALL = 1 << 2;

/** Every mode's name, in the kernel's order. */
export const MODE_NAMES = Object.keys(POLICY_MODES) as PolicyMode[];

/** A checked policy spec in the kernel's numbers. */
export function nativePolicy(fields: { mode: PolicyMode; nodes: number[]; staticNodes: boolean; relativeNodes: boolean }): NativePolicy {
  const flags = (fields.staticNodes ? MPOL_F_STATIC_NODES : 0) | (fields.relativeNodes ? MPOL_F_RELATIVE_NODES : 0);
  return { mode: POLICY_MODES[fields.mode], flags, nodes: fields.nodes };
}
