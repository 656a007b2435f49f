// One body for a synchronous function and its Promise twin, as babel's
// gensync gives transformSync and transform: the body is a generator that
// yields the operations it needs done (each with a synchronous and a Promise
// form) and gets their results back; runSync() performs them in place,
// runAsync() awaits them. The logic between the operations is written once.

/** An operation in its two forms: the driver of the body picks one. */
export interface Both<T> {
  sync(): T;
  async(): Promise<T>;
}

/** A body that runs either way: it yields operations and gets their results back (`(yield operation) as T`). */
export type Body<T> = Generator<Both<unknown>, T, unknown>;

/** Runs the body on the calling thread: each operation's synchronous form, in place. */
export function runSync<T>(body: Body<T>): T {
  let step = body.next();
  while (!step.done) step = resumeAfter(body, step.value);
  return step.value;
}

/** The body given what the operation's synchronous form returned, or thrown what it threw. */
function resumeAfter<T>(body: Body<T>, operation: Both<unknown>): IteratorResult<Both<unknown>, T> {
  let result: unknown;
  try {
    result = operation.sync();
  } catch (error) {
    return body.throw(error);
  }
  return body.next(result);
}

/**
 * Runs the body awaiting each operation's Promise form: one await per operation and none
 * else, so the Promise form costs no more microtasks than a hand-written async function.
 */
export async function runAsync<T>(body: Body<T>): Promise<T> {
  let step = body.next();
  while (!step.done) {
    const operation = step.value;
    let result: unknown;
    try {
      result = await operation.async();
    } catch (error) {
      step = body.throw(error);
      continue;
    }
    step = body.next(result);
  }
  return step.value;
}

/** Bodies run side by side (the Promise form) or one after another (the synchronous form). */
export function all<T>(bodies: Body<T>[]): Both<T[]> {
  return { sync: () => bodies.map(runSync), async: () => Promise.all(bodies.map(runAsync)) };
}
