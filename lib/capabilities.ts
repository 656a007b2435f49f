import { release } from 'node:os';
import { native, unavailableReason } from './binding';
import { POLICY_MODES, type PolicyMode } from './mempolicy';
import { memoryNodes, readKernelFile, topology } from './topology';

export interface Support {
  /** Whether it works here. */
  supported: boolean;
  /** Why not, and what would make it work. */
  reason?: string;
}

export interface Capabilities {
  /** Whether numaplace works here at all: Linux, the native addon loaded, NUMA calls answered. */
  supported: boolean;
  /** Why not. */
  reason?: string;
  /** The kernel release (uname -r). */
  kernel: string;
  /** Each policy mode, probed by applying it to a scratch page. */
  modes: Record<PolicyMode, Support>;
  /** set_mempolicy_home_node (Linux 5.17+). */
  homeNode: Support;
  /** MPOL_MF_MOVE_ALL and moving other users' processes: CAP_SYS_NICE. */
  moveAll: Support;
  /** Nodes the cpuset lets this process allocate on (Mems_allowed_list). */
  memsAllowed: number[];
}

const MODE_MINIMUM_KERNEL: Partial<Record<PolicyMode, string>> = {
  'preferred-many': '5.15',
  'weighted-interleave': '6.9',
};
const CAP_SYS_NICE = 23n;

function probe(attempt: () => void, reason: string): Support {
  try {
    attempt();
    return { supported: true };
  } catch {
    return { supported: false, reason };
  }
}

function hasCapability(bit: bigint): boolean {
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(readKernelFile('capabilities', '/proc/self/status'));
  return match !== null && ((BigInt(`0x${match[1]}`) >> bit) & 1n) === 1n;
}

let cached: Capabilities | undefined;

function unsupported(reason: string): Capabilities {
  const no: Support = { supported: false, reason };
  const modes = Object.fromEntries(Object.keys(POLICY_MODES).map((mode) => [mode, no])) as Record<PolicyMode, Support>;
  return { supported: false, reason, kernel: release(), modes, homeNode: no, moveAll: no, memsAllowed: [] };
}

/**
 * What this kernel and process allow; probed once, then cached.
 *
 * @throws Nothing: where numaplace cannot work, `supported` is false and `reason` says why.
 *
 * @example
 * if (!capabilities().supported) console.warn(capabilities().reason);
 */
export function capabilities(): Capabilities {
  if (cached) return cached;
  if (unavailableReason) return (cached = unsupported(`the native addon did not load: ${unavailableReason}`));
  try {
    native.threadPolicy();
  } catch {
    return (cached = unsupported(`the kernel (${release()}) answers no NUMA memory policy calls (built without CONFIG_NUMA?)`));
  }
  const node = memoryNodes()[0] ?? 0;
  const page = native.pageSize;
  const scratch = (mode: number, nodes: number[]) => native.allocate(page, { mode, flags: 0, nodes }, 'system', true);
  const modes = {} as Record<PolicyMode, Support>;
  for (const [mode, number] of Object.entries(POLICY_MODES) as [PolicyMode, number][]) {
    const nodes = mode === 'default' || mode === 'local' ? [] : [node];
    const minimum = MODE_MINIMUM_KERNEL[mode];
    modes[mode] = probe(
      () => scratch(number, nodes),
      `the kernel (${release()}) rejects it${minimum ? `: it needs Linux ${minimum}+` : ''}`,
    );
  }
  const homeNode = probe(
    () => native.setHomeNode(new Uint8Array(scratch(POLICY_MODES.bind, [node])), node),
    `set_mempolicy_home_node needs Linux 5.17+ (this is ${release()})`,
  );
  cached = {
    supported: true,
    kernel: release(),
    modes,
    homeNode,
    moveAll: hasCapability(CAP_SYS_NICE)
      ? { supported: true }
      : { supported: false, reason: 'needs CAP_SYS_NICE (run as root or grant the capability)' },
    memsAllowed: topology().allowedMems,
  };
  return cached;
}
