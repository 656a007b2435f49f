// The commands about where things are and where a command runs, as a user
// runs them: numaplace topology (HMAT figures, tiers, devices) and numaplace
// run. Apart from cli.test.ts so that the HMAT guest runs these alone.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import t from 'tap';
import { nearestMemoryNode, topology } from '../lib/index';
import { formatIdList } from '../lib/cli/format';
import { checkedOnHost, childEnv, memoryNodeIds, numaplace } from './helpers';
import packageJson from '../package.json';

const CLI = path.join(__dirname, '..', packageJson.bin.numaplace);

t.test('numaplace topology: every node, its CPUs and distances; --json is topology()', async (t) => {
  const machine = topology();
  const { stdout, code } = numaplace(['topology']);
  t.equal(code, 0);
  for (const node of machine.nodes) {
    t.match(stdout, new RegExp(`^${node.id}\\s+${formatIdList(node.cpus)}\\s+[\\d.]+ (?:[KMG]i)?B`, 'm'), `node ${node.id} row`);
  }
  t.match(stdout, /distances \(10 = local\):/);
  for (const node of machine.nodes) {
    if (!node.access) continue;
    const { initiators, readLatencyNs, readBandwidthMBps } = node.access;
    t.match(stdout, new RegExp(`^${node.id}\\s+${formatIdList(initiators)}\\s+${readLatencyNs} ns\\s.*\\s${readBandwidthMBps} MB/s`, 'm'), `node ${node.id}: HMAT row`);
  }
  if (!machine.nodes.some((node) => node.access)) t.notMatch(stdout, /HMAT/, 'no HMAT section where the firmware gives none');
  const tiers = machine.memoryTiers.map((tier) => `${tier.id}: nodes ${formatIdList(tier.nodes)}`).join(' · ');
  if (tiers) t.match(stdout, `\nmemory tiers, fastest first: ${tiers}\n`, 'the memory tiers');
  for (const device of machine.devices.filter((candidate) => candidate.kind !== 'other')) {
    t.match(stdout, new RegExp(`^${device.address}\\s+${device.kind}\\s+${device.node ?? '-'}$`, 'm'), `device ${device.address}`);
  }
  const json = JSON.parse(numaplace(['topology', '--json']).stdout);
  t.same(json.nodes.map((node: { id: number; cpus: number[]; distances: object }) => [node.id, node.cpus, node.distances]),
    machine.nodes.map((node) => [node.id, node.cpus, Object.fromEntries(Object.entries(node.distances))]));
  t.same(json.online, machine.online);
});

/** What a command started by numaplace run reads of itself: CPUs, the policy of its mappings, NUMAPLACE_NODE. */
const SELF_REPORT = 'grep ^Cpus_allowed_list /proc/self/status; echo "node=${NUMAPLACE_NODE:-none}"; cut -d" " -f2 /proc/self/numa_maps | sort -u';

t.test('numaplace run: the command on a node, placed as numactl places it, its exit status passed through', async (t) => {
  const machine = topology();
  const allowed = formatIdList(machine.allowedCpus);
  for (const node of machine.nodes) {
    const memory = node.hasMemory ? node.id : nearestMemoryNode(node.id);
    const cpus = node.cpus.length > 0 ? formatIdList(node.cpus) : undefined;
    const placed = numaplace(['run', '--node', String(node.id), '--', 'sh', '-c', `${SELF_REPORT}; exit 3`]);
    t.equal(placed.code, 3, `node ${node.id}: the command's exit status`);
    t.match(placed.stdout, `node=${node.id}\n`, `node ${node.id}: NUMAPLACE_NODE`);
    if (cpus) t.match(placed.stdout, new RegExp(`^Cpus_allowed_list:\\s+${cpus}$`, 'm'), `node ${node.id}: CPUs ${cpus}`);
    t.match(placed.stdout, new RegExp(`\\nbind:${memory}\\n$`), `node ${node.id}: every mapping bound to node ${memory}`);
  }
  // Each half alone, on the last node (under emulation every start of numaplace costs seconds).
  const node = machine.nodes.at(-1)!;
  const memory = node.hasMemory ? node.id : nearestMemoryNode(node.id);
  const cpusOnly = numaplace(['run', '--node', String(node.id), '--cpus-only', '--', 'sh', '-c', SELF_REPORT]);
  t.match(cpusOnly.stdout, /\ndefault\n$/, `node ${node.id} --cpus-only: default memory policy`);
  const memOnly = numaplace(['run', '--node', String(node.id), '--mem-only', '--', 'sh', '-c', SELF_REPORT]);
  t.match(memOnly.stdout, new RegExp(`^Cpus_allowed_list:\\s+${allowed}$`, 'm'), `node ${node.id} --mem-only: every allowed CPU`);
  t.match(memOnly.stdout, new RegExp(`\\nbind:${memory}\\n$`), `node ${node.id} --mem-only: bound to node ${memory}`);
  const memoryNodes = memoryNodeIds();
  const preferred = numaplace(['run', '--preferred', String(memoryNodes.at(-1)), '--', 'sh', '-c', SELF_REPORT]);
  t.match(preferred.stdout, new RegExp(`node=none\\nprefer:${memoryNodes.at(-1)}\\n$`), '--preferred');
  const interleave = numaplace(['run', '--interleave', memoryNodes.join(','), '--', 'sh', '-c', SELF_REPORT]);
  t.match(interleave.stdout, new RegExp(`\\ninterleave:${formatIdList(memoryNodes)}\\n$`), '--interleave');
  t.equal(numaplace(['run', '--node', String(machine.nodes[0].id), '--', 'sh', '-c', 'kill -KILL $$']).code, 128 + 9, 'a signal: 128 + its number');
  const missing = numaplace(['run', '--node', String(machine.nodes[0].id), '--', 'no-such-command-anywhere']);
  t.equal(missing.code, 127, 'a command that is not found: 127');
  t.match(missing.stderr, /cannot run no-such-command-anywhere: ENOENT/);
});

t.test('numaplace run --per-node: a copy per node with CPUs and memory, the first failure its exit status', async (t) => {
  const nodes = topology().nodes.filter((node) => node.hasCpu && node.hasMemory);
  // The copies run side by side: each reports in one line (one write).
  const line = 'echo "$NUMAPLACE_NODE $(grep ^Cpus_allowed_list /proc/self/status | cut -f2) $(cut -d" " -f2 /proc/self/numa_maps | sort -u | tr "\\n" " ")"';
  const each = numaplace(['run', '--per-node', '--', 'sh', '-c', `${line}; exit $((NUMAPLACE_NODE + 4))`]);
  t.equal(each.code, nodes[0].id + 4, 'the first failing copy\'s status');
  t.equal(each.stdout.split('\n').filter(Boolean).length, nodes.length, 'one copy per node');
  for (const node of nodes) {
    t.match(each.stdout, new RegExp(`^${node.id} ${formatIdList(node.cpus)} bind:${node.id} $`, 'm'), `node ${node.id}: its copy, on its CPUs, bound to it`);
  }
  t.equal(numaplace(['run', '--per-node', '--', 'true']).code, 0, 'all succeed: 0');
});

t.test('numaplace run passes SIGTERM on and exits as its command did', async (t) => {
  const script = 'trap "echo terminated; exit 7" TERM; echo ready; while :; do sleep 0.05; done';
  const child = spawn(process.execPath, [CLI, 'run', '--node', String(topology().nodes[0].id), '--', 'sh', '-c', script], { env: childEnv() });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
    if (out === 'ready\n') child.kill('SIGTERM');
  });
  const [code] = await once(child, 'exit');
  t.equal(out, 'ready\nterminated\n', 'the command got the signal');
  t.equal(code, 7, "numaplace exited with the command's status");
});

t.test('numaplace run: placements that mean nothing are usage errors', async (t) => {
  if (checkedOnHost(t, 'argument handling')) return;
  const cases: [string[], RegExp][] = [
    [['run', '--', 'true'], /run needs a placement/],
    [['run', '--node', '0'], /run needs a command/],
    [['run', '--node', '0', '--per-node', '--', 'true'], /either --node or --per-node/],
    [['run', '--preferred', '0', '--interleave', '0', '--', 'true'], /either --preferred or --interleave/],
    [['run', '--cpus-only', '--', 'true'], /go with --node or --per-node/],
    [['run', '--node', '0', '--cpus-only', '--mem-only', '--', 'true'], /leave nothing/],
    [['run', '--node', 'x', '--', 'true'], /--node needs a node id/],
    [['run', '--node', '0', '--json', '--', 'true'], /run has no --json/],
  ];
  for (const [args, message] of cases) {
    const outcome = numaplace(args);
    t.equal(outcome.code, 2, args.join(' '));
    t.match(outcome.stderr, message);
  }
  const offline = numaplace(['run', '--node', '999', '--', 'true']);
  t.equal(offline.code, 1, 'a node that is not online: 1');
  t.match(offline.stderr, /node 999 is not online \(ENODEV\)/);
});
