// numaplace version: the package's version.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { operandsText } from '../../checks';
import { defineCommand } from '../command';

export const versionCommand = defineCommand({
  name: 'version',
  aliases: ['--version'],
  summary: "numaplace's version",
  usage: ['version'],
  description: '  The version of the numaplace package this command belongs to.',
  options: {},
  check: (_values, operands, fn) => operandsText(operands, fn, 0, 0, 'no arguments'),
  run: () => ({ text: JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).version }),
});
