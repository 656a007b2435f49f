// numaplace help: the list of commands, or one command's help.
import { operandsText } from '../../checks';
import { type Command, commandNamed, defineCommand } from '../command';

function commandList(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const indent = ' '.repeat(width + 14);
  return commands
    .map((command) => {
      const aliases = command.aliases.length > 0 ? `\n${indent}(also numaplace ${command.aliases.join(', ')})` : '';
      return `  numaplace ${command.name.padEnd(width)}  ${command.summary}${aliases}`;
    })
    .join('\n');
}

export const helpCommand = defineCommand({
  name: 'help',
  aliases: ['--help', '-h'],
  summary: "this list, or a command's help: numaplace help <command>",
  usage: ['help [<command>]'],
  description: `  The commands, or what one command does and the options it takes (as
  numaplace <command> --help shows them).`,
  options: {},
  check: (_values, operands, fn) => operandsText(operands, fn, 0, 1, 'one command name or none')[0],
  run: (name: string | undefined, { commands }) => ({
    text:
      name !== undefined
        ? commandNamed(name, commands).help()
        : `numaplace — where a process's memory lives on a NUMA machine

Usage: numaplace <command> [options] [arguments]

${commandList(commands)}

Exit codes: 0 done, 1 failed or migrate left pages behind, 2 usage error,
3 advise found something to change; run exits with its command's status.`,
  }),
});
