// numaplace run: a command placed on NUMA nodes as numactl places it, with
// numactl's options; or one copy per node. A single run places this process's
// main thread and becomes the command (lib/cli/exec.ts); --per-node keeps a
// parent (lib/cli/copies.ts).
import { dependentOption, exclusiveOptions, idListOrAllText, integerText, MAX_CPUS, MAX_NODES, operandsText, requiredOption } from '../../checks';
import { type ChildPlacement, NODE_VARIABLE, nodePlacement, placeThread } from '../../children';
import type { PolicySpec } from '../../policy';
import { cpuNode, requireOnlineCpus } from '../../preconditions';
import { allowedCpus, allowedMemoryNodes, memoryNodes, numaNodes } from '../../topology';
import { defineCommand, flag, valued, type Values } from '../command';
import { runCopies } from '../copies';
import { execCommand } from '../exec';

type Ids = number[] | 'all';

const nodeList = (text: string, fn: string, option: string): Ids => idListOrAllText(text, fn, option, MAX_NODES - 1);
const cpuList = (text: string, fn: string, option: string): Ids => idListOrAllText(text, fn, option, MAX_CPUS - 1);
const nodeId = (text: string, fn: string, option: string) => integerText(text, fn, option, 0, MAX_NODES - 1, 'a node id');

const OPTIONS = {
  node: valued('nodes', 'the CPUs of these nodes, memory bound to them (-N and -m in one);\nNUMAPLACE_NODE=N in its environment for a single node', nodeList),
  'per-node': flag('a copy of the command on each node with CPUs and memory, placed as\n--node N, with NUMAPLACE_NODE=N in its environment'),
  'cpus-only': flag('with --node or --per-node: the CPUs only'),
  'mem-only': flag('with --node or --per-node: the memory only'),
  cpunodebind: valued('nodes', 'the CPUs of these nodes', nodeList, 'N'),
  physcpubind: valued('cpus', 'these CPUs', cpuList, 'C'),
  membind: valued('nodes', 'memory from these nodes only', nodeList, 'm'),
  interleave: valued('nodes', 'memory interleaved over these nodes', nodeList, 'i'),
  'weighted-interleave': valued('nodes', "memory interleaved over these nodes by the kernel's weights\n(Linux 6.9+; numaplace topology shows them)", nodeList, 'w'),
  preferred: valued('node', 'memory from this node first, from others when it is full', nodeId, 'p'),
  localalloc: flag('memory from the node of the CPU that allocates it', 'l'),
};

/** What the options asked for, checked for combinations that mean nothing. */
interface RunRequest {
  nodes?: Ids;
  perNode: boolean;
  cpusOnly: boolean;
  memOnly: boolean;
  cpuNodes?: Ids;
  cpus?: Ids;
  memory?: { mode: 'bind' | 'interleave' | 'weighted-interleave' | 'preferred' | 'local'; nodes: Ids };
  command: string;
  args: string[];
}

function memoryRequest(values: Values<typeof OPTIONS>): RunRequest['memory'] {
  if (values.membind) return { mode: 'bind', nodes: values.membind };
  if (values.interleave) return { mode: 'interleave', nodes: values.interleave };
  if (values['weighted-interleave']) return { mode: 'weighted-interleave', nodes: values['weighted-interleave'] };
  if (values.preferred !== undefined) return { mode: 'preferred', nodes: [values.preferred] };
  return values.localalloc ? { mode: 'local', nodes: [] } : undefined;
}

function runRequest(values: Values<typeof OPTIONS>, operands: string[], fn: string): RunRequest {
  const given = Object.keys(values).map((name) => `--${name}`);
  // Where the CPUs come from, and what the memory is: one answer each.
  exclusiveOptions(given, ['--node', '--per-node', '--cpunodebind', '--physcpubind'], fn);
  const memoryOptions = ['--membind', '--interleave', '--weighted-interleave', '--preferred', '--localalloc'];
  exclusiveOptions(given, ['--cpus-only', '--mem-only', ...memoryOptions], fn);
  dependentOption(given, '--cpus-only', ['--node', '--per-node'], fn);
  dependentOption(given, '--mem-only', ['--node', '--per-node'], fn);
  const placements = ['--node', '--per-node', '--cpunodebind', '--physcpubind', ...memoryOptions];
  requiredOption(given, placements, fn, 'run needs a placement');
  const [command, ...args] = operandsText(operands, fn, 1, Infinity, 'a command: numaplace run <placement> [--] <command> [args...]');
  return {
    nodes: values.node,
    perNode: values['per-node'] === true,
    cpusOnly: values['cpus-only'] === true,
    memOnly: values['mem-only'] === true,
    cpuNodes: values.cpunodebind,
    cpus: values.physcpubind,
    memory: memoryRequest(values),
    command,
    args,
  };
}

const union = (lists: number[][]) => [...new Set(lists.flat())].sort((a, b) => a - b);

/** The CPUs and memory of `nodes` together: each node's as spawnOnNode places a child there. */
function nodesPlacement(fn: string, nodes: number[]): ChildPlacement {
  const each = nodes.map((node) => nodePlacement(fn, node));
  return { cpus: union(each.map((one) => one.cpus ?? [])), policy: { mode: 'bind', nodes: union(each.map((one) => one.policy?.nodes ?? [])) } };
}

/** --physcpubind's CPUs (all: those this process may use), or --cpunodebind's nodes' (all: every node with CPUs). */
function cpusAsked(fn: string, { cpus, cpuNodes }: RunRequest): number[] | undefined {
  if (cpus !== undefined) {
    const ids = cpus === 'all' ? allowedCpus(fn) : cpus;
    requireOnlineCpus(fn, ids);
    return ids;
  }
  if (cpuNodes === undefined) return undefined;
  const nodes = numaNodes(fn);
  const ids = cpuNodes === 'all' ? nodes.filter((node) => node.hasCpu).map((node) => node.id) : cpuNodes;
  return union(ids.map((id) => cpuNode(fn, id, nodes).cpus));
}

/** The memory policy asked for; `all`: every node with memory this process may use. */
function policyAsked(fn: string, { memory }: RunRequest): PolicySpec | undefined {
  if (memory === undefined) return undefined;
  if (memory.mode === 'local') return { mode: 'local' };
  const withMemory = memoryNodes(fn);
  return { mode: memory.mode, nodes: memory.nodes === 'all' ? allowedMemoryNodes(fn).filter((node) => withMemory.includes(node)) : memory.nodes };
}

/** The placement of the command (`nodes`: --node's, or one copy's node): the nodes' CPUs and memory, each part replaced or left out as asked. */
function placementFor(fn: string, request: RunRequest, nodes: number[] | undefined): ChildPlacement {
  const onNodes = nodes === undefined ? {} : nodesPlacement(fn, nodes);
  return {
    cpus: request.memOnly ? undefined : (onNodes.cpus ?? cpusAsked(fn, request)),
    policy: request.cpusOnly ? undefined : (policyAsked(fn, request) ?? onNodes.policy),
  };
}

/** Places this (the main) thread and becomes the command; returns only when the exec failed. */
function runPlaced(fn: string, request: RunRequest) {
  const nodes = request.nodes === 'all' ? numaNodes(fn).map((node) => node.id) : request.nodes;
  const placement = placementFor(fn, request, nodes);
  // Node's process.env writes through to the C environment the exec hands on.
  if (nodes?.length === 1) process.env[NODE_VARIABLE] = String(nodes[0]);
  placeThread(fn, placement);
  const failure = execCommand(fn, request.command, request.args);
  return { text: '', error: failure.message, exitCode: failure.status };
}

async function runPerNode(fn: string, request: RunRequest) {
  const nodes = numaNodes(fn).filter((node) => node.hasCpu && node.hasMemory);
  // Every placement checked before the first copy starts: a bad one leaves nothing running.
  const placements = nodes.map(({ id }) => ({ node: id, placement: placementFor(fn, request, [id]) }));
  return { text: '', exitCode: await runCopies(fn, placements, request.command, request.args) };
}

export const runCommand = defineCommand({
  name: 'run',
  summary: 'run a command placed on nodes (numactl), or a copy per node',
  usage: ['run <placement> [--] <command> [args...]'],
  description: `  Starts a command placed on NUMA nodes, as numactl does: numaplace sets its
  own CPUs and memory policy and becomes the command, which keeps its pid,
  terminal, standard input, signals and exit status, and keeps the placement
  through every exec it makes. numactl's options and spellings: a value after
  = or a space, node and CPU lists such as 0,2 or 0-3, or all. Options end at
  the command: numaplace run -N 0 -m 0 ls -l runs ls -l.

  --membind, --interleave, --weighted-interleave, --preferred and --localalloc
  replace the memory part of --node and --per-node. With --per-node numaplace
  stays, as the parent of the copies: it passes the signals a service gets
  (HUP, INT, QUIT, TERM, USR1, USR2, ALRM, WINCH, CONT) on to each copy once
  and exits with the status of the first copy, in node order, that failed
  (128 + the signal's number for a signal); the copies die with it however it
  dies. Each copy runs in a process group of its own, so a terminal's Ctrl-C
  reaches it once, through numaplace; reading the terminal stops a copy
  (SIGTTIN): give the copies their input another way.`,
  options: OPTIONS,
  optionsFirst: true,
  check: runRequest,
  run: (request, { fn }) => (request.perNode ? runPerNode(fn, request) : runPlaced(fn, request)),
});
