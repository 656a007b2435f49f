import { constants, platform } from 'node:os';
import path from 'node:path';
import type { NativeBinding } from '../types/binding';

// node-gyp-build picks a matching prebuild from prebuilds/ first, else build/Release.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (root: string) => unknown;

/** Why the native addon could not be loaded (not Linux, no matching build), or undefined. */
export let unavailableReason: string | undefined;

/**
 * Stands in for the addon where it cannot load, so that `require('numaplace')`
 * still works: every use throws an ENOTSUP-coded error that each public
 * function turns into a NumaError naming itself.
 */
function unavailableBinding(reason: string): NativeBinding {
  const fail = (): never => {
    throw Object.assign(new Error(`dlopen: the native addon is not available (${reason})`), {
      errno: -constants.errno.EOPNOTSUPP,
      syscall: 'dlopen',
    });
  };
  return new Proxy({} as NativeBinding, { get: fail });
}

function loadBinding(): NativeBinding {
  try {
    return load(path.join(__dirname, '..')) as NativeBinding;
  } catch (error) {
    unavailableReason = platform() === 'linux' ? (error as Error).message.split('\n')[0] : `${platform()} is not Linux`;
    return unavailableBinding(unavailableReason);
  }
}

export const native = loadBinding();
