import path from 'node:path';
import type { NativeBinding } from '../types/binding';

// node-gyp-build picks a matching prebuild from prebuilds/ first, else build/Release.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (root: string) => unknown;

export const native = load(path.join(__dirname, '..')) as NativeBinding;
