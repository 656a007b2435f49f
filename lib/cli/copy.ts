// A copy of `numaplace run --per-node` between its fork and its exec: the
// parent (lib/cli/copies.ts) started it already placed on its node; it
// becomes the command through the native exec, in a process group of its own,
// killed if the parent dies. Arguments: the parent's pid, the command, its arguments.
import { execCommand, keepInspectorClosed } from './exec';

keepInspectorClosed();
const [parent, command, ...args] = process.argv.slice(2);
const failure = execCommand('numaplace run', command, args, Number(parent));
process.stderr.write(`${failure.message}\n`);
process.exitCode = failure.status;
