// numaplace show (numactl --show): the memory policy and CPUs this process
// runs with, which it inherited from whatever started it.
import { threadAffinity } from '../../affinity';
import { threadPolicy } from '../../policy';
import { allowedMemoryNodes, memoryNodes, numaNodes } from '../../topology';
import { defineCommand, JSON_OPTION, jsonOnly } from '../command';
import { toJson } from '../format';

interface Shown {
  policy: string;
  /** numactl's "preferred node": the node memory comes from first; 'current' for the node of the CPU that allocates. */
  preferredNode: number | 'current';
  /** The nodes of an interleave policy. */
  interleaveMask?: number[];
  physcpubind: number[];
  /** The nodes of those CPUs (numactl prints them as cpubind and as nodebind). */
  nodebind: number[];
  /** The nodes memory may come from: a bind policy's, else every node with memory this process may use. */
  membind: number[];
  /** The nodes the policy names. */
  preferred: number[];
}

function shown(fn: string): Shown {
  const policy = threadPolicy();
  const cpus = threadAffinity();
  const withMemory = memoryNodes(fn);
  const bound = policy.mode === 'bind' || policy.mode === 'preferred-many';
  const interleaved = policy.mode === 'interleave' || policy.mode === 'weighted-interleave';
  return {
    policy: policy.mode,
    preferredNode: policy.nodes.length > 0 ? policy.nodes[0] : 'current',
    ...(interleaved ? { interleaveMask: policy.nodes } : {}),
    physcpubind: cpus,
    nodebind: numaNodes(fn).filter((node) => node.cpus.some((cpu) => cpus.includes(cpu))).map((node) => node.id),
    membind: bound ? policy.nodes : allowedMemoryNodes(fn).filter((node) => withMemory.includes(node)),
    preferred: policy.nodes,
  };
}

/** numactl's lines: "name: " then each id followed by a space. */
function formatShown(show: Shown): string {
  const mask = (name: string, ids: number[]) => `${name}: ${ids.map((id) => `${id} `).join('')}`;
  const interleave = show.interleaveMask ? ' (interleave)' : '';
  return [
    `policy: ${show.policy}`,
    `preferred node: ${show.preferredNode}${interleave}`,
    ...(show.interleaveMask ? [mask('interleavemask', show.interleaveMask)] : []),
    mask('physcpubind', show.physcpubind),
    mask('cpubind', show.nodebind),
    mask('nodebind', show.nodebind),
    mask('membind', show.membind),
    mask('preferred', show.preferred),
  ].join('\n');
}

export const showCommand = defineCommand({
  name: 'show',
  aliases: ['--show', '-s'],
  summary: "this process's memory policy and CPUs (numactl --show)",
  usage: ['show [--json]'],
  description: `  The memory policy and CPUs numaplace runs with, inherited from what started
  it (numaplace run -m 0 -- numaplace --show shows bind to node 0), in
  numactl --show's lines: policy, preferred node, physcpubind, cpubind,
  nodebind, membind, preferred. For an interleave policy, numactl names the
  node the next page goes to; numaplace names the first node of the policy.
  numaplace --show and -s, numactl's spellings, are this command.`,
  options: { ...JSON_OPTION },
  check: jsonOnly,
  run: (json, { fn }) => {
    const show = shown(fn);
    return { text: json ? toJson(show) : formatShown(show) };
  },
});
