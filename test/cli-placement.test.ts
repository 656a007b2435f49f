// The commands about where things are and where a command runs, as a user
// runs them: numaplace topology (HMAT figures, tiers, devices) and numaplace
// run. Apart from cli.test.ts so that the HMAT guest runs these alone.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { capabilities, interleaveWeights, nearestMemoryNode, threadAffinity, threadPolicy, topology } from '../lib/index';
import { formatIdList } from '../lib/cli/format';
import { checkedOnHost, childEnv, memoryNodeIds, numaplace } from './helpers';
import packageJson from '../package.json';

const CLI = path.join(__dirname, '..', packageJson.bin.numaplace);

/**
 * Spawn arguments for the CLI without tap's process tracking, which tap adds
 * to every child's NODE_OPTIONS and which opens standard output and error
 * (setting O_NONBLOCK) before numaplace runs: env(1) drops it, then execs node.
 */
function bare(args: string[]): [string, string[], { env: NodeJS.ProcessEnv }] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, CLI, ...args], { env: childEnv() }];
}

t.test('numaplace topology: every node, its CPUs and distances; --json is topology()', async (t) => {
  const machine = topology();
  // numactl's spelling, --hardware, is the topology command.
  const { stdout, code } = numaplace(['--hardware']);
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
  const weights = interleaveWeights();
  const weightLine = weights === null ? 'none (needs Linux 6.9+)' : Object.entries(weights.weights).map(([node, weight]) => `node ${node}: ${weight}`).join(' · ');
  t.match(stdout, `\nweighted interleave weights: ${weightLine}`, "the kernel's weighted-interleave weights");
  const json = JSON.parse(numaplace(['-H', '--json']).stdout);
  t.same(json.interleaveWeights, weights, '--json: interleaveWeights()');
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
  t.equal(numaplace(['run', '--node', String(machine.nodes[0].id), '--', 'sh', '-c', 'kill -KILL $$']).signal, 'SIGKILL', 'a signal ends it as it ends the command: it is the command');
  const missing = numaplace(['run', '--node', String(machine.nodes[0].id), '--', 'no-such-command-anywhere']);
  t.equal(missing.code, 127, 'a command that is not found: 127');
  t.equal(missing.stderr, 'numaplace run: execvp failed running no-such-command-anywhere: ENOENT (no such file or directory)\n');
});

t.test("numaplace run: numactl's spellings, read back from the command's /proc", async (t) => {
  const machine = topology();
  const withCpus = machine.nodes.filter((node) => node.hasCpu);
  const cpuNode = withCpus.at(-1)!;
  const memoryNodes = memoryNodeIds();
  const memory = memoryNodes[0];
  // Options end at the command, as numactl's getopt "+" has it: -m 1 is the command's.
  const short = numaplace(['run', '-N', String(cpuNode.id), `-m${memory}`, 'sh', '-c', `${SELF_REPORT}; echo "$@"`, 'sh', '-m', '1']);
  t.equal(short.code, 0, short.stderr);
  t.match(short.stdout, new RegExp(`^Cpus_allowed_list:\\s+${formatIdList(cpuNode.cpus)}$`, 'm'), `-N ${cpuNode.id}: its CPUs`);
  t.match(short.stdout, new RegExp(`\\nbind:${memory}\\n-m 1\\n$`), `-m ${memory}: bound; -m 1 left to the command`);
  const cpu = cpuNode.cpus.at(-1)!;
  const long = numaplace(['run', `--membind=${memory}`, `--physcpubind=${cpu}`, '--', 'sh', '-c', SELF_REPORT]);
  t.match(long.stdout, new RegExp(`^Cpus_allowed_list:\\s+${cpu}\\nnode=none\\nbind:${memory}\\n$`), `--membind=${memory} --physcpubind=${cpu}`);
  const together = numaplace(['run', '--node', memoryNodes.join(','), '--', 'sh', '-c', SELF_REPORT]);
  t.match(together.stdout, new RegExp(`\\nbind:${formatIdList(memoryNodes)}\\n$`), `--node ${memoryNodes.join(',')}: bound to them all`);
  const all = numaplace(['run', '-i', 'all', '-C', 'all', 'sh', '-c', SELF_REPORT]);
  t.match(all.stdout, new RegExp(`^Cpus_allowed_list:\\s+${formatIdList(machine.allowedCpus)}\\n.*\\ninterleave:${formatIdList(memoryNodes)}\\n$`, 's'), '-i all -C all');
  const local = numaplace(['run', '--localalloc', '--', 'sh', '-c', SELF_REPORT]);
  t.match(local.stdout, /\nlocal\n$/, '--localalloc');
  // numa_maps spells this mode with a space: the policy is the second and third fields.
  const weighted = numaplace(['run', '-w', memoryNodes.join(','), 'sh', '-c', 'cut -d" " -f2,3 /proc/self/numa_maps | sort -u']);
  if (capabilities().modes['weighted-interleave'].supported) {
    t.equal(weighted.stdout, `weighted interleave:${formatIdList(memoryNodes)}\n`, '-w: every mapping weighted-interleaved (Linux 6.9+)');
  } else {
    t.equal(weighted.code, 1, '-w before Linux 6.9: the operation failed');
    t.match(weighted.stderr, /^numaplace run: policy mode 'weighted-interleave' is not supported here: .*needs Linux 6\.9\+ \(ENOTSUP\)/);
  }
});

t.test('numaplace --show: this process, as numactl --show prints it', async (t) => {
  const memory = memoryNodeIds().at(-1)!;
  const cpuNode = topology().nodes.filter((node) => node.hasCpu)[0];
  const cpu = cpuNode.cpus[0];
  const shown = numaplace(['run', '-m', String(memory), '-C', String(cpu), process.execPath, CLI, '--show']);
  t.equal(shown.code, 0, shown.stderr);
  const bound = `policy: bind\npreferred node: ${memory}\nphyscpubind: ${cpu} \ncpubind: ${cpuNode.id} \nnodebind: ${cpuNode.id} \nmembind: ${memory} \npreferred: ${memory} \n`;
  t.equal(shown.stdout, bound, 'the placement numaplace run gave it');
  // Unplaced, it inherits this test's main thread.
  const own = JSON.parse(numaplace(['-s', '--json']).stdout);
  const policy = threadPolicy();
  t.match(own, { policy: policy.mode, physcpubind: threadAffinity(), preferred: policy.nodes });
  if (spawnSync('numactl', ['--show']).status !== 0) return;
  for (const placement of [[], ['-m', String(memory), '-C', String(cpu)], ['-p', String(memory)]]) {
    const numactl = spawnSync('numactl', [...placement, 'numactl', '--show'], { encoding: 'utf8' });
    const ours = spawnSync('numactl', [...placement, process.execPath, CLI, '--show'], { encoding: 'utf8', env: childEnv() });
    t.equal(ours.stdout, numactl.stdout, `as numactl --show prints it, under numactl ${placement.join(' ')}`);
  }
});

t.test('numaplace run is the command: its pid, descriptors and signal state', async (t) => {
  if (checkedOnHost(t, 'what numaplace run hands on')) return;
  const report = 'echo $$; for fd in 0 1 2; do grep ^flags: /proc/self/fdinfo/$fd; done; grep -E "^Sig(Blk|Ign):" /proc/self/status';
  const node = String(topology().nodes[0].id);
  const child = spawn(...bare(['run', '--node', node, '--', 'sh', '-c', report]));
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const [code] = await once(child, 'exit');
  t.equal(code, 0);
  const direct = spawnSync('sh', ['-c', report], { encoding: 'utf8', env: childEnv() }).stdout;
  t.equal(out.split('\n')[0], String(child.pid), "the command has numaplace's pid");
  t.same(out.split('\n').slice(1), direct.split('\n').slice(1), 'its descriptors and signals as a command started without numaplace has them');
  // Standard input closed: Node.js has /dev/null there, the command does not.
  const closedIn = (command: string[]) => spawnSync('sh', ['-c', 'exec 0<&-; exec "$@"', 'sh', ...command], { encoding: 'utf8', env: childEnv() });
  const withNumaplace = closedIn([process.execPath, CLI, 'run', '--node', node, '--', 'sh', '-c', 'cat; echo $?']);
  const without = closedIn(['sh', '-c', 'cat; echo $?']);
  t.same([withNumaplace.stdout, withNumaplace.stderr], [without.stdout, without.stderr], 'stdin closed, as it is without numaplace');
  t.match(without.stderr, /Bad file descriptor/);
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
  const missing = numaplace(['run', '--per-node', '--', 'no-such-command-anywhere']);
  t.equal(missing.code, 127, 'a command not found: 127, as from each copy');
  t.equal(missing.stderr, 'numaplace run: execvp failed running no-such-command-anywhere: ENOENT (no such file or directory)\n'.repeat(nodes.length));
});

t.test('numaplace run passes SIGTERM on and exits as its command did', async (t) => {
  const script = 'trap "echo terminated; exit 7" TERM; echo ready; while :; do sleep 0.05; done';
  const child = spawn(process.execPath, [CLI, 'run', '--node', String(topology().nodes[0].id), '--', 'sh', '-c', script], { env: childEnv() });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
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
    [['run', '--', 'true'], /run needs a placement: give --node, --per-node, /],
    [['run', '--node', '0'], /expected a command: .* but received none/],
    [['run', '--node', '0', '--per-node', '--', 'true'], /--node and --per-node do not go together/],
    [['run', '--preferred', '0', '--interleave', '0', '--', 'true'], /--interleave and --preferred do not go together/],
    [['run', '-N', '0', '-C', '0', 'true'], /--cpunodebind and --physcpubind do not go together/],
    [['run', '--cpus-only', '--', 'true'], /--cpus-only goes with --node or --per-node/],
    [['run', '--node', '0', '--cpus-only', '--mem-only', '--', 'true'], /--cpus-only and --mem-only do not go together/],
    [['run', '--node', 'x', '--', 'true'], /for `--node` but received string "x"/],
    [['run', '--node', '-1', '--', 'true'], /for `--node` but received string "-1"/],
    [['run', '--node', '99999999999999999999', 'true'], /for `--node` but received string "99999999999999999999"/],
    [['run', '-p', '1.5', 'true'], /expected a node id from 0 to 1023 for `-p` but received string "1.5"/],
    [['run', '--interleave', '0-4294967295', 'true'], /for `--interleave` but received string "0-4294967295"/],
    [['run', '--physcpubind=3-1', 'true'], /the range 3-1 runs backwards/],
    [['run', '--node'], /--node needs a value: --node <nodes>/],
    [['run', '--per-node=1', 'true'], /--per-node takes no value \(received "1"\)/],
    [['run', '--membnd=0', 'true'], /unknown option --membnd \(did you mean --membind\?\)/],
    [['run', '-x', 'true'], /unknown option -x; it takes -N, -C, -m, -i, -w, -p, -l, -h/],
    [['run', '--node', '0', '--json', '--', 'true'], /unknown option --json/],
  ];
  for (const [args, message] of cases) {
    const outcome = numaplace(args);
    t.equal(outcome.code, 2, args.join(' '));
    t.match(outcome.stderr, /^numaplace run: [^\n]+\nSee numaplace help run\.\n$/, 'said once');
    t.match(outcome.stderr, message);
  }
  const offline = numaplace(['run', '--node', '999', '--', 'true']);
  t.equal(offline.code, 1, 'a node that is not online: 1');
  t.match(offline.stderr, /node 999 is not online \(ENODEV\)/);
});

/** The lines a child prints, as they come, and a wait for some that match. */
function printedLines(child: ChildProcess) {
  const seen: string[] = [];
  let partial = '';
  let closed = false;
  let wake = () => {};
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop()!;
    seen.push(...parts);
    wake();
  });
  child.on('close', () => {
    closed = true;
    wake();
  });
  const count = (pattern: RegExp) => seen.filter((line) => pattern.test(line)).length;
  return {
    seen,
    count,
    async waitFor(pattern: RegExp, lines: number) {
      while (count(pattern) < lines) {
        if (closed) throw new Error(`the output ended before ${lines} lines matched ${pattern}: ${seen.join(' | ')}`);
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, …]; undefined once the process is gone. */
function processStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Resolves once process `pid` (started at `startTime`) is in a state that `done` accepts, or gone when `done` accepts undefined. */
async function stateOf(pid: number, startTime: string, done: (state: string | undefined) => boolean): Promise<void> {
  for (;;) {
    const stat = processStat(pid);
    // Field 22 of the whole line: a pid reused by another process is the first one gone.
    const state = stat && stat[19] === startTime ? stat[0] : undefined;
    if (done(state)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** TCP ports process `pid` listens on (its sockets' inodes in /proc/net/tcp and tcp6, state 0A). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]));
  return ['/proc/net/tcp', '/proc/net/tcp6']
    .filter((table) => existsSync(table))
    .flatMap((table) => readFileSync(table, 'utf8').trim().split('\n').slice(1))
    .map((row) => row.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && inodes.has(fields[9]))
    .map((fields) => parseInt(fields[1].split(':')[1], 16));
}

/**
 * numaplace run --per-node as a terminal's job: a process group of its own
 * (which a terminal signals whole). Each copy runs `setup`, says it is ready
 * with its pid, then runs `body`.
 */
async function perNodeJob(t: Test, setup: string, body: string) {
  const nodes = topology().nodes.filter((node) => node.hasCpu && node.hasMemory);
  const [command, args, options] = bare(['run', '--per-node', '--', 'sh', '-c', `${setup} echo "$NUMAPLACE_NODE ready $$"; ${body}`]);
  const parent = spawn(command, args, { ...options, detached: true });
  t.teardown(() => parent.kill('SIGKILL'));
  const output = printedLines(parent);
  await output.waitFor(/^\d+ ready \d+$/, nodes.length);
  const copies = output.seen.map((line) => /^\d+ ready (\d+)$/.exec(line)?.[1]).filter((pid) => pid !== undefined).map(Number);
  const started = copies.map((pid) => ({ pid, startTime: processStat(pid)![19] }));
  // Each copy is its own process group, with what it started: all of it ends with the test.
  t.teardown(() => {
    for (const { pid, startTime } of started) {
      if (processStat(pid)?.[19] !== startTime) continue;
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // Not a process group (when that is what failed), or gone meanwhile.
        }
      }
    }
  });
  return { nodes, parent, output, started };
}

// Says what it gets: INT and USR1, and TERM, which ends it with 7. A trap
// interrupts `wait`, and kills the sleep so that none outlives the copy.
const SAY_SIGNALS =
  'for signal in INT USR1; do trap "echo \\"$NUMAPLACE_NODE $signal\\"; kill \\$! 2>/dev/null" $signal; done; ' +
  'trap \'echo "$NUMAPLACE_NODE TERM"; kill $! 2>/dev/null; exit 7\' TERM;';

t.test('numaplace run --per-node: each signal reaches each copy once; SIGUSR1 opens no inspector', async (t) => {
  const { nodes, parent, output, started } = await perNodeJob(t, SAY_SIGNALS, 'while :; do sleep 5 & wait $!; done');
  for (const { pid } of started) t.equal(processStat(pid)![2], String(pid), `copy ${pid}: a process group of its own`);
  // A terminal's Ctrl-C: SIGINT to the whole foreground group, which holds numaplace only.
  process.kill(-parent.pid!, 'SIGINT');
  await output.waitFor(/^\d+ INT$/, nodes.length);
  process.kill(parent.pid!, 'SIGUSR1');
  await output.waitFor(/^\d+ USR1$/, nodes.length);
  t.same(listeningPorts(parent.pid!), [], 'numaplace listens on no port (Node.js would open its inspector on 9229)');
  // A stop signal stops the copies, then numaplace; SIGCONT to numaplace resumes them.
  process.kill(parent.pid!, 'SIGTSTP');
  for (const { pid, startTime } of [...started, { pid: parent.pid!, startTime: processStat(parent.pid!)![19] }]) await stateOf(pid, startTime, (state) => state === 'T');
  process.kill(parent.pid!, 'SIGCONT');
  for (const { pid, startTime } of started) await stateOf(pid, startTime, (state) => state !== 'T');
  t.pass('stopped together and resumed');
  process.kill(parent.pid!, 'SIGTERM');
  const [code] = await once(parent, 'close');
  t.equal(code, 7, "the copies' status");
  for (const node of nodes) {
    for (const signal of ['INT', 'USR1', 'TERM']) t.equal(output.count(new RegExp(`^${node.id} ${signal}$`)), 1, `node ${node.id}'s copy got SIG${signal} once`);
  }
});

t.test('numaplace run --per-node: killed, it takes its copies with it', async (t) => {
  const { parent, started } = await perNodeJob(t, '', 'exec sleep 60');
  parent.kill('SIGKILL');
  await once(parent, 'exit');
  // PR_SET_PDEATHSIG: each copy is killed as numaplace dies (a zombie until its new parent reaps it).
  for (const { pid, startTime } of started) await stateOf(pid, startTime, (state) => state === undefined || state === 'Z');
  t.pass(`copies ${started.map(({ pid }) => pid).join(', ')} are gone`);
});
