// numaplace bench: copying, migrating and querying the same pages, side by side.
import { allocOnNode } from '../../alloc';
import { integerText, operandsText } from '../../checks';
import { migrateBufferSync } from '../../migrate';
import { pageNodes } from '../../pages';
import { placementMap } from '../../placement-map';
import { topology } from '../../topology';
import { defineCommand, JSON_OPTION, valued } from '../command';
import { formatBytes, toJson } from '../format';

const DESCRIPTION = `  A quick measurement on this machine, all figures side by side on the same
  pages: copying the bytes (Buffer.copy, the physical limit), migrating them
  between the first two memory nodes (when there are two), querying their
  nodes, and a migration to the node they are already on. Median of --runs
  (default 5) with the range. Defaults to 64 MiB of 4 KiB pages.`;

interface Measurement {
  median: number;
  min: number;
  max: number;
  unit: string;
}

interface BenchResult {
  bytes: number;
  pages: number;
  pageSize: number;
  runs: number;
  nodes: number[];
  copy: Measurement;
  query: Measurement;
  sameNodeMigrate: Measurement;
  /** Only with two memory nodes. */
  migrate?: Measurement;
  /** Migration throughput as a fraction of copy throughput. */
  migrateVsCopy?: number;
  /** Where the measured buffer's pages are at the end (placementMap). */
  map: string;
}

function measure(runs: number, unit: string, perRun: (elapsedNs: number) => number, run: () => void): Measurement {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    run();
    values.push(perRun(Number(process.hrtime.bigint() - start)));
  }
  values.sort((a, b) => a - b);
  return { median: values[Math.floor(values.length / 2)], min: values[0], max: values[values.length - 1], unit };
}

function runBench(sizeMiB: number, runs: number): BenchResult {
  const { pageSize, nodes: all } = topology();
  const nodes = all.filter((node) => node.hasMemory).map((node) => node.id);
  const bytes = sizeMiB * 2 ** 20;
  const pages = bytes / pageSize;
  const gibPerSecond = (elapsedNs: number) => bytes / 2 ** 30 / (elapsedNs / 1e9);
  const nsPerPage = (elapsedNs: number) => elapsedNs / pages;
  const [home, other] = nodes;
  const source = allocOnNode(bytes, home, { hugePages: false }).fill(1);
  const target = allocOnNode(bytes, home, { hugePages: false }).fill(2);
  const result: Omit<BenchResult, 'map'> = {
    bytes,
    pages,
    pageSize,
    runs,
    nodes,
    copy: measure(runs, 'GiB/s', gibPerSecond, () => source.copy(target)),
    query: measure(runs, 'ns/page', nsPerPage, () => pageNodes(source)),
    sameNodeMigrate: measure(runs, 'ns/page', nsPerPage, () => migrateBufferSync(source, home)),
  };
  if (other !== undefined) {
    let next = other;
    result.migrate = measure(runs, 'GiB/s', gibPerSecond, () => {
      migrateBufferSync(source, next);
      next = next === other ? home : other;
    });
    result.migrateVsCopy = result.migrate.median / result.copy.median;
  }
  return { ...result, map: placementMap(source, { maxCells: 128 }) };
}

function line(label: string, measurement: Measurement, extra = ''): string {
  const digits = measurement.unit === 'GiB/s' ? 2 : 0;
  const value = (n: number) => n.toFixed(digits);
  return `${label.padEnd(34)} ${value(measurement.median).padStart(7)} ${measurement.unit.padEnd(7)} (${value(measurement.min)}–${value(measurement.max)})${extra}`;
}

function formatBench(result: BenchResult, json: boolean): string {
  if (json) return toJson(result);
  const [home, other] = result.nodes;
  return [
    `numaplace bench · ${formatBytes(result.bytes)}, ${result.pages} pages of ${result.pageSize / 1024} KiB, ` +
      `${result.runs} runs each: median (min–max)`,
    line('copy (Buffer.copy)', result.copy),
    result.migrate
      ? line(`migrate node ${home} ⇄ node ${other}`, result.migrate, `  = ${result.migrateVsCopy!.toFixed(2)}× copy speed`)
      : `migrate: needs two memory nodes; this machine has ${result.nodes.length}`,
    line('query (pageNodes)', result.query),
    line(`migrate to node ${home} (already there)`, result.sameNodeMigrate),
    'the measured buffer\'s pages at the end:',
    result.map,
  ].join('\n');
}

// A buffer below 2^47 bytes (the user address space), a run count that ends in minutes.
const MAX_MIB = 2 ** 27 - 1;
const MAX_RUNS = 10_000;

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'copy, migration and query speeds on this machine',
  usage: ['bench [--size <MiB>] [--runs <n>] [--json]'],
  description: DESCRIPTION,
  options: {
    size: valued('MiB', 'the buffer measured (default 64)', (text, fn, option) => integerText(text, fn, option, 1, MAX_MIB, 'a size in MiB')),
    runs: valued('n', 'runs of each measurement (default 5)', (text, fn, option) => integerText(text, fn, option, 1, MAX_RUNS, 'a number of runs')),
    ...JSON_OPTION,
  },
  check: (values, operands, fn) => {
    operandsText(operands, fn, 0, 0, 'no arguments');
    return { size: values.size ?? 64, runs: values.runs ?? 5, json: values.json === true };
  },
  run: ({ size, runs, json }) => ({ text: formatBench(runBench(size, runs), json) }),
});
