// A command of the numaplace CLI describes itself, as npm's commands do: its
// name, what it does, how it is typed, its options (spelling, value, help, how
// the value is checked) and how its request is checked and run. Reading the
// command line, the help, "did you mean" and the exit codes come from here:
// 0 done, 1 failed (the error printed once, without a stack), 2 usage error.
import { flagText, knownWordText, operandsText, optionValueText, unknownWordError } from '../checks';
import { NumaError } from '../errors';
import { toJson } from './format';

/** An option: a flag, or one that takes a value. */
export interface Option<T> {
  /** Its one-letter spelling, as numactl's -m. */
  short?: string;
  /** The name of its value in help: only an option that takes a value has one. */
  value?: string;
  help: string;
  /** The value the command gets from the text typed; a TypeError or RangeError (lib/checks.ts) names `option`. */
  read?: (text: string, fn: string, option: string) => T;
}

export function flag(help: string, short?: string): Option<true> {
  return { help, short };
}

export function valued<T>(value: string, help: string, read: (text: string, fn: string, option: string) => T, short?: string): Option<T> {
  return { value, help, read, short };
}

type Options = Record<string, Option<unknown>>;

/** The options typed, by long name: absent when not typed. */
export type Values<O extends Options> = { [K in keyof O]?: O[K] extends Option<infer T> ? T : never };

export const JSON_OPTION = { json: flag('machine-readable output, errors included') };

/** The check of a command that takes --json and no operands: whether --json was typed. */
export function jsonOnly(values: { json?: true }, operands: string[], fn: string): boolean {
  operandsText(operands, fn, 0, 0, 'no arguments');
  return values.json === true;
}
export const NO_COLOR_OPTION = { 'no-color': flag('no colours on a terminal either (as NO_COLOR=1 does)') };

/** What a command prints and its exit status: `text` on standard output, `error` on standard error. */
export interface Output {
  text: string;
  error?: string;
  exitCode?: number;
}

/** A usage error a command finds past its checks, such as a name that no process has (exit status 2). */
export class UsageError extends Error {}

export interface CommandSpec<O extends Options, R> {
  name: string;
  /** Its spellings among the commands, numactl's: --hardware, -H. */
  aliases?: readonly string[];
  /** One line for numaplace --help. */
  summary: string;
  /** How it is typed, after `numaplace `. */
  usage: readonly string[];
  /** Indented by two spaces, as printed. */
  description: string;
  options: O;
  /** --json prints a stream of objects, one a line: its error is one line too. */
  jsonLines?: boolean;
  /** getopt's "+", as numactl has it: options end at the first operand, which starts a command line of its own. */
  optionsFirst?: boolean;
  /** The request from what was typed: a TypeError or RangeError is a usage error. */
  check(values: Values<O>, operands: string[], fn: string): R;
  run(request: R, context: RunContext): Output | Promise<Output>;
}

/** What a command runs with: its name for messages ("numaplace status"), every command (for help). */
export interface RunContext {
  fn: string;
  commands: readonly Command[];
}

export interface Command {
  name: string;
  aliases: readonly string[];
  summary: string;
  help(): string;
  /** Never throws: a failure is an Output with its exit status. */
  execute(args: readonly string[], commands: readonly Command[]): Promise<Output>;
}

interface CommandLine {
  values: Record<string, unknown>;
  operands: string[];
}

/** A word of options after one dash: flags (-lh), the last may take a value (-m0, -m 0). */
function readShort(word: string, options: Options, fn: string, line: CommandLine, next: () => string | undefined): void {
  const shorts = Object.entries(options).flatMap(([name, option]) => (option.short ? [{ name, typed: `-${option.short}` }] : []));
  for (let at = 1; at < word.length; at++) {
    const typed = `-${word[at]}`;
    const name = shorts.find((short) => short.typed === typed)?.name;
    if (name === undefined) throw unknownWordError(typed, shorts.map((short) => short.typed), fn, 'option');
    const { read, value = 'value' } = options[name];
    if (!read) {
      line.values[name] = true;
      continue;
    }
    line.values[name] = read(optionValueText(word.slice(at + 1) || next(), fn, typed, value), fn, typed);
    return;
  }
}

/** --name, --name=value or --name value. */
function readLong(word: string, options: Options, fn: string, line: CommandLine, next: () => string | undefined): void {
  const equals = word.indexOf('=');
  const typed = equals < 0 ? word : word.slice(0, equals);
  const inline = equals < 0 ? undefined : word.slice(equals + 1);
  const name = knownWordText(typed, Object.keys(options).map((long) => `--${long}`), fn, 'option').slice(2);
  const { read, value = 'value' } = options[name];
  line.values[name] = read ? read(optionValueText(inline ?? next(), fn, typed, value), fn, typed) : flagText(inline, fn, typed);
}

/**
 * The command line as getopt_long reads it: an option that takes a value takes
 * the next word whatever it is (`--node -1` is a node -1, refused by its
 * check); `--` ends the options; `-` alone is an operand.
 */
function readCommandLine(args: readonly string[], options: Options, fn: string, optionsFirst: boolean): CommandLine {
  const line: CommandLine = { values: {}, operands: [] };
  let index = 0;
  const next = () => args[++index];
  for (; index < args.length; index++) {
    const word = args[index];
    if (word === '--') {
      line.operands.push(...args.slice(index + 1));
      break;
    }
    if (word.startsWith('--')) readLong(word, options, fn, line, next);
    else if (word.startsWith('-') && word.length > 1) readShort(word, options, fn, line, next);
    else if (optionsFirst) {
      line.operands.push(...args.slice(index));
      break;
    } else line.operands.push(word);
  }
  return line;
}

/** `read()`, its argument errors as usage errors. */
function usageChecked<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

function optionsHelp(options: Options): string {
  const rows = Object.entries(options).map(([name, option]) => ({
    label: `${option.short ? `-${option.short}, ` : '    '}--${name}${option.value ? ` <${option.value}>` : ''}`,
    help: option.help,
  }));
  const width = Math.max(...rows.map((row) => row.label.length)) + 2;
  return rows.map(({ label, help }) => `  ${label.padEnd(width)}${help.split('\n').join(`\n  ${' '.repeat(width)}`)}`).join('\n');
}

function commandHelp<O extends Options, R>(spec: CommandSpec<O, R>, options: Options): string {
  const aliases = spec.aliases?.length ? [`(also ${spec.aliases.map((alias) => `numaplace ${alias}`).join(', ')})`] : [];
  return [...spec.usage.map((line) => `numaplace ${line}`), ...aliases, '', spec.description, '', 'Options:', optionsHelp(options)].join('\n');
}

/** Whether `--json` was typed among the options (the command line may be wrong: this is for its error). */
function jsonTyped(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/** A failure as printed: the message once (no stack), the JSON error with --json (indented by `indent`); 2 for a usage error, 1 otherwise. */
function failure(error: unknown, seeAlso: string, json: boolean, indent = 2): Output {
  const usage = error instanceof UsageError;
  const message = error instanceof Error ? error.message : String(error);
  const line = message.startsWith('numaplace') ? message : `numaplace: ${message}`;
  const { code, syscall } = error instanceof NumaError ? error : { code: usage ? 'EUSAGE' : undefined, syscall: undefined };
  return {
    text: json ? toJson({ error: { code, syscall, message } }, indent) : '',
    error: usage ? `${line}\nSee ${seeAlso}.` : line,
    exitCode: usage ? 2 : 1,
  };
}

export function defineCommand<O extends Options, R>(spec: CommandSpec<O, R>): Command {
  const options: Options = { ...spec.options, help: flag('this help', 'h') };
  const fn = `numaplace ${spec.name}`;
  const help = () => commandHelp(spec, options);
  return {
    name: spec.name,
    aliases: spec.aliases ?? [],
    summary: spec.summary,
    help,
    async execute(args, commands) {
      try {
        const line = usageChecked(() => readCommandLine(args, options, fn, spec.optionsFirst === true));
        if (line.values.help) return { text: help() };
        // The values were read by these options' own `read`: they have the types Values<O> gives them.
        const request = usageChecked(() => spec.check(line.values as Values<O>, line.operands, fn));
        return await spec.run(request, { fn, commands });
      } catch (error) {
        return failure(error, `numaplace help ${spec.name}`, 'json' in options && jsonTyped(args), spec.jsonLines ? 0 : 2);
      }
    },
  };
}

/** The command spelt `word`, by its name or an alias: a UsageError naming the nearest otherwise. */
export function commandNamed(word: string, commands: readonly Command[]): Command {
  const command = commands.find((candidate) => candidate.name === word || candidate.aliases.includes(word));
  if (command) return command;
  throw new UsageError(unknownWordError(word, commands.map((candidate) => candidate.name), 'numaplace', 'command').message);
}

/** Runs the command the first word names (help without one). */
export async function runCommandLine(argv: readonly string[], commands: readonly Command[]): Promise<Output> {
  const [word = 'help', ...rest] = argv;
  try {
    return await commandNamed(word, commands).execute(rest, commands);
  } catch (error) {
    return failure(error, 'numaplace --help', false);
  }
}
