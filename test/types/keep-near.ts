// What the types of keepNear promise, checked by tsc (test/types.test.ts): a
// correction's counts are there without checks, its listeners are typed, and
// a target or an option of the wrong shape does not compile.
import { type Correction, keepNear, type KeepNear } from '../../lib/index';

export async function corrected(buffer: Buffer): Promise<number> {
  const handle: KeepNear = keepNear(buffer, { node: 1 }, { intervalMs: 1000, maxCallMs: 2 });
  handle.on('correction', (correction) => console.log(correction.drifted.get(0), correction.report.alreadyOnNode));
  handle.on('error', (error) => console.log(error.message));
  const correction: Correction | null = await handle.check();
  await handle.stop();
  return (correction?.moved ?? 0) + correction!.report.moved + handle.stats.pagesMoved;
}

export function wrongShapes(buffer: Buffer): void {
  // @ts-expect-error thread is true or absent
  keepNear(buffer, { thread: false });
  // @ts-expect-error a node id, not a list
  keepNear(buffer, { node: [0] });
  // @ts-expect-error a misspelt option
  keepNear(buffer, { node: 0 }, { interval: 1000 });
  // @ts-expect-error the view is memory, not a node
  keepNear(0, { node: 0 });
}
