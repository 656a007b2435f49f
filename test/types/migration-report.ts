// What the types of a migration report promise, checked by tsc (test/types.test.ts):
// `moved`/`alreadyOnNode` are numbers when the call passes `countMoved: true`,
// `status` an Int32Array with `status: true`; otherwise they may be missing,
// and using them unchecked does not compile (each @ts-expect-error must meet an error).
import { migrateBuffer, migrateBufferSync, type MigrateOptions, type MigrationReport } from '../../lib/index';

export async function counted(buffer: Buffer): Promise<number> {
  const report = await migrateBuffer(buffer, 1, { countMoved: true });
  return report.moved.toFixed().length + report.alreadyOnNode;
}

export function withStatus(buffer: Buffer): number {
  const report = migrateBufferSync(buffer, 1, { status: true, countMoved: true, onProgress: (progress) => progress.done.toFixed() });
  return report.status.length + report.moved;
}

export async function notAskedFor(buffer: Buffer, options: MigrateOptions, countMoved: boolean): Promise<void> {
  const plain = await migrateBuffer(buffer, 1);
  // @ts-expect-error moved is there only with countMoved: true
  plain.moved.toFixed();
  // @ts-expect-error status is there only with status: true
  plain.status.length;
  const onlyStatus = migrateBufferSync(buffer, 1, { status: true });
  // @ts-expect-error status asked for, moved not
  onlyStatus.moved.toFixed();
  const notCounted = await migrateBuffer(buffer, 1, { countMoved: false });
  // @ts-expect-error countMoved: false
  notCounted.alreadyOnNode.toFixed();
  // @ts-expect-error options of unknown value: countMoved may be false
  migrateBufferSync(buffer, 1, options).moved.toFixed();
  // @ts-expect-error a boolean that may be false
  migrateBufferSync(buffer, 1, { countMoved }).moved.toFixed();
  // @ts-expect-error a misspelt option
  migrateBufferSync(buffer, 1, { countMovd: true });
  const report: MigrationReport = plain;
  report.moved?.toFixed();
}
